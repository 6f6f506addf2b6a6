/**
 * Revocation that holds everywhere, a budget on every audited request, and the session cap per
 * client (docs/security.md "Revocation, budget and sign-in", attack rows 59, 60 and 64).
 *
 * "Another location" is simulated the way it happens in production: the revocation is recorded in
 * the tenant's kernel (strongly consistent, reached from every location) while this isolate's KV
 * still serves the grant or key and its token cache still holds the token.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { brandPrincipal } from "../../shared/rpc/principal";
import type { RequestRecord, ToolOutcome } from "../../shared/rpc/kernel";
import { size as tokenCacheSize } from "../../worker/edge/token-cache";
import { refresh } from "../support/oauth-flow";
import { TenantDirectory } from "../../worker/identity/tenants";
import { DEFINE_APP, installApp } from "./apps-helpers";
import { createAccount, objectSession, ORIGIN, rawPost, rawSession, selfFetch, signedIn, testEnv } from "./helpers";

const ADMIN = { Authorization: `Bearer ${testEnv.SMCP_ADMIN_TOKEN}` };
const kernel = (tenantId: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
const grantOf = (token: string) => {
	const [userId, grantId] = token.split(":");
	return { userId: userId!, grantId: grantId! };
};
const OTHER_LOCATION = { tenantId: "t_00000000000000000000000000000000", userId: "operator", clientId: "admin-api" };

const LIST_ROW: RequestRecord = {
	method: "tools/list",
	lane: "modern",
	protocolVersion: "2026-07-28",
	traceId: "t",
	decision: "allowed",
	outcome: "ok",
	durationMs: 0,
};

const call = (token: string, sessionId: string, id = 9) =>
	rawPost(
		token,
		{ jsonrpc: "2.0", id, method: "tools/call", params: { name: "read_graph", arguments: {} } },
		{ "Mcp-Session-Id": sessionId, "MCP-Protocol-Version": "2025-11-25" },
	);
const list = (token: string, sessionId: string) =>
	rawPost(token, { jsonrpc: "2.0", id: 4, method: "tools/list" }, { "Mcp-Session-Id": sessionId, "MCP-Protocol-Version": "2025-11-25" });

/** The JSON-RPC body of a response (JSON, or the first SSE message). */
async function rpc(res: Response): Promise<{ result?: { isError?: boolean; content?: { text: string }[] }; error?: { message: string } }> {
	const text = await res.text();
	const data = res.headers.get("Content-Type")?.includes("text/event-stream") ? /^data: (.*)$/m.exec(text)?.[1] : text;
	return JSON.parse(data ?? "{}");
}

const auditRows = (tenantId: string, where = "1 = 1") =>
	runInDurableObject(kernel(tenantId), (_o: TenantObject, s) =>
		s.storage.sql.exec<Record<string, SqlStorageValue>>(`SELECT * FROM audit WHERE ${where} ORDER BY seq`).toArray(),
	);

describe("revocation holds against stale KV and warm token caches (row 59)", () => {
	it("a grant revoked in another location: the token this isolate just cached is refused by the kernel on its next call and list", async () => {
		const { account, tokens } = await signedIn();
		const sessionId = await objectSession(tokens.access_token);
		expect((await call(tokens.access_token, sessionId)).status).toBe(200);
		expect(tokenCacheSize()).toBeGreaterThan(0);
		const { userId, grantId } = grantOf(tokens.access_token);
		await kernel(account.tenantId).revokeGrant(OTHER_LOCATION, { grantId, userId, clientId: tokens.clientId });
		// KV here still holds the grant and this isolate's cache the token: the kernel refuses anyway.
		expect(await testEnv.OAUTH_KV.get(`grant:${userId}:${grantId}`)).not.toBeNull();
		const fresh = await rawSession(tokens.access_token).catch((e: Error) => e.message);
		expect(fresh).toMatch(/^initialize: 401/);
		const tool = await rpc(await call(tokens.access_token, sessionId));
		expect(tool.result?.isError ?? tool.error !== undefined).toBe(true);
		expect(JSON.stringify(tool)).toMatch(/revoked|Session not found/);
		const listed = await rpc(await list(tokens.access_token, sessionId));
		expect(listed.error?.message ?? "").toMatch(/Unauthorized|Session not found/);
		expect(await auditRows(account.tenantId, "tool = 'read_graph' AND outcome LIKE 'grant_revoked%'")).toHaveLength(1);
		// Every kernel entry: a list (record) of the grant's principal is refused too.
		const p = brandPrincipal({ tenantId: account.tenantId, userId, clientId: tokens.clientId, scopes: ["mcp:read"], grantId });
		expect(await kernel(account.tenantId).record(p, LIST_ROW)).toMatchObject({ ok: false, error: { reason: "credential_inactive" } });
	});

	it("a refresh whose KV read is stale cannot bring a revoked grant back: invalid_grant, and nothing is written back", async () => {
		const { account, tokens } = await signedIn();
		const { userId, grantId } = grantOf(tokens.access_token);
		await kernel(account.tenantId).revokeGrant(OTHER_LOCATION, { grantId, userId, clientId: tokens.clientId });
		expect(await testEnv.OAUTH_KV.get(`grant:${userId}:${grantId}`)).not.toBeNull();
		const r = await refresh(selfFetch, ORIGIN, tokens.clientId, tokens.refresh_token!);
		expect(r.status).toBe(400);
		expect(((await r.json()) as { error: string }).error).toBe("invalid_grant");
		// Not written back: the provider deleted the grant again, and its tokens with it.
		expect(await testEnv.OAUTH_KV.get(`grant:${userId}:${grantId}`)).toBeNull();
		expect((await refresh(selfFetch, ORIGIN, tokens.clientId, tokens.refresh_token!)).status).toBe(400);
	});

	it("a tenant suspended in another location: the cached token's lists and refreshes are refused, and the grant is kept", async () => {
		const { account, tokens } = await signedIn();
		const sessionId = await objectSession(tokens.access_token);
		await kernel(account.tenantId).setSuspended(OTHER_LOCATION, true);
		const listed = await rpc(await list(tokens.access_token, sessionId));
		expect(listed.error?.message ?? "").toMatch(/Unauthorized|Session not found/);
		const p = brandPrincipal({ tenantId: account.tenantId, userId: account.userId, clientId: tokens.clientId, scopes: ["mcp:read"] });
		expect(await kernel(account.tenantId).record(p, LIST_ROW)).toMatchObject({ ok: false, error: { reason: "credential_inactive" } });
		const r = await refresh(selfFetch, ORIGIN, tokens.clientId, tokens.refresh_token!);
		expect(r.status).toBe(400);
		expect(((await r.json()) as { error: string }).error).toBe("unauthorized_client");
		const { userId, grantId } = grantOf(tokens.access_token);
		expect(await testEnv.OAUTH_KV.get(`grant:${userId}:${grantId}`)).not.toBeNull();
		await kernel(account.tenantId).setSuspended(OTHER_LOCATION, false);
		expect((await refresh(selfFetch, ORIGIN, tokens.clientId, tokens.refresh_token!)).status).toBe(200);
	});

	it("an API key revoked in another location while KV still resolves it: its lists are refused by the kernel", async () => {
		const account = await createAccount();
		const created = await selfFetch(`${ORIGIN}/admin/tenants/${account.tenantId}/keys`, {
			method: "POST",
			headers: { ...ADMIN, "Content-Type": "application/json" },
			body: JSON.stringify({ userId: account.userId, name: "ci", scopes: ["mcp:read"], days: 1 }),
		});
		const { key, keyId } = (await created.json()) as { key: string; keyId: string };
		const sessionId = await objectSession(key);
		await kernel(account.tenantId).revokeApiKey(OTHER_LOCATION, keyId);
		const listed = await rpc(await list(key, sessionId));
		expect(listed.error?.message ?? "").toMatch(/Unauthorized|Session not found/);
		const p = brandPrincipal({ tenantId: account.tenantId, userId: account.userId, clientId: `key_${keyId}`, scopes: ["mcp:read"] });
		expect(await kernel(account.tenantId).record(p, LIST_ROW)).toMatchObject({ ok: false, error: { reason: "credential_inactive" } });
	});
});

describe("revocation closes live streams (issue 18 item 4)", () => {
	/** Reads until the stream ends; the time it took, or -1 when it was still open after `ms`. */
	async function endsWithin(res: Response, ms: number, started: number): Promise<number> {
		const reader = res.body!.getReader();
		const deadline = Date.now() + ms;
		while (Date.now() < deadline) {
			const next = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
			if (next === null) break;
			if (next.done) return Date.now() - started;
		}
		await reader.cancel().catch(() => {});
		return -1;
	}

	it("revoking the grant (account page or operator) ends its open GET /mcp stream and /sse stream at once", async () => {
		const { account, tokens } = await signedIn();
		const sessionId = await objectSession(tokens.access_token);
		const get = await selfFetch(`${ORIGIN}/mcp`, {
			headers: {
				Authorization: `Bearer ${tokens.access_token}`,
				Accept: "text/event-stream",
				"Mcp-Session-Id": sessionId,
				"MCP-Protocol-Version": "2025-11-25",
			},
		});
		expect(get.status).toBe(200);
		const sse = await selfFetch(`${ORIGIN}/sse`, {
			headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream" },
		});
		expect(sse.status).toBe(200);
		const started = Date.now();
		const { grantId } = grantOf(tokens.access_token);
		const revoked = await selfFetch(`${ORIGIN}/admin/users/${account.userId}/grants/${grantId}`, { method: "DELETE", headers: ADMIN });
		expect(revoked.status).toBe(200);
		const [getMs, sseMs] = await Promise.all([endsWithin(get, 3000, started), endsWithin(sse, 3000, started)]);
		expect(getMs).toBeGreaterThanOrEqual(0);
		expect(sseMs).toBeGreaterThanOrEqual(0);
		expect(Math.max(getMs, sseMs)).toBeLessThan(3000);
	});
});

describe("the session cap is per client within a per-user ceiling (row 64)", () => {
	it("one compromised client at its cap: the user's other clients still open sessions; revoking it frees its slots", async () => {
		const tenantId = `t_${crypto.randomUUID().replaceAll("-", "")}`;
		const k = kernel(tenantId);
		const as = (clientId: string, grantId: string) => brandPrincipal({ tenantId, userId: "u_1", clientId, scopes: ["mcp:read"], grantId });
		const evil = as("evil-client", "g1");
		const per = Number(testEnv.SMCP_MAX_SESSIONS_PER_CLIENT);
		for (let i = 0; i < per; i++) expect((await k.openSession(evil, `s-evil-${i}`)).ok).toBe(true);
		expect((await k.openSession(evil, "s-evil-over")).ok).toBe(false);
		// The person's other app is not locked out.
		expect((await k.openSession(as("good-client", "g2"), "s-good-1")).ok).toBe(true);
		await k.revokeGrant(OTHER_LOCATION, { grantId: "g1", userId: "u_1", clientId: "evil-client" });
		// Re-authorised (a new grant), the same client has its slots back at once.
		expect((await k.openSession(as("evil-client", "g3"), "s-evil-again")).ok).toBe(true);
		// The ceiling still holds across clients.
		const ceiling = Number(testEnv.SMCP_MAX_SESSIONS_PER_USER);
		let opened = 2;
		for (let c = 0; opened < ceiling; c++) if ((await k.openSession(as(`c${c % 20}`, `gc${c}`), `s-c-${c}`)).ok) opened++;
		expect((await k.openSession(as("one-more", "g9"), "s-one-more")).ok).toBe(false);
	});

	it("a hosted call still running when its grant is revoked loses its storage and code at the next operation, not when its ticket would expire", async () => {
		const tenantId = `t_${crypto.randomUUID().replaceAll("-", "")}`;
		await installApp(
			tenantId,
			{
				name: "notes",
				version: "1.0.0",
				main: "index.js",
				tools: [{ name: "read", description: "Reads.", inputSchema: { type: "object" }, scope: "mcp:read" }],
				egress: [],
				secrets: [],
			},
			{
				"index.js": `import { defineApp } from "./sdk.js";\nexport default defineApp({ tools: { read: async () => "ok" } });\n`,
				"sdk.js": DEFINE_APP,
			},
		);
		const k = kernel(tenantId);
		const p = brandPrincipal({ tenantId, userId: "u_1", clientId: "c1", scopes: ["mcp:read"], grantId: "g_live" });
		const begun = (await k.beginAppCall(p, {
			name: "notes__read",
			arguments: {},
			lane: "modern",
			protocolVersion: "2026-07-28",
			traceId: "t",
		})) as unknown as {
			ok: true;
			value: { kind: "run"; ticket: { id: string } };
		};
		expect(begun.value.kind).toBe("run");
		const ticket = begun.value.ticket.id;
		// While the grant stands, the call's storage and code answer.
		expect(await k.appStorage(p, ticket, { op: "put", key: "k", value: '"v"' } as never)).toMatchObject({ ok: true });
		expect((await k.appCode(p, ticket)).ok).toBe(true);
		await k.revokeGrant(OTHER_LOCATION, { grantId: "g_live", userId: "u_1", clientId: "c1" });
		// Revoked mid-call: the next operation is refused, and the ticket is gone for good.
		expect(await k.appStorage(p, ticket, { op: "get", key: "k" } as never)).toMatchObject({ ok: false });
		expect((await k.appCode(p, ticket)).ok).toBe(false);
		expect(await k.appStorage(p, ticket, { op: "get", key: "k" } as never)).toMatchObject({ ok: false });
	});
});

describe("every audited request spends budget (row 60)", () => {
	const tenantId = () => `t_${crypto.randomUUID().replaceAll("-", "")}`;
	const reader = (t: string) => brandPrincipal({ tenantId: t, userId: "u_1", clientId: "key_0badc0de", scopes: ["mcp:read"] });
	const listRow = LIST_ROW;

	it("a read-only principal looping tools/list is refused once its request budget is spent, with one aggregated audit row", async () => {
		const t = tenantId();
		const p = brandPrincipal({ tenantId: t, userId: "u_1", clientId: "c1", scopes: ["mcp:read"] });
		const verdicts = [];
		for (let i = 0; i < 160; i++) verdicts.push(await kernel(t).record(p, listRow));
		const refused = verdicts.filter((v) => !v.ok);
		expect(refused.length).toBeGreaterThan(20);
		expect(refused[0]).toMatchObject({ ok: false, error: { reason: "rate_limited" } });
		expect(await auditRows(t, "decision = 'rate_limited'")).toHaveLength(1);
		expect((await auditRows(t)).length).toBeLessThan(160 - refused.length + 2);
	});

	it("calling an unknown tool named x in a loop is rate-limited like a tool call, not audited row by row", async () => {
		const t = tenantId();
		const p = brandPrincipal({ tenantId: t, userId: "u_1", clientId: "c1", scopes: ["mcp:read"] });
		let limited = 0;
		for (let i = 0; i < 160; i++) {
			const r = await kernel(t).callTool(p, { name: "x", arguments: {}, lane: "modern", protocolVersion: "2026-07-28", traceId: "t" });
			const v = r as { ok: boolean; value?: ToolOutcome };
			if (v.value?.result._meta?.["io.smcp/retryAfterSeconds"] !== undefined) limited++;
		}
		expect(limited).toBeGreaterThan(20);
		expect((await auditRows(t)).length).toBeLessThan(160 - limited + 2);
	});

	it("calling an unknown hosted tool (nope__x) in a loop is rate-limited like a tool call, not audited row by row", async () => {
		const t = tenantId();
		const p = brandPrincipal({ tenantId: t, userId: "u_1", clientId: "c1", scopes: ["mcp:read"] });
		let limited = 0;
		for (let i = 0; i < 160; i++) {
			const r = (await kernel(t).beginAppCall(p, {
				name: "nope__x",
				arguments: {},
				lane: "modern",
				protocolVersion: "2026-07-28",
				traceId: "t",
			})) as { ok: boolean; value?: { kind: string; outcome?: ToolOutcome } };
			if (r.value?.outcome?.result._meta?.["io.smcp/retryAfterSeconds"] !== undefined) limited++;
		}
		expect(limited).toBeGreaterThan(20);
		expect((await auditRows(t)).length).toBeLessThan(160 - limited + 2);
	});

	it("a revoked key calling an unknown hosted tool is refused as revoked, with one aggregated row", async () => {
		const t = tenantId();
		for (let i = 0; i < 30; i++)
			await kernel(t).beginAppCall(reader(t), {
				name: "nope__x",
				arguments: {},
				lane: "modern",
				protocolVersion: "2026-07-28",
				traceId: "t",
			});
		expect(await auditRows(t, "outcome LIKE 'api_key_inactive%'")).toHaveLength(1);
		expect(await auditRows(t, "outcome = 'unknown_tool'")).toHaveLength(0);
	});

	it("insufficient-scope refusals pay from the budget too: past it, 429 at the front door and no row per request", async () => {
		const { account, tokens } = await signedIn({ scope: ["mcp:read"] });
		const sessionId = await rawSession(tokens.access_token);
		const statuses: number[] = [];
		for (let i = 0; i < 140; i++) {
			const res = await rawPost(
				tokens.access_token,
				{ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "create_entities", arguments: { entities: [] } } },
				{ "Mcp-Session-Id": sessionId, "MCP-Protocol-Version": "2025-11-25" },
			);
			await res.body?.cancel();
			statuses.push(res.status);
		}
		expect(statuses[0]).toBe(403);
		expect(statuses).toContain(429);
		expect((await auditRows(account.tenantId, "outcome LIKE 'insufficient_scope%'")).length).toBe(1);
	});

	it("a revoked key's refusals write one aggregated row per window, not one per request", async () => {
		const t = tenantId();
		for (let i = 0; i < 30; i++) await kernel(t).record(reader(t), listRow);
		expect(await auditRows(t, "outcome LIKE 'api_key_inactive%'")).toHaveLength(1);
	});
});

describe("the token cache is flushed only by a real revocation (issue 13 item 7)", () => {
	it("a malformed, unauthenticated POST /token (or a sign-in form) leaves the isolate's token cache warm; a revocation empties it", async () => {
		const { tokens } = await signedIn();
		const sessionId = await rawSession(tokens.access_token);
		expect((await call(tokens.access_token, sessionId)).status).toBe(200);
		const warm = tokenCacheSize();
		expect(warm).toBeGreaterThan(0);
		for (const body of ["grant_type=nonsense", "%%%", ""]) {
			const res = await selfFetch(`${ORIGIN}/token`, {
				method: "POST",
				headers: { "Content-Type": "application/x-www-form-urlencoded" },
				body,
			});
			await res.body?.cancel();
		}
		const form = await selfFetch(`${ORIGIN}/account/sign-in`, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: "email=a%40b.example&password=nope",
		});
		await form.body?.cancel();
		expect(tokenCacheSize()).toBe(warm);
		const revoked = await selfFetch(`${ORIGIN}/token`, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: "refresh_token", client_id: tokens.clientId }).toString(),
		});
		expect(revoked.status).toBe(200);
		expect(tokenCacheSize()).toBe(warm - 1);
		expect((await call(tokens.access_token, sessionId)).status).toBe(401);
	});
});

describe("membership has one source of truth, and removal cuts a member off (issue 13 item 7)", () => {
	const admin = (method: string, path: string, body?: unknown) =>
		selfFetch(`${ORIGIN}/admin${path}`, {
			method,
			headers: { ...ADMIN, "Content-Type": "application/json" },
			...(body === undefined ? {} : { body: JSON.stringify(body) }),
		});

	it("an account index that lists a tenant the tenant record does not confirm grants nothing", async () => {
		const owner = await createAccount();
		const outsider = await createAccount();
		const team = (await (await admin("POST", "/tenants", { name: "team", ownerUserId: owner.userId })).json()) as { id: string };
		// The two records disagree: the outsider's account lists the team, the team does not list them.
		const key = `account:user:${outsider.userId}`;
		const stored = JSON.parse((await testEnv.DIRECTORY_KV.get(key))!) as { tenants: string[] };
		await testEnv.DIRECTORY_KV.put(key, JSON.stringify({ ...stored, tenants: [...stored.tenants, team.id] }));
		const res = await admin("POST", `/tenants/${team.id}/keys`, { userId: outsider.userId, name: "x", scopes: ["mcp:read"], days: 1 });
		expect(res.status).toBe(400);
		// The workspaces /authorize offers come from the same source: the team is not among them.
		const offered = await new TenantDirectory(testEnv.DIRECTORY_KV).tenantsOf(outsider.userId);
		expect(offered.map((t) => t.id)).not.toContain(team.id);
	});

	it("removing a member (admin API) revokes their keys in the tenant at once, and is audited", async () => {
		const owner = await createAccount();
		const member = await createAccount();
		const team = (await (await admin("POST", "/tenants", { name: "team", ownerUserId: owner.userId })).json()) as { id: string };
		expect((await admin("POST", `/tenants/${team.id}/members`, { userId: member.userId, role: "member" })).status).toBe(200);
		const created = (await (
			await admin("POST", `/tenants/${team.id}/keys`, { userId: member.userId, name: "m", scopes: ["mcp:read"], days: 1 })
		).json()) as { key: string; keyId: string };
		expect((await admin("DELETE", `/tenants/${team.id}/members/${owner.userId}`)).status).toBe(409);
		const removed = await admin("DELETE", `/tenants/${team.id}/members/${member.userId}`);
		expect(await removed.json()).toMatchObject({ removed: true, keys: 1 });
		const keys = (await (await admin("GET", `/tenants/${team.id}/keys`)).json()) as { keys: { keyId: string; revokedAt: number | null }[] };
		expect(keys.keys.find((k) => k.keyId === created.keyId)?.revokedAt).not.toBeNull();
		expect(
			(await admin("POST", `/tenants/${team.id}/keys`, { userId: member.userId, name: "again", scopes: ["mcp:read"], days: 1 })).status,
		).toBe(400);
		const methods = (await auditRows(team.id)).map((r) => r.method);
		expect(methods).toEqual(expect.arrayContaining(["admin/member_removed", "admin/keys_listed", "auth/api_key_revoked"]));
	});
});
