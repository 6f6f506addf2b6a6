/**
 * End to end with the MCP Inspector CLI (`@modelcontextprotocol/inspector --cli`), the real
 * package from npm, against `wrangler dev` on loopback: the documented README command, a bearer
 * token from SMCP's own sign-in and consent, Streamable HTTP on /mcp and HTTP+SSE on /sse, and the
 * answers a person holding a weaker or bogus token gets.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { obtainTokens } from "../support/oauth-flow";
import { browserless } from "./headless-browser";
import { startWrangler, type DevServer } from "./wrangler";

const require = createRequire(import.meta.url);
/** The package's `inspector` bin, the launcher that dispatches `--cli`. */
const INSPECTOR = join(dirname(require.resolve("@modelcontextprotocol/inspector/package.json")), "clients/launcher/build/index.js");
const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
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
const READ_TOOLS = ["open_nodes", "read_graph", "search_nodes"];

const work = mkdtempSync(join(tmpdir(), "smcp-inspector-"));
const browser = browserless(work);
let dev: DevServer;
let readWrite: string;
let readOnly: string;

beforeAll(async () => {
	dev = await startWrangler({ persistDir: join(work, "state") });
	readWrite = (await obtainTokens({ fetch, origin: dev.origin, ...DEV })).access_token;
	readOnly = (await obtainTokens({ fetch, origin: dev.origin, ...DEV, scope: ["mcp:read"] })).access_token;
});
afterAll(async () => {
	await dev?.stop();
	rmSync(work, { recursive: true, force: true });
});

interface Run {
	code: number | null;
	/** The CLI's `--format json` document: `{ result }` on stdout, or `{ error: { code, message } }` on stderr. */
	json: { result?: Record<string, unknown>; error?: { code: string; message: string } };
	stdout: string;
	stderr: string;
}

/**
 * Runs `inspector --cli <args> --format json --stored-auth-only`. `--stored-auth-only` keeps a
 * rejected token from turning into an interactive OAuth flow (the CLI then exits 3); HOME is this
 * run's own, so nothing is read from or written to the user's Inspector store. execFile's timeout
 * kills a hung CLI.
 */
function inspect(args: string[]): Promise<Run> {
	return new Promise((resolve, reject) => {
		const env = browser.env({ HOME: join(work, "home"), NO_COLOR: "1" });
		const child = execFile(
			process.execPath,
			[INSPECTOR, "--cli", ...args, "--format", "json", "--stored-auth-only"],
			// The generated Worker types declare its vars on ProcessEnv (nodejs_compat); this is a plain Node child.
			{ env: env as NodeJS.ProcessEnv, timeout: 30_000, killSignal: "SIGKILL" },
			(err, stdout, stderr) => {
				if (err && typeof err.code !== "number")
					return reject(new Error(`inspector --cli did not finish (${err.signal ?? err.code}); stderr: ${stderr}`));
				const doc = (stdout.trim() || stderr.trim()).split("\n").at(-1) ?? "";
				try {
					resolve({ code: child.exitCode, json: JSON.parse(doc) as Run["json"], stdout, stderr });
				} catch {
					reject(
						new Error(
							`inspector --cli printed no JSON document (exit ${child.exitCode}); stdout: ${stdout.slice(0, 500)} stderr: ${stderr.slice(0, 500)}`,
						),
					);
				}
			},
		);
	});
}

const bearer = (token: string) => ["--header", `Authorization: Bearer ${token}`];
const mcp = () => [`${dev.origin}/mcp`, "--transport", "http"];
const sse = () => [`${dev.origin}/sse`, "--transport", "sse"];
type Tool = { name: string; inputSchema: { type: string } };
type Graph = { entities: { name: string; entityType: string; observations: string[] }[]; relations: unknown[] };

describe("MCP Inspector CLI against wrangler dev", () => {
	it("tools/list over /mcp with a bearer token from SMCP's consent flow lists the memory tools", async () => {
		const run = await inspect([...mcp(), ...bearer(readWrite), "--method", "tools/list"]);
		expect(run.code, run.stderr).toBe(0);
		const tools = run.json.result!.tools as Tool[];
		expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(MEMORY_TOOLS));
		for (const t of tools) expect(t.inputSchema.type).toBe("object");
	});

	it("tools/call writes over /mcp and the write is read back, over /mcp and over /sse", async () => {
		const entity = { name: "Hopper", entityType: "person", observations: ["compiled the first compiler"] };
		const created = await inspect([
			...mcp(),
			...bearer(readWrite),
			"--method",
			"tools/call",
			"--tool-name",
			"create_entities",
			"--tool-args-json",
			JSON.stringify({ entities: [entity] }),
		]);
		expect(created.code, created.stderr).toBe(0);
		expect(created.json.result!.isError).toBeFalsy();
		expect(created.json.result!.structuredContent).toEqual({ entities: [entity] });

		const viaMcp = await inspect([...mcp(), ...bearer(readWrite), "--method", "tools/call", "--tool-name", "read_graph"]);
		expect(viaMcp.code, viaMcp.stderr).toBe(0);
		expect(viaMcp.json.result!.structuredContent).toEqual({ entities: [entity], relations: [] });

		const viaSse = await inspect([
			...sse(),
			...bearer(readWrite),
			"--method",
			"tools/call",
			"--tool-name",
			"search_nodes",
			"--tool-args-json",
			JSON.stringify({ query: "compiler" }),
		]);
		expect(viaSse.code, viaSse.stderr).toBe(0);
		expect((viaSse.json.result!.structuredContent as Graph).entities.map((e) => e.name)).toEqual(["Hopper"]);
	});

	it("a read-only token sees only the read tools and cannot write", async () => {
		const list = await inspect([...mcp(), ...bearer(readOnly), "--method", "tools/list"]);
		expect(list.code, list.stderr).toBe(0);
		const names = (list.json.result!.tools as Tool[]).map((t) => t.name);
		expect(names).toEqual(expect.arrayContaining(READ_TOOLS));
		for (const write of MEMORY_TOOLS.filter((t) => !READ_TOOLS.includes(t))) expect(names).not.toContain(write);

		const write = await inspect([
			...mcp(),
			...bearer(readOnly),
			"--method",
			"tools/call",
			"--tool-name",
			"delete_entities",
			"--tool-args-json",
			JSON.stringify({ entityNames: ["Hopper"] }),
		]);
		// The CLI looks the tool up in tools/list before calling it, and SMCP does not list a write
		// tool to a read-only token, so the refusal surfaces as the CLI's tool_not_found (exit 5).
		// SMCP's own 403 insufficient_scope on a direct call is covered in test/integration/tenant.test.ts.
		expect(write.code).toBe(5);
		expect(write.json.error?.code).toBe("tool_not_found");
		const graph = await inspect([...mcp(), ...bearer(readOnly), "--method", "tools/call", "--tool-name", "read_graph"]);
		expect((graph.json.result!.structuredContent as Graph).entities.map((e) => e.name)).toEqual(["Hopper"]);
	});

	it("a bogus bearer token is refused (exit 3, auth_required) without starting a browser sign-in", async () => {
		const before = browser.launches().length;
		for (const target of [mcp(), sse()]) {
			const run = await inspect([...target, ...bearer("not-a-real-token"), "--method", "tools/list"]);
			expect(run.code).toBe(3);
			expect(run.json.error?.code).toBe("auth_required");
			expect(run.stdout).toBe("");
		}
		expect(browser.launches()).toHaveLength(before);
	});
});
