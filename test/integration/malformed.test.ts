/**
 * Malformed requests never end in a 500: each symptom found from the outside (a 500 from SMCP's
 * own code, `http.crash` in the log) gets a test named after it. Every one must get a 4xx with
 * the spec's error shape, cheaply, before any storage access, and no `error`-level log line.
 * `GET`/`HEAD` with a body and bodies that fail mid-read cannot be sent through `SELF.fetch` (its
 * `Request` refuses the one and delivers the other truncated): worker/edge/guard.test.ts covers the
 * guard, e2e malformed-http.test.ts sends both over a raw socket to `wrangler dev`.
 */
import { listDurableObjectIds } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { brandPrincipal } from "../../shared/rpc/principal";
import { ORIGIN, selfFetch, signedIn, testEnv } from "./helpers";

const MODERN = "2026-07-28";
let errorLines: string[] = [];

beforeEach(() => {
	errorLines = [];
	for (const level of ["log", "info", "warn", "error", "debug"] as const) {
		vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
			const line = args.map(String).join(" ");
			if (level === "error" || line.includes('"level":"error"')) errorLines.push(line);
		});
	}
});
afterEach(() => vi.restoreAllMocks());

const envelope = {
	"io.modelcontextprotocol/protocolVersion": MODERN,
	"io.modelcontextprotocol/clientCapabilities": {},
	"io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
};

/** Counts the KV reads of a namespace while `run` runs. */
async function kvReads<T>(kv: KVNamespace, run: () => Promise<T>): Promise<{ value: T; reads: number }> {
	const get = vi.spyOn(kv, "get");
	try {
		const value = await run();
		return { value, reads: get.mock.calls.length };
	} finally {
		get.mockRestore();
	}
}

describe("no 500 for malformed requests", () => {
	it("a JSON-RPC method that is not a string (number, object, false, null) on the 2026-07-28 path → 400 -32600, not a crash", async () => {
		const { tokens } = await signedIn();
		for (const method of [5, { x: 1 }, false, null, ["tools/list"]]) {
			for (const withId of [true, false]) {
				const res = await selfFetch(`${ORIGIN}/mcp`, {
					method: "POST",
					headers: {
						Authorization: `Bearer ${tokens.access_token}`,
						"Content-Type": "application/json",
						Accept: "application/json, text/event-stream",
						"MCP-Protocol-Version": MODERN,
						"Mcp-Method": "tools/call",
					},
					body: JSON.stringify({ jsonrpc: "2.0", ...(withId ? { id: 1 } : {}), method, params: { _meta: envelope } }),
				});
				const label = `method ${JSON.stringify(method)} id ${withId}`;
				expect(res.status, label).toBe(400);
				const body = (await res.json()) as { jsonrpc: string; error: { code: number; message: string } };
				expect(body.jsonrpc, label).toBe("2.0");
				expect(body.error.code, label).toBe(-32600);
			}
		}
		expect(errorLines).toEqual([]);
	});

	it("a client_id of 520+ characters at /token (form or Basic) → 401 invalid_client before any KV read, not a crash", async () => {
		const long = "c".repeat(520);
		const forms: { body: string; headers: Record<string, string> }[] = [
			{ body: `grant_type=authorization_code&code=a:b:c&client_id=${long}&code_verifier=${"v".repeat(43)}&redirect_uri=x`, headers: {} },
			{ body: `grant_type=refresh_token&refresh_token=a:b:c&client_id=${long}`, headers: {} },
			{ body: "grant_type=client_credentials", headers: { Authorization: `Basic ${btoa(`${long}:secret`)}` } },
		];
		for (const f of forms) {
			const { value: res, reads } = await kvReads(testEnv.OAUTH_KV, () =>
				selfFetch(`${ORIGIN}/token`, {
					method: "POST",
					headers: { "Content-Type": "application/x-www-form-urlencoded", ...f.headers },
					body: f.body,
				}),
			);
			expect(res.status, f.body.slice(0, 60)).toBe(401);
			expect(((await res.json()) as { error: string }).error).toBe("invalid_client");
			expect(reads).toBe(0);
		}
		expect(errorLines).toEqual([]);
	});

	it("codes and refresh tokens with a 500-character segment at /token → 400 invalid_grant, not a crash", async () => {
		const { tokens } = await signedIn();
		const seg = "s".repeat(500);
		for (const body of [
			`grant_type=refresh_token&refresh_token=${seg}:g:secret&client_id=${tokens.clientId}`,
			`grant_type=authorization_code&code=u:${seg}:secret&client_id=${tokens.clientId}&code_verifier=${"v".repeat(43)}&redirect_uri=x`,
		]) {
			const res = await selfFetch(`${ORIGIN}/token`, {
				method: "POST",
				headers: { "Content-Type": "application/x-www-form-urlencoded" },
				body,
			});
			expect(res.status, body.slice(0, 40)).toBe(400);
			expect(((await res.json()) as { error: string }).error).toBe("invalid_grant");
		}
		expect(errorLines).toEqual([]);
	});

	it("a client_id longer than the KV key limit at /authorize → 400 page, not a crash", async () => {
		const res = await selfFetch(
			`${ORIGIN}/authorize?response_type=code&client_id=${"c".repeat(600)}&redirect_uri=https%3A%2F%2Fx.example%2Fcb&code_challenge=${"a".repeat(43)}&code_challenge_method=S256`,
		);
		expect(res.status).toBe(400);
		await res.text();
		expect(errorLines).toEqual([]);
	});

	it("a bearer token with a ~500-character segment on /mcp and /sse → 401 invalid_token before any KV read, not a crash", async () => {
		const seg = "u".repeat(500);
		for (const path of ["/mcp", "/sse", "/sse/message?sessionId=x", "/mcp/", "/mcp/x"]) {
			for (const token of [`${seg}:grant:secret`, `user:${seg}:secret`, `${"t".repeat(5000)}`, "a:b:c!", `smcp_${"0".repeat(600)}`]) {
				const { value: res, reads } = await kvReads(testEnv.OAUTH_KV, async () => {
					const r = await selfFetch(`${ORIGIN}${path}`, {
						method: path === "/sse" ? "GET" : "POST",
						headers: {
							Authorization: `Bearer ${token}`,
							"Content-Type": "application/json",
							Accept: "application/json, text/event-stream",
						},
						body: path === "/sse" ? undefined : "{}",
					});
					await r.body?.cancel();
					return r;
				});
				const label = `${path} ${token.slice(0, 20)}…(${token.length})`;
				expect(res.status, label).toBe(401);
				expect(res.headers.get("WWW-Authenticate"), label).toMatch(/^Bearer /);
				expect(res.headers.get("WWW-Authenticate"), label).toContain('error="invalid_token"');
				expect(res.headers.get("WWW-Authenticate"), label).toContain(`resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource"`);
				expect(reads, label).toBe(0);
			}
		}
		expect(errorLines).toEqual([]);
	});
});

describe("lanes", () => {
	it("a 2026-07-28 request that carries Mcp-Session-Id is served by the stateless lane; the header is ignored and never echoed", async () => {
		const { tokens } = await signedIn();
		const sessionsBefore = (await listDurableObjectIds(testEnv.SESSIONS)).length;
		for (const sessionId of ["forged-session-id", "A".repeat(44)]) {
			const res = await selfFetch(`${ORIGIN}/mcp`, {
				method: "POST",
				headers: {
					Authorization: `Bearer ${tokens.access_token}`,
					"Content-Type": "application/json",
					Accept: "application/json, text/event-stream",
					"MCP-Protocol-Version": MODERN,
					"Mcp-Method": "tools/list",
					"Mcp-Session-Id": sessionId,
				},
				body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: envelope } }),
			});
			expect(res.status).toBe(200);
			expect(res.headers.get("Mcp-Session-Id")).toBeNull();
			const body = (await res.json()) as { result: { tools: unknown[] } };
			expect(body.result.tools.length).toBeGreaterThan(0);
		}
		expect((await listDurableObjectIds(testEnv.SESSIONS)).length).toBe(sessionsBefore);
	});
});

describe("the audit trail stores what it hashes", () => {
	it("an unknown tool name with a lone surrogate, and a surrogate pair cut by the audit cap, leave the chain verifiable (found by the volume fuzz)", async () => {
		const tenantId = `t_${crypto.randomUUID().replaceAll("-", "")}`;
		const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
		const p = brandPrincipal({ tenantId, userId: "u_a", clientId: "c_a", scopes: ["mcp:read"] });
		const call = (name: string, args: Record<string, unknown>) =>
			stub.callTool(p, { name, arguments: args, lane: "streamable-http", protocolVersion: "2025-11-25", traceId: "t\ud800" });
		await call("x\ud800", {});
		await call(`${"a".repeat(63)}🌍`, {});
		await call("audit_log", { tool: "\udc00x" });
		await call("audit_log", { tool: `${"b".repeat(127)}🌍` });
		// Unknown tools are audited once per minute per name (aggregated), so three or four rows.
		expect(await stub.verifyAudit()).toMatchObject({ ok: true });
		expect((await stub.verifyAudit()).checked).toBeGreaterThanOrEqual(3);
	});
});
