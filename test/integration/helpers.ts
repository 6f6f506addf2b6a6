/**
 * @module test/integration/helpers
 * Integration-test plumbing inside workerd: accounts, tokens through the real OAuth flow over
 * `SELF.fetch`, and real MCP SDK clients whose HTTP goes to the Worker under test.
 */
import { env, evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { AccountDirectory, type Account } from "../../worker/identity/accounts";
import type { Env } from "../../shared/env";
import { obtainTokens, type Tokens } from "../support/oauth-flow";

export const ORIGIN = "http://127.0.0.1:8787";
export const testEnv = env as unknown as Env;
export const selfFetch = (input: string | Request | URL, init?: RequestInit) =>
	SELF.fetch(input instanceof URL ? input.toString() : input, init);

let counter = 0;
/** Creates a fresh local account (its own tenant). */
export async function createAccount(): Promise<Account & { password: string }> {
	const email = `user${++counter}-${crypto.randomUUID().slice(0, 8)}@example.test`;
	const password = "correct horse battery staple";
	const r = await new AccountDirectory(testEnv.DIRECTORY_KV).create(email, password);
	if (!r.ok) throw new Error(`account: ${JSON.stringify(r.error)}`);
	return { ...r.value, password };
}

/** An account plus tokens from the full OAuth flow. */
export async function signedIn(
	opts: { scope?: string[]; grant?: string[] } = {},
): Promise<{ account: Account & { password: string }; tokens: Tokens & { clientId: string } }> {
	const account = await createAccount();
	const tokens = await obtainTokens({ fetch: selfFetch, origin: ORIGIN, email: account.email, password: account.password, ...opts });
	return { account, tokens };
}

const withAuth = (token: string) => (url: string | URL, init?: RequestInit) => {
	const headers = new Headers(init?.headers);
	headers.set("Authorization", `Bearer ${token}`);
	return selfFetch(url.toString(), { ...init, headers });
};

/** A connected SDK v1 client over Streamable HTTP. */
export async function connectMcp(
	token: string,
	opts: { protocolVersion?: string } = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
	const transport = new StreamableHTTPClientTransport(new URL(`${ORIGIN}/mcp`), { fetch: withAuth(token) });
	const client = new Client(
		{ name: "itest", version: "1.0.0" },
		{ capabilities: { elicitation: {} }, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
	);
	if (opts.protocolVersion) (client as unknown as { _protocolVersion?: string })._protocolVersion = opts.protocolVersion;
	await client.connect(transport);
	return { client, transport };
}

/** A connected SDK v1 client over the 2024-11-05 HTTP+SSE transport. */
export async function connectSse(token: string): Promise<{ client: Client; transport: SSEClientTransport }> {
	const transport = new SSEClientTransport(new URL(`${ORIGIN}/sse`), {
		fetch: withAuth(token),
		eventSourceInit: { fetch: withAuth(token) },
	});
	const client = new Client({ name: "itest-sse", version: "1.0.0" }, { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
	await client.connect(transport);
	return { client, transport };
}

/** A raw JSON-RPC POST to /mcp. */
export function rawPost(token: string | null, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return selfFetch(`${ORIGIN}/mcp`, {
		method: "POST",
		headers: {
			"Content-Type": "application/json",
			Accept: "application/json, text/event-stream",
			...(token ? { Authorization: `Bearer ${token}` } : {}),
			...headers,
		},
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

/** The initialize request a 2025-11-25 client sends. */
export const INIT = {
	jsonrpc: "2.0",
	id: 1,
	method: "initialize",
	params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

/** Opens a raw session and returns its id. */
export async function rawSession(token: string): Promise<string> {
	const res = await rawPost(token, INIT);
	if (res.status !== 200) throw new Error(`initialize: ${res.status} ${await res.text()}`);
	await res.text();
	const id = res.headers.get("Mcp-Session-Id");
	if (!id) throw new Error("no session id");
	return id;
}

/**
 * Opens a raw session and makes its SessionObject hold it: a session of plain calls lives in the
 * tenant's registry alone, and `tools/list` is the first request that needs the object.
 */
export async function objectSession(token: string): Promise<string> {
	const id = await rawSession(token);
	const res = await rawPost(
		token,
		{ jsonrpc: "2.0", id: 2, method: "tools/list" },
		{ "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" },
	);
	if (res.status !== 200) throw new Error(`tools/list: ${res.status} ${await res.text()}`);
	await res.text();
	return id;
}

/**
 * Ages a session in the tenant's registry as if it had been idle since the epoch. The kernel keeps
 * a copy of the rows it wrote, so it is restarted to read the edited row.
 */
export async function ageRegisteredSession(tenantId: string, sessionId: string): Promise<number> {
	const kernel = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
	const aged = await runInDurableObject(kernel, (_o, s) => {
		s.storage.sql.exec("UPDATE sessions SET last_seen = 0 WHERE session_id = ?", sessionId);
		return Number(s.storage.sql.exec("SELECT COUNT(*) AS n FROM sessions WHERE session_id = ? AND last_seen = 0", sessionId).one().n);
	});
	await evictDurableObject(kernel);
	return aged;
}
