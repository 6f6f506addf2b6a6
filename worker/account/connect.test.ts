/**
 * @module worker/account/connect.test
 * Each client snippet on the account page against the format it claims: the config file's shape
 * as the client documents it, and the command line as the client's own parser reads it (the
 * Inspector's option table and mcp-remote's URL rule are read from the installed packages).
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { describe, expect, it } from "vitest";
import { clientSetups, SERVER_KEY } from "./connect";

const URLS = ["https://mcp.example.com/mcp", "http://127.0.0.1:8787/mcp"];
const pkgDir = (name: string) => dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
const snippet = (url: string, id: string) => clientSetups(url).find((c) => c.id === id)!.snippet;
/** Splits a one-line command as a POSIX shell would for these snippets (no quotes or escapes in them). */
const argv = (line: string) => {
	expect(line).not.toMatch(/["'\\$`;&|<>]/);
	return line.split(/ +/);
};

describe.each(URLS)("client set-up for %s", (url) => {
	it("covers Claude Code, Claude Desktop, claude.ai, Cursor, VS Code and the Inspector", () => {
		expect(clientSetups(url).map((c) => c.id)).toEqual(["claude-code", "claude-desktop", "claude-ai", "cursor", "vscode", "inspector"]);
	});

	it("Claude Code: `claude mcp add --transport http <name> <url>` (streamable HTTP)", () => {
		const [bin, mcp, add, ...rest] = argv(snippet(url, "claude-code"));
		expect([bin, mcp, add]).toEqual(["claude", "mcp", "add"]);
		const { values, positionals } = parseArgs({
			args: rest,
			options: { transport: { type: "string", short: "t" } },
			allowPositionals: true,
		});
		expect(values.transport).toBe("http");
		expect(positionals).toEqual([SERVER_KEY, url]);
	});

	it("Claude Desktop: claude_desktop_config.json runs mcp-remote with the URL, which mcp-remote accepts", () => {
		const config = JSON.parse(snippet(url, "claude-desktop")) as { mcpServers: Record<string, { command: string; args: string[] }> };
		const server = config.mcpServers[SERVER_KEY]!;
		expect(server.command).toBe("npx");
		expect(server.args.slice(0, 2)).toEqual(["-y", "mcp-remote"]);
		const target = new URL(server.args[2]!);
		expect(target.href).toBe(url);
		// mcp-remote's own rule: https, or http on localhost/127.0.0.1, unless --allow-http.
		const dist = join(pkgDir("mcp-remote"), "dist");
		const source = readdirSync(dist)
			.filter((f) => f.endsWith(".js"))
			.map((f) => readFileSync(join(dist, f), "utf8"))
			.join("\n");
		expect(source).toContain(`(url2.hostname === "localhost" || url2.hostname === "127.0.0.1") && url2.protocol === "http:"`);
		expect(target.protocol === "https:" || (target.protocol === "http:" && ["localhost", "127.0.0.1"].includes(target.hostname))).toBe(
			true,
		);
	});

	it("Cursor: mcp.json with mcpServers.<name>.url (remote server)", () => {
		const config = JSON.parse(snippet(url, "cursor")) as { mcpServers: Record<string, Record<string, unknown>> };
		expect(config.mcpServers[SERVER_KEY]).toEqual({ url });
	});

	it('VS Code: .vscode/mcp.json with servers.<name> = { type: "http", url }', () => {
		const config = JSON.parse(snippet(url, "vscode")) as { servers: Record<string, Record<string, unknown>> };
		expect(Object.keys(config)).toEqual(["servers"]);
		expect(config.servers[SERVER_KEY]).toEqual({ type: "http", url });
	});

	it("claude.ai: the custom connector's two fields, name and remote URL", () => {
		expect(snippet(url, "claude-ai")).toBe(`Name: SMCP\nRemote MCP server URL: ${url}`);
	});

	it("Inspector: `inspector --cli <url> --transport http --method tools/list`, options the installed CLI defines", () => {
		const [npx, pkg, ...rest] = argv(snippet(url, "inspector"));
		expect([npx, pkg]).toEqual(["npx", "@modelcontextprotocol/inspector"]);
		const { values, positionals } = parseArgs({
			args: rest,
			options: { cli: { type: "boolean" }, transport: { type: "string" }, method: { type: "string" } },
			allowPositionals: true,
		});
		expect(values).toEqual({ cli: true, transport: "http", method: "tools/list" });
		expect(positionals).toEqual([url]);
		const cli = readFileSync(join(pkgDir("@modelcontextprotocol/inspector"), "clients", "cli", "build", "index.js"), "utf8");
		expect(cli).toContain(`"--transport": ["stdio", "sse", "http"]`);
		expect(cli).toContain(`.option("--method <method>"`);
	});
});
