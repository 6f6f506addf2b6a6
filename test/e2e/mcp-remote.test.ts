/**
 * End to end with `mcp-remote`, the stdio↔remote bridge Claude Desktop uses: the real package from
 * npm, started as a child process against `wrangler dev` on loopback, spoken to over its stdio
 * by an SDK client exactly as a desktop host does. mcp-remote discovers SMCP's metadata, registers
 * itself, opens "a browser" (a recorder; see ./headless-browser) on SMCP's consent page, and gets
 * the code on its own loopback callback, which the test's headless browser follows.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserless, signInAndFollowRedirect, type Redirected } from "./headless-browser";
import { freePort, startWrangler, type DevServer } from "./wrangler";

const require = createRequire(import.meta.url);
/** The package's `mcp-remote` bin (`dist/proxy.js`), resolved through its package.json. */
const MCP_REMOTE = join(dirname(require.resolve("mcp-remote/package.json")), "dist/proxy.js");
const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
/** Every tool of the memory pack; SMCP may serve other packs beside it. */
const MEMORY_TOOLS = [
	"add_observations",
	"create_entities",
	"create_relations",
	"delete_entities",
	"delete_observations",
	"delete_relations",
	"open_nodes",
	"read_graph",
	"search_nodes",
];

const work = mkdtempSync(join(tmpdir(), "smcp-mcp-remote-"));
/** mcp-remote's token store for this run only (`MCP_REMOTE_CONFIG_DIR`); HOME points elsewhere so a stray `~/.mcp-auth` would show. */
const configDir = join(work, "mcp-auth");
const home = join(work, "home");
const browser = browserless(work);
let dev: DevServer;
/** Every bridge started, by pid: a client that failed to connect has already dropped its process handle. */
const running: { client: Client; pid: number }[] = [];

beforeAll(async () => {
	dev = await startWrangler({ persistDir: join(work, "state") });
});
afterAll(async () => {
	for (const { client, pid } of running) {
		await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
		// mcp-remote ignores the end of stdin while it waits for a sign-in, and the SDK's own
		// SIGTERM/SIGKILL follow-up runs on unref'd timers that may never fire; kill it here.
		if (isAlive(pid)) process.kill(pid, "SIGKILL");
	}
	await dev?.stop();
	rmSync(work, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

type Strategy = "http-only" | "sse-only";
type Graph = { entities: { name: string; entityType: string; observations: string[] }[]; relations: unknown[] };

interface Bridge {
	client: Client;
	/** Everything mcp-remote wrote to stderr so far. */
	log(): string;
	/** The sign-in, when mcp-remote asked for one. */
	signIn?: { authorizeUrl: URL; redirected: Redirected };
}

/** Authorization URLs carry state and a PKCE challenge; keep them out of failure messages. */
const redact = (text: string) => text.replace(/\?\S*/g, "?…");

/** Resolves when `pattern` appears in mcp-remote's stderr; rejects early if the handshake fails or the time runs out. */
function waitForLog(log: () => string, pattern: RegExp, connecting: Promise<unknown>, ms: number): Promise<RegExpExecArray> {
	return new Promise((resolve, reject) => {
		const deadline = Date.now() + ms;
		connecting.then(
			() => reject(new Error(`mcp-remote connected without printing ${pattern}; it did not ask for a sign-in.\n${redact(log())}`)),
			(e) => reject(new Error(`mcp-remote failed before printing ${pattern}: ${e instanceof Error ? e.message : e}\n${redact(log())}`)),
		);
		const tick = () => {
			const m = pattern.exec(log());
			if (m) return resolve(m);
			if (Date.now() > deadline) return reject(new Error(`mcp-remote did not print ${pattern} within ${ms} ms.\n${redact(log())}`));
			setTimeout(tick, 50);
		};
		tick();
	});
}

/**
 * Starts mcp-remote for `path` as Claude Desktop would (command + args, stdio), connects an SDK
 * client through it, and completes SMCP's sign-in and consent when mcp-remote asks for it.
 */
async function connectThroughMcpRemote(path: "/mcp" | "/sse", strategy: Strategy, expectSignIn: boolean): Promise<Bridge> {
	const callbackPort = await freePort();
	const transport = new StdioClientTransport({
		command: process.execPath,
		args: [
			MCP_REMOTE,
			`${dev.origin}${path}`,
			String(callbackPort),
			"--host",
			"127.0.0.1",
			"--transport",
			strategy,
			"--auth-timeout",
			"40",
		],
		env: browser.env({ MCP_REMOTE_CONFIG_DIR: configDir, HOME: home }),
		stderr: "pipe",
	});
	let stderr = "";
	transport.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
	const log = () => stderr;
	const client = new Client({ name: "e2e-claude-desktop", version: "1.0.0" });
	// mcp-remote reads our `initialize` only once it has reached the server, i.e. after the sign-in.
	const connecting = client.connect(transport, { timeout: 45_000 });
	// connect() spawns the child synchronously before its first await.
	if (!transport.pid) throw new Error("mcp-remote was not spawned");
	running.push({ client, pid: transport.pid });
	const prompt = /Please authorize this client by visiting:\s*\n(\S+)/;
	if (!expectSignIn) {
		// Fail at once, not at the connect timeout, if it asks for a sign-in anyway.
		let done = false;
		const asked = new Promise<never>((_, reject) => {
			const tick = () => {
				if (done) return;
				if (prompt.test(log())) return reject(new Error("mcp-remote asked for a sign-in although this run's store holds its tokens"));
				setTimeout(tick, 50);
			};
			tick();
		});
		try {
			await Promise.race([connecting, asked]);
		} finally {
			done = true;
		}
		return { client, log };
	}
	const [, printed] = await waitForLog(log, prompt, connecting, 30_000);
	const authorizeUrl = new URL(printed!);
	const redirected = await signInAndFollowRedirect(fetch, authorizeUrl.toString(), { origin: dev.origin, ...DEV });
	await connecting;
	return { client, log, signIn: { authorizeUrl, redirected } };
}

/** A tool result's content, as the message of a failed `isError` check. */
const text = (r: unknown) => JSON.stringify((r as { content?: unknown }).content);

describe("mcp-remote (Claude Desktop's bridge) against wrangler dev", () => {
	it("signs in through SMCP's consent page over /mcp (http-only) and uses the memory tools", async () => {
		const { client, log, signIn } = await connectThroughMcpRemote("/mcp", "http-only", true);

		// The authorization request mcp-remote built from SMCP's metadata.
		const q = signIn!.authorizeUrl.searchParams;
		expect(`${signIn!.authorizeUrl.origin}${signIn!.authorizeUrl.pathname}`).toBe(`${dev.origin}/authorize`);
		expect(q.get("code_challenge_method")).toBe("S256");
		expect(q.get("scope")?.split(" ").sort()).toEqual(["mcp:read", "mcp:write"]);
		expect(new URL(q.get("resource")!).origin).toBe(dev.origin);
		// It tried to open a browser, and reached only the recorder.
		const launched = browser.launches().map((u) => new URL(u));
		expect(launched).toHaveLength(1);
		expect(launched[0]!.searchParams.get("state")).toBe(q.get("state"));
		// SMCP redirected to mcp-remote's own callback, which took the code.
		expect(`${signIn!.redirected.location.origin}${signIn!.redirected.location.pathname}`).toBe(q.get("redirect_uri"));
		expect(signIn!.redirected.location.searchParams.get("state")).toBe(q.get("state"));
		expect(signIn!.redirected.callback.status).toBe(200);
		expect(signIn!.redirected.callbackBody).toContain("Authorization successful");

		expect(log()).toContain("Proxy established successfully between local STDIO and remote StreamableHTTPClientTransport");
		expect(client.getServerVersion()?.name).toBe("smcp");
		expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(MEMORY_TOOLS));

		const created = await client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "Turing", entityType: "person", observations: ["on computable numbers"] }] },
		});
		expect(created.isError, text(created)).toBeFalsy();
		expect(created.structuredContent).toEqual({
			entities: [{ name: "Turing", entityType: "person", observations: ["on computable numbers"] }],
		});
		const graph = await client.callTool({ name: "read_graph", arguments: {} });
		expect(graph.isError, text(graph)).toBeFalsy();
		expect(graph.structuredContent).toEqual({
			entities: [{ name: "Turing", entityType: "person", observations: ["on computable numbers"] }],
			relations: [],
		});

		// Tokens went to this run's store, not the user's home.
		expect(readdirSync(join(configDir, "mcp-remote-v1")).some((f) => f.endsWith("_tokens.json"))).toBe(true);
		expect(existsSync(join(home, ".mcp-auth"))).toBe(false);
		await client.close();
	});

	it("signs in again for /sse (sse-only, 2024-11-05) and sees the same tenant's data", async () => {
		const before = browser.launches().length;
		const { client, log, signIn } = await connectThroughMcpRemote("/sse", "sse-only", true);
		expect(browser.launches()).toHaveLength(before + 1);
		expect(signIn!.redirected.callback.status).toBe(200);
		expect(log()).toContain("Proxy established successfully between local STDIO and remote SSEClientTransport");
		expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(MEMORY_TOOLS));

		const added = await client.callTool({
			name: "add_observations",
			arguments: { observations: [{ entityName: "Turing", contents: ["via mcp-remote over sse"] }] },
		});
		expect(added.isError, text(added)).toBeFalsy();
		const g = (await client.callTool({ name: "read_graph", arguments: {} })).structuredContent as Graph;
		expect(g.entities).toEqual([
			{ name: "Turing", entityType: "person", observations: ["on computable numbers", "via mcp-remote over sse"] },
		]);
		await client.close();
	});

	it("a relaunched mcp-remote reuses its stored tokens: no browser, no consent", async () => {
		const before = browser.launches().length;
		const { client, log } = await connectThroughMcpRemote("/mcp", "http-only", false);
		expect(log()).not.toContain("Please authorize this client");
		expect(browser.launches()).toHaveLength(before);
		const g = (await client.callTool({ name: "open_nodes", arguments: { names: ["Turing"] } })).structuredContent as Graph;
		expect(g.entities[0]!.observations).toEqual(["on computable numbers", "via mcp-remote over sse"]);
		await client.close();
	});
});
