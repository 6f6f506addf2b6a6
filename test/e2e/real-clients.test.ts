/**
 * End to end: `wrangler dev` on loopback, real MCP SDK clients that sign in through the consent
 * screen, both transports, a restart with persisted state, and a second tenant.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refresh } from "../support/oauth-flow";
import { connectWithOAuth, MemoryAuthProvider } from "./oauth-client";
import { startWrangler, type DevServer } from "./wrangler";

const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
const persistDir = mkdtempSync(join(tmpdir(), "smcp-e2e-"));
let dev: DevServer;

/** Debug level: every request and tool call writes a line, so the no-secrets check sees the most. */
const VARS = { SMCP_LOG_LEVEL: "debug" };

beforeAll(async () => {
	dev = await startWrangler({ persistDir, vars: VARS });
});
afterAll(async () => {
	await dev?.stop();
});

type Graph = { entities: { name: string; observations: string[] }[]; relations: unknown[] };

describe("a real MCP client against wrangler dev", () => {
	const auth = new MemoryAuthProvider();

	it("serves both metadata documents", async () => {
		const prm = (await (await fetch(`${dev.origin}/.well-known/oauth-protected-resource`)).json()) as { resource: string };
		expect(prm.resource).toBe(dev.origin);
		const as = (await (await fetch(`${dev.origin}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
		expect(as.issuer).toBe(dev.origin);
	});

	it("completes registration, PKCE, sign-in and consent, then calls memory tools over /mcp", async () => {
		const { client } = await connectWithOAuth("mcp", dev.origin, DEV, auth);
		expect(client.getServerVersion()?.name).toBe("smcp");
		const tools = (await client.listTools()).tools.map((t) => t.name).sort();
		expect(tools).toEqual([
			"add_observations",
			"audit_log",
			"create_entities",
			"create_relations",
			"delete_entities",
			"delete_observations",
			"delete_relations",
			"export_graph",
			"import_graph",
			"open_nodes",
			"read_graph",
			"search_nodes",
		]);
		const r = await client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "Lovelace", entityType: "person", observations: ["first program"] }] },
		});
		expect(r.isError).toBeFalsy();
		await client.close();
	});

	it("the same tenant's data is there over /sse (2024-11-05)", async () => {
		const { client } = await connectWithOAuth("sse", dev.origin, DEV, auth);
		await client.callTool({ name: "add_observations", arguments: { observations: [{ entityName: "Lovelace", contents: ["via sse"] }] } });
		const g = (await client.callTool({ name: "open_nodes", arguments: { names: ["Lovelace"] } })).structuredContent as Graph;
		expect(g.entities[0]!.observations).toEqual(["first program", "via sse"]);
		await client.close();
	});

	it("refresh rotates the refresh token and the new access token is accepted", async () => {
		const tokens = auth.tokens()!;
		const clientId = (auth.clientInformation() as { client_id: string }).client_id;
		const res = await refresh(fetch, dev.origin, clientId, tokens.refresh_token!);
		expect(res.status).toBe(200);
		const next = (await res.json()) as { access_token: string; refresh_token: string; token_type: string };
		expect(next.refresh_token).not.toBe(tokens.refresh_token);
		auth.saveTokens({ ...tokens, ...next });
		const { client } = await connectWithOAuth("mcp", dev.origin, DEV, auth);
		expect(((await client.callTool({ name: "read_graph", arguments: {} })).structuredContent as Graph).entities).toHaveLength(1);
		await client.close();
	});

	it("data and grants survive a restart; a second tenant sees nothing and cannot use the first tenant's session", async () => {
		await dev.stop();
		// The documented operator command creates a second account while the server is down.
		const run = promisify(execFile);
		const script = join(process.cwd(), "bin/smcp.mjs");
		const child = run(
			process.execPath,
			[script, "users", "create", "--email", "second@example.test", "--password-stdin", "--local", "--persist-to", persistDir],
			{ cwd: process.cwd() },
		);
		child.child.stdin!.end("second tenant password");
		const { stdout } = await child;
		expect(stdout).toMatch(/t_[0-9a-f]{32}/);

		dev = await startWrangler({ persistDir, port: dev.port, vars: VARS });
		const a = (await connectWithOAuth("mcp", dev.origin, DEV, auth)).client; // tokens from before the restart
		const g = (await a.callTool({ name: "read_graph", arguments: {} })).structuredContent as Graph;
		expect(g.entities.map((e) => e.name)).toEqual(["Lovelace"]);

		const b = await connectWithOAuth("mcp", dev.origin, { email: "second@example.test", password: "second tenant password" });
		expect((await b.client.callTool({ name: "read_graph", arguments: {} })).structuredContent).toEqual({ entities: [], relations: [] });
		const aSession = (a as unknown as { _transport: { sessionId: string } })._transport.sessionId;
		const hijack = await fetch(`${dev.origin}/mcp`, {
			method: "POST",
			headers: {
				Authorization: `Bearer ${b.auth.tokens()!.access_token}`,
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
				"Mcp-Session-Id": aSession,
			},
			body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "read_graph", arguments: {} } }),
		});
		expect(hijack.status).toBe(404);
		await a.close();
		await b.client.close();
	});

	it("the server's log lines are JSON and never contain tokens or passwords", async () => {
		const text = readFileSync(dev.logFile, "utf8");
		const secrets = [auth.tokens()!.access_token, auth.tokens()!.refresh_token!, DEV.password, "second tenant password"];
		for (const s of secrets) expect(text.includes(s)).toBe(false);
		expect(text).toMatch(/"event":"tool.call"/);
	});
});
