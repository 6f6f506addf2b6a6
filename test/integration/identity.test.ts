/**
 * Identity and access: API keys (hash-only, scoped, expiring, revocable), tenant suspension,
 * grants revocation, memberships, and the operator API that manages them.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { API_KEY_PATTERN } from "../../worker/identity/api-keys";
import { connectMcp, INIT, ORIGIN, rawPost, selfFetch, signedIn, testEnv } from "./helpers";

const ADMIN = "test-admin-token-0123456789abcdef0123456789";
const admin = (method: string, path: string, body?: unknown) =>
	selfFetch(`${ORIGIN}/admin${path}`, {
		method,
		headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
	});

async function newKey(tenantId: string, userId: string, scopes: string[], days = 30) {
	const res = await admin("POST", `/tenants/${tenantId}/keys`, { userId, name: "ci", scopes, days });
	expect(res.status).toBe(201);
	return (await res.json()) as { key: string; keyId: string; expiresAt: number };
}

const listTools = async (bearer: string) => {
	const init = await rawPost(bearer, INIT);
	if (init.status !== 200) return { status: init.status, names: [] as string[] };
	const id = init.headers.get("Mcp-Session-Id")!;
	const res = await rawPost(bearer, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": id });
	return {
		status: res.status,
		names: ((await res.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name),
		id,
	};
};

describe("API keys", () => {
	afterEach(() => vi.useRealTimers());

	it("a key is accepted as a bearer token with exactly its scopes; a write needs mcp:write (403 step-up)", async () => {
		const { account } = await signedIn();
		const { key, keyId } = await newKey(account.tenantId, account.userId, ["mcp:read"]);
		expect(key).toMatch(/^smcp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
		const { names, id } = await listTools(key);
		expect(names.sort()).toEqual(["audit_log", "export_graph", "open_nodes", "read_graph", "search_nodes"]);
		const write = await rawPost(
			key,
			{ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "create_entities", arguments: { entities: [] } } },
			{ "Mcp-Session-Id": id! },
		);
		expect(write.status).toBe(403);
		expect(write.headers.get("WWW-Authenticate")).toContain('scope="mcp:read mcp:write"');
		const keys = (
			(await (await admin("GET", `/tenants/${account.tenantId}/keys`)).json()) as {
				keys: { keyId: string; prefix: string; lastUsedAt: number | null }[];
			}
		).keys;
		expect(keys[0]).toMatchObject({ keyId, prefix: `smcp_${keyId}_…` });
	});

	it("a key works from a real SDK client, its calls are audited under key_<id>, and last use is recorded", async () => {
		const { account } = await signedIn();
		const { key, keyId } = await newKey(account.tenantId, account.userId, ["mcp:read", "mcp:write"]);
		const { client } = await connectMcp(key);
		await client.callTool({ name: "create_entities", arguments: { entities: [{ name: "ByKey", entityType: "t", observations: [] }] } });
		const rows = await runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)), (_o: TenantObject, s) =>
			s.storage.sql.exec<{ method: string; client_id: string }>("SELECT method, client_id FROM audit ORDER BY seq").toArray(),
		);
		expect(rows.map((r) => r.method)).toContain("auth/api_key_created");
		expect(rows.find((r) => r.method === "tools/call")!.client_id).toBe(`key_${keyId}`);
		const keys = ((await (await admin("GET", `/tenants/${account.tenantId}/keys`)).json()) as { keys: { lastUsedAt: number | null }[] })
			.keys;
		expect(keys[0]!.lastUsedAt).toBeGreaterThan(0);
	});

	it("the key is stored only as a hash (no KV value or tenant table contains it)", async () => {
		const { account } = await signedIn();
		const { key } = await newKey(account.tenantId, account.userId, ["mcp:read"]);
		// The 43-character secret (it may itself contain "_", so not a split on "_").
		const secretPart = API_KEY_PATTERN.exec(key)![2]!;
		expect(secretPart).toHaveLength(43);
		for (const ns of [testEnv.DIRECTORY_KV, testEnv.OAUTH_KV]) {
			const listed = await ns.list();
			for (const k of listed.keys) {
				expect(k.name).not.toContain(secretPart);
				expect((await ns.get(k.name)) ?? "").not.toContain(secretPart);
			}
		}
		const dump = await runInDurableObject(
			testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)),
			(_o: TenantObject, s) =>
				JSON.stringify(s.storage.sql.exec("SELECT * FROM api_keys").toArray()) +
				JSON.stringify(s.storage.sql.exec("SELECT * FROM audit").toArray()),
		);
		expect(dump).not.toContain(secretPart);
	});

	it("a revoked key → 401 at once, also on a session it already opened", async () => {
		const { account } = await signedIn();
		const { key, keyId } = await newKey(account.tenantId, account.userId, ["mcp:read"]);
		const { id } = await listTools(key);
		expect((await admin("DELETE", `/tenants/${account.tenantId}/keys/${keyId}`)).status).toBe(200);
		const after = await rawPost(key, { jsonrpc: "2.0", id: 5, method: "tools/list" }, { "Mcp-Session-Id": id! });
		expect(after.status).toBe(401);
	});

	it("a key the kernel knows is revoked (KV not yet told) opens no session: 401 invalid_token, never the session cap's 429", async () => {
		const { account } = await signedIn();
		const { key, keyId } = await newKey(account.tenantId, account.userId, ["mcp:read"]);
		const kernel = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId));
		await runInDurableObject(kernel, (_o: TenantObject, s) =>
			s.storage.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", Date.now(), keyId),
		);
		const res = await rawPost(key, INIT);
		expect(res.status).toBe(401);
		expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
		expect(res.headers.get("Mcp-Session-Id")).toBeNull();
	});

	it("an expired key → 401", async () => {
		const { account } = await signedIn();
		const { key } = await newKey(account.tenantId, account.userId, ["mcp:read"], 1);
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(Date.now() + 2 * 86_400_000);
		const res = await rawPost(key, INIT);
		vi.useRealTimers();
		expect(res.status).toBe(401);
	});

	it("malformed and unknown keys → 401", async () => {
		for (const bad of ["smcp_00000000_" + "A".repeat(43), "smcp_xyz", "smcp_00000000_" + "A".repeat(42) + "!"]) {
			expect((await rawPost(bad, INIT)).status).toBe(401);
		}
	});

	it("another tenant's key never sees this tenant's data", async () => {
		const a = await signedIn();
		const b = await signedIn();
		await (await connectMcp(a.tokens.access_token)).client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "OnlyA", entityType: "t", observations: [] }] },
		});
		const { key } = await newKey(b.account.tenantId, b.account.userId, ["mcp:read"]);
		const { client } = await connectMcp(key);
		expect((await client.callTool({ name: "search_nodes", arguments: { query: "OnlyA" } })).structuredContent).toEqual({
			entities: [],
			relations: [],
		});
	});

	it("a key cannot be created for someone who is not a member, or with unknown scopes", async () => {
		const a = await signedIn();
		const b = await signedIn();
		expect(
			(await admin("POST", `/tenants/${a.account.tenantId}/keys`, { userId: b.account.userId, name: "x", scopes: ["mcp:read"], days: 1 }))
				.status,
		).toBe(400);
		expect(
			(await admin("POST", `/tenants/${a.account.tenantId}/keys`, { userId: a.account.userId, name: "x", scopes: ["admin:all"], days: 1 }))
				.status,
		).toBe(400);
	});
});

describe("suspension, grants and memberships", () => {
	it("a suspended tenant's tokens and keys → 401; reactivated → accepted again", async () => {
		const { account, tokens } = await signedIn();
		const { key } = await newKey(account.tenantId, account.userId, ["mcp:read"]);
		expect((await admin("POST", `/tenants/${account.tenantId}/suspend`)).status).toBe(200);
		for (const bearer of [tokens.access_token, key]) {
			const res = await rawPost(bearer, INIT);
			expect(res.status).toBe(401);
			expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
		}
		// The kernel refuses too, even for a caller that got past the front door.
		const r = await testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)).callTool(
			{ tenantId: account.tenantId, userId: account.userId, clientId: tokens.clientId, scopes: ["mcp:read"] } as never,
			{ name: "read_graph", arguments: {}, lane: "streamable-http", protocolVersion: "2025-11-25", traceId: "t" },
		);
		expect((r as unknown as { ok: true; value: { result: { isError?: boolean } } }).value.result.isError).toBe(true);
		expect((await admin("POST", `/tenants/${account.tenantId}/reactivate`)).status).toBe(200);
		expect((await rawPost(tokens.access_token, INIT)).status).toBe(200);
	});

	it("revoking the grant mid-session → the next call on the live session → 401", async () => {
		const { account, tokens } = await signedIn();
		const { id } = await listTools(tokens.access_token);
		const grants = (await (await admin("GET", `/users/${account.userId}/grants`)).json()) as { items: { id: string; clientId: string }[] };
		const grant = grants.items.find((g) => g.clientId === tokens.clientId)!;
		expect((await admin("DELETE", `/users/${account.userId}/grants/${grant.id}`)).status).toBe(200);
		const res = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 9, method: "tools/list" }, { "Mcp-Session-Id": id! });
		expect(res.status).toBe(401);
	});

	it("the operator creates a user, adds them to a team tenant, resets their password", async () => {
		const owner = await signedIn();
		const created = await admin("POST", "/users", {
			email: `member-${crypto.randomUUID().slice(0, 6)}@example.test`,
			password: "first password 1",
		});
		expect(created.status).toBe(201);
		const user = (await created.json()) as { userId: string; email: string };
		const team = (await (await admin("POST", "/tenants", { name: "Team", ownerUserId: owner.account.userId })).json()) as { id: string };
		expect((await admin("POST", `/tenants/${team.id}/members`, { userId: user.userId, role: "member" })).status).toBe(200);
		// The listing pages through team tenants, then personal ones.
		const listed: { id: string; members: Record<string, string> }[] = [];
		for (let cursor = ""; ; ) {
			const page = (await (await admin("GET", `/tenants${cursor ? `?cursor=${cursor}` : ""}`)).json()) as {
				tenants: { id: string; members: Record<string, string> }[];
				cursor?: string;
			};
			listed.push(...page.tenants);
			if (!page.cursor) break;
			cursor = page.cursor;
		}
		expect(listed.find((t) => t.id === team.id)!.members).toEqual({ [owner.account.userId]: "owner", [user.userId]: "member" });
		expect((await admin("POST", `/users/${user.userId}/password`, { password: "short" })).status).toBe(400);
		expect((await admin("POST", `/users/${user.userId}/password`, { password: "second password 2" })).status).toBe(200);
	});

	it("the admin API refuses a wrong token and does not exist for unknown routes", async () => {
		const res = await selfFetch(`${ORIGIN}/admin/tenants`, { headers: { Authorization: "Bearer nope" } });
		expect(res.status).toBe(401);
		expect((await admin("GET", "/nothing-here")).status).toBe(404);
	});
});
