/**
 * TenantObject: isolation between tenants, scopes, atomicity, migrations, and the memory pack's
 * storage rules (bounds, search index). Scenarios trace to the attack catalog in docs/security.md §3, §5, §7.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { migrate } from "../../objects/migrations";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { TENANT_MIGRATIONS } from "../../objects/tenant/schema";
import { SESSION_CAP_SCHEMA_V2, sessionCapRefusal } from "../../objects/tenant/session-cap";
import { SESSIONS_SCHEMA_V1 } from "../../objects/tenant/sessions";
import type { ToolOutcome } from "../../shared/rpc/kernel";
import { MemoryStore } from "../../shared/catalog/packs/memory/store";
import { brandPrincipal } from "../../shared/rpc/principal";
import { connectMcp, connectSse, INIT, objectSession, ORIGIN, rawPost, selfFetch, signedIn, testEnv } from "./helpers";

const tenant = (id: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(id));
const principal = (tenantId: string, scopes = ["mcp:read", "mcp:write"]) =>
	brandPrincipal({ tenantId, userId: "u_test", clientId: "c_test", scopes });
/** The successful outcome of a kernel call (fails the test otherwise). */
function okValue(result: unknown): ToolOutcome {
	const r = result as { ok: true; value: ToolOutcome } | { ok: false; error: unknown };
	if (!r.ok) throw new Error(`kernel call failed: ${JSON.stringify(r.error)}`);
	return r.value;
}
const kernelCall = (name: string, args: Record<string, unknown>) => ({
	name,
	arguments: args,
	lane: "streamable-http" as const,
	protocolVersion: "2025-11-25",
	traceId: "t",
});

describe("tenant isolation", () => {
	it("a second tenant sees none of the first tenant's graph, on any lane", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const ca = (await connectMcp(a.tokens.access_token)).client;
		await ca.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "SecretProject", entityType: "project", observations: ["budget 1M"] }] },
		});
		const cb = (await connectMcp(b.tokens.access_token)).client;
		const graphB = await cb.callTool({ name: "read_graph", arguments: {} });
		expect(graphB.structuredContent).toEqual({ entities: [], relations: [] });
		const searchB = await cb.callTool({ name: "search_nodes", arguments: { query: "Secret" } });
		expect(searchB.structuredContent).toEqual({ entities: [], relations: [] });
		const sseB = (await connectSse(b.tokens.access_token)).client;
		expect((await sseB.callTool({ name: "open_nodes", arguments: { names: ["SecretProject"] } })).structuredContent).toEqual({
			entities: [],
			relations: [],
		});
		// A still has it.
		expect(((await ca.callTool({ name: "read_graph", arguments: {} })).structuredContent as { entities: unknown[] }).entities).toHaveLength(
			1,
		);
	});

	it("the same tenant's data is shared across sessions, clients and the SSE lane", async () => {
		const a = await signedIn();
		const c1 = (await connectMcp(a.tokens.access_token)).client;
		await c1.callTool({ name: "create_entities", arguments: { entities: [{ name: "Shared", entityType: "t", observations: [] }] } });
		const sse = (await connectSse(a.tokens.access_token)).client;
		const r = await sse.callTool({ name: "open_nodes", arguments: { names: ["Shared"] } });
		expect((r.structuredContent as { entities: { name: string }[] }).entities[0]!.name).toBe("Shared");
	});
});

describe("scopes", () => {
	it("a read-only token calling a write tool gets 403 insufficient_scope with the scope to ask for", async () => {
		const { tokens } = await signedIn({ scope: ["mcp:read"] });
		const init = await rawPost(tokens.access_token, INIT);
		const id = init.headers.get("Mcp-Session-Id")!;
		const res = await rawPost(
			tokens.access_token,
			{ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "delete_entities", arguments: { entityNames: ["x"] } } },
			{ "Mcp-Session-Id": id },
		);
		expect(res.status).toBe(403);
		const challenge = res.headers.get("WWW-Authenticate")!;
		expect(challenge).toContain('error="insufficient_scope"');
		expect(challenge).toContain("mcp:write");
		expect(challenge).toContain("resource_metadata=");
	});

	it("a read-only API key calling a write tool is told the key is read-only and how to get write access (bare insufficient_scope)", async () => {
		const { account } = await signedIn();
		const made = await selfFetch(`${ORIGIN}/admin/tenants/${account.tenantId}/keys`, {
			method: "POST",
			headers: { Authorization: "Bearer test-admin-token-0123456789abcdef0123456789", "Content-Type": "application/json" },
			body: JSON.stringify({ userId: account.userId, name: "ro", scopes: ["mcp:read"], days: 1 }),
		});
		const { key } = (await made.json()) as { key: string };
		const id = (await rawPost(key, INIT)).headers.get("Mcp-Session-Id")!;
		const res = await rawPost(
			key,
			{ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "delete_entities", arguments: { entityNames: ["x"] } } },
			{ "Mcp-Session-Id": id },
		);
		expect(res.status).toBe(403);
		const body = (await res.json()) as { error: string; error_description: string };
		expect(body.error).toBe("insufficient_scope");
		expect(body.error_description).toContain("delete_entities needs the mcp:write scope");
		expect(body.error_description).toContain("read-only");
		expect(body.error_description).toContain("/account");
		expect(res.headers.get("WWW-Authenticate")).toContain("error_description=");
	});

	it("tools/list shows only the tools the token may call", async () => {
		const { tokens } = await signedIn({ scope: ["mcp:read"] });
		const { client } = await connectMcp(tokens.access_token);
		const names = (await client.listTools()).tools.map((t) => t.name).sort();
		expect(names).toEqual(["audit_log", "export_graph", "open_nodes", "read_graph", "search_nodes"]);
	});

	it("the person can grant fewer scopes than the client asked for", async () => {
		const { tokens } = await signedIn({ scope: ["mcp:read", "mcp:write"], grant: ["mcp:read"] });
		expect(tokens.scope).toBe("mcp:read");
	});

	it("the kernel refuses a write for a principal without mcp:write even if the front door is bypassed", async () => {
		const r = await tenant("t_scopecheck").callTool(
			principal("t_scopecheck", ["mcp:read"]),
			kernelCall("create_entities", { entities: [] }),
		);
		expect(r).toEqual({ ok: false, error: { reason: "insufficient_scope", tool: "create_entities", needed: "mcp:write" } });
	});

	it("a principal of another tenant routed to this tenant's kernel is refused (mis-routing), nothing runs", async () => {
		const victim = tenant("t_victim_kernel");
		const r = await victim.callTool(principal("t_attacker_kernel"), kernelCall("read_graph", {}));
		expect(r).toEqual({ ok: false, error: { reason: "internal", where: "kernel", detail: "invalid principal" } });
	});

	it("the kernel refuses a malformed principal handed over RPC", async () => {
		const r = await tenant("t_bad").callTool(
			{ tenantId: "t bad", userId: "u", clientId: "c", scopes: [] } as never,
			kernelCall("read_graph", {}),
		);
		expect(r).toEqual({ ok: false, error: { reason: "internal", where: "kernel", detail: "invalid principal" } });
	});

	it("the RPC entries of hosted calls, tasks, tool watchers and revocation refuse a malformed or mis-routed principal", async () => {
		const t = tenant("t_entries");
		const bad = { tenantId: "t bad", userId: "u", clientId: "c", scopes: [] } as never;
		const badGrant = { tenantId: "t_entries", userId: "u_test", clientId: "c_test", scopes: [], grantId: "g bad" } as never;
		const foreign = principal("t_other_entries");
		const call = kernelCall("app__tool", {});
		for (const p of [bad, badGrant, foreign]) {
			expect(await t.beginAppCall(p, call)).toEqual({
				ok: false,
				error: { reason: "internal", where: "kernel", detail: "invalid principal" },
			});
			expect(await t.getTask(p, "task_x")).toBeNull();
			expect(await t.listTasks(p)).toEqual({ tasks: [] });
			expect(await t.appStorage(p, "ticket", { op: "get", key: "k" } as never)).toEqual({ ok: false, error: "storage is not available" });
		}
		// A grant of a malformed user or of no valid id is not recorded, and ends no session.
		const actor = { tenantId: "t_entries", userId: "u_test", clientId: "account-page" };
		expect(await t.revokeGrant(actor, { grantId: "g_1", userId: "u bad", clientId: "c_test" })).toEqual({ closedSessions: 0 });
		expect(await t.revokeGrant(actor, { grantId: "g 1", userId: "u_test", clientId: "c_test" })).toEqual({ closedSessions: 0 });
		expect(await t.refreshStanding("g_1")).toEqual({ ok: true, value: true });
	});

	it("a SessionObject's deliver refuses a malformed principal with the owner's ids; end takes only the owner's session", async () => {
		const { account, tokens } = await signedIn();
		const sessionId = await objectSession(tokens.access_token);
		const s = testEnv.SESSIONS.get(testEnv.SESSIONS.idFromName(sessionId));
		const ids = { tenantId: account.tenantId, userId: account.userId, clientId: tokens.clientId };
		expect(await s.deliver({ ...ids, scopes: "mcp:write" } as never, sessionId, null)).toBe(false);
		expect(await s.deliver(brandPrincipal({ ...ids, scopes: ["mcp:read"] }), sessionId, null)).toBe(true);
		expect(await s.end({ ...ids, clientId: "another-client" } as never, sessionId)).toBe(false);
		expect(await s.end(ids as never, sessionId)).toBe(true);
		expect(await s.deliver(brandPrincipal({ ...ids, scopes: ["mcp:read"] }), sessionId, null)).toBe(false);
	});
});

describe("atomicity and bounds", () => {
	it("a tool that fails half-way leaves no state change (add_observations with one missing entity)", async () => {
		const t = tenant("t_atomic");
		const p = principal("t_atomic");
		await t.callTool(p, kernelCall("create_entities", { entities: [{ name: "A", entityType: "x", observations: [] }] }));
		const r = await t.callTool(
			p,
			kernelCall("add_observations", {
				observations: [
					{ entityName: "A", contents: ["first"] },
					{ entityName: "Missing", contents: ["second"] },
				],
			}),
		);
		expect(okValue(r).result.isError).toBe(true);
		expect(okValue(r).result.content[0]!.text).toBe("Entity with name Missing not found");
		const graph = await t.callTool(p, kernelCall("read_graph", {}));
		expect(okValue(graph).result.structuredContent).toEqual({
			entities: [{ name: "A", entityType: "x", observations: [] }],
			relations: [],
		});
	});

	it("inputs over the bounds are refused with a tool error that names the limit", async () => {
		const t = tenant("t_bounds");
		const p = principal("t_bounds");
		const tooMany = Array.from({ length: 1001 }, (_, i) => ({ name: `n${i}`, entityType: "x", observations: [] }));
		const r1 = await t.callTool(p, kernelCall("create_entities", { entities: tooMany }));
		expect(okValue(r1).result.isError).toBe(true);
		expect(okValue(r1).result.content[0]!.text).toMatch(/entities: .*1000/);
		const r2 = await t.callTool(p, kernelCall("add_observations", { observations: [{ entityName: "x", contents: ["y".repeat(20_000)] }] }));
		expect(okValue(r2).result.content[0]!.text).toMatch(/observations\.0\.contents\.0: .*16384/);
	});

	it("search_nodes uses the trigram index, and short queries still match like the reference", async () => {
		const t = tenant("t_search");
		const p = principal("t_search");
		await t.callTool(
			p,
			kernelCall("create_entities", {
				entities: [
					{ name: "Grace Hopper", entityType: "Person", observations: ["invented the compiler"] },
					{ name: "COBOL", entityType: "language", observations: [] },
				],
			}),
		);
		await t.callTool(p, kernelCall("create_relations", { relations: [{ from: "Grace Hopper", to: "COBOL", relationType: "designed" }] }));
		const r = await t.callTool(p, kernelCall("search_nodes", { query: "COMPILER" }));
		expect(okValue(r).result.structuredContent).toEqual({
			entities: [{ name: "Grace Hopper", entityType: "Person", observations: ["invented the compiler"] }],
			relations: [{ from: "Grace Hopper", to: "COBOL", relationType: "designed" }],
		});
		const short = await t.callTool(p, kernelCall("search_nodes", { query: "ol" }));
		expect((okValue(short).result.structuredContent as { entities: { name: string }[] }).entities.map((e) => e.name)).toEqual(["COBOL"]);
		const plan = await runInDurableObject(t, (_o: TenantObject, state) =>
			state.storage.sql
				.exec("EXPLAIN QUERY PLAN SELECT rowid FROM mem_search WHERE mem_search MATCH ?", '"compiler"')
				.toArray()
				.map((r) => String(r.detail)),
		);
		expect(plan.join(" ")).toMatch(/VIRTUAL TABLE INDEX/);
	});

	it("a deleted entity disappears from search, and its relations go with it", async () => {
		const t = tenant("t_delete");
		const p = principal("t_delete");
		await t.callTool(
			p,
			kernelCall("create_entities", {
				entities: [
					{ name: "Alpha", entityType: "x", observations: ["findable text"] },
					{ name: "Beta", entityType: "x", observations: [] },
				],
			}),
		);
		await t.callTool(p, kernelCall("create_relations", { relations: [{ from: "Beta", to: "Alpha", relationType: "knows" }] }));
		await t.callTool(p, kernelCall("delete_entities", { entityNames: ["Alpha"] }));
		const r = await t.callTool(p, kernelCall("search_nodes", { query: "findable" }));
		expect(okValue(r).result.structuredContent).toEqual({ entities: [], relations: [] });
		const g = await t.callTool(p, kernelCall("read_graph", {}));
		expect(okValue(g).result.structuredContent).toEqual({ entities: [{ name: "Beta", entityType: "x", observations: [] }], relations: [] });
	});
});

/** A migrated session row's identity columns, with the defaults of an SSE row. */
const base = (session_id: string, kind: string, client_id: string, grant_id: string | null) => ({
	session_id,
	kind,
	user_id: "u_test",
	client_id,
	grant_id,
	protocol_version: "2024-11-05",
	init: null,
	has_object: 0,
});

describe("schema migrations", () => {
	it("run once; re-instantiation is a no-op; an edited historical migration is detected", async () => {
		const t = tenant("t_migrations");
		await t.callTool(principal("t_migrations"), kernelCall("read_graph", {}));
		await runInDurableObject(t, (_o: TenantObject, state) => {
			expect(state.storage.sql.exec("SELECT id FROM _migrations").toArray()).toEqual(TENANT_MIGRATIONS.map((m) => ({ id: m.id })));
			expect(migrate(state.storage, TENANT_MIGRATIONS)).toEqual([]);
			const edited = [{ ...TENANT_MIGRATIONS[0]!, sql: TENANT_MIGRATIONS[0]!.sql + "\n-- edited" }];
			expect(() => migrate(state.storage, edited)).toThrow(/changed after it was applied/);
			const next = TENANT_MIGRATIONS.length + 1;
			const v2 = [...TENANT_MIGRATIONS, { id: next, name: "probe", sql: "CREATE TABLE probe_v2 (x INTEGER)" }];
			expect(migrate(state.storage, v2)).toEqual([next]);
			expect(migrate(state.storage, v2)).toEqual([]);
			expect(() => migrate(state.storage, TENANT_MIGRATIONS)).toThrow(/older version was deployed/);
		});
	});

	it("migration 14: a tenant with rows in the session registry and the cap's slots moves to one session table with nothing lost", async () => {
		const id = `t_${crypto.randomUUID().replaceAll("-", "")}`;
		const t = tenant(id);
		const p = brandPrincipal({ tenantId: id, userId: "u_test", clientId: "c_test", scopes: ["mcp:read"], grantId: "g_one" });
		await t.callTool(p, kernelCall("read_graph", {}));
		const init = JSON.stringify({ ...INIT, id: 1 });
		const now = Date.now();
		// Put the storage back as the build before this one left it (migrations 3, 8 and 12), with rows in both tables.
		await runInDurableObject(t, (_o: TenantObject, state) => {
			const sql = state.storage.sql;
			sql.exec("DROP TABLE sessions");
			sql.exec("CREATE TABLE live_sessions (session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL)");
			sql.exec("CREATE INDEX live_sessions_user ON live_sessions (user_id, created_at)");
			// A slot from before slots named their client and grant (migration 12 added the columns).
			sql.exec("INSERT INTO live_sessions (session_id, user_id, created_at) VALUES ('s_legacy', 'u_test', ?)", now - 120_000);
			sql.exec(SESSIONS_SCHEMA_V1);
			sql.exec(SESSION_CAP_SCHEMA_V2);
			sql.exec("DELETE FROM _migrations WHERE id >= 14");
			const register = "INSERT INTO sessions VALUES (?, 'u_test', 'c_test', '2025-06-18', ?, ?, ?, ?)";
			const slot = "INSERT INTO live_sessions (session_id, user_id, client_id, grant_id, created_at) VALUES (?, 'u_test', 'c_test', ?, ?)";
			// A Streamable HTTP session with its slot, a 2024-11-05 SSE session (a slot alone), and a
			// registered session whose slot a revocation already freed.
			sql.exec(register, "s_http", init, now - 60_000, now - 1_000, 1);
			sql.exec(slot, "s_http", "g_one", now - 60_000);
			sql.exec(slot, "s_sse", "g_one", now - 30_000);
			sql.exec(register, "s_freed", init, now - 600_000, now - 5_000, 0);
		});
		await evictDurableObject(t);
		await t.callTool(p, kernelCall("read_graph", {}));
		const after = await runInDurableObject(t, (_o: TenantObject, state) => {
			const sql = state.storage.sql;
			return {
				applied: sql.exec("SELECT MAX(id) AS id FROM _migrations").one().id,
				tables: sql
					.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('sessions', 'live_sessions')")
					.toArray()
					.map((r) => r.name),
				rows: sql.exec("SELECT * FROM sessions ORDER BY session_id").toArray(),
				// The cap counts the rows that hold a slot: the HTTP and SSE sessions, not the freed one.
				atTwo: sessionCapRefusal(sql, { maxSessionsPerUser: 10, maxSessionsPerClient: 2, sessionTtlMs: 86_400_000 }, p, Date.now()),
				atThree: sessionCapRefusal(sql, { maxSessionsPerUser: 10, maxSessionsPerClient: 3, sessionTtlMs: 86_400_000 }, p, Date.now()),
			};
		});
		expect(after.applied).toBe(TENANT_MIGRATIONS.length);
		expect(after.tables).toEqual(["sessions"]);
		const freed = after.rows.find((r) => r.session_id === "s_freed");
		// Dated an hour back at least, so that it holds no slot again; everything else as it was.
		expect(Number(freed?.created_at)).toBeLessThanOrEqual(now - 3_600_000 + 1_000);
		expect(after.rows).toEqual([
			{
				...base("s_freed", "streamable", "c_test", null),
				protocol_version: "2025-06-18",
				init,
				created_at: freed?.created_at,
				last_seen: now - 5_000,
			},
			{
				...base("s_http", "streamable", "c_test", "g_one"),
				protocol_version: "2025-06-18",
				init,
				created_at: now - 60_000,
				last_seen: now - 1_000,
				has_object: 1,
			},
			{ ...base("s_legacy", "sse", "", null), created_at: now - 120_000, last_seen: now - 120_000, has_object: 1 },
			{ ...base("s_sse", "sse", "c_test", "g_one"), created_at: now - 30_000, last_seen: now - 30_000, has_object: 1 },
		]);
		expect(after.atTwo).not.toBeNull();
		expect(after.atThree).toBeNull();
		// The registered sessions answer as before; the SSE one has no stored state to give.
		expect(await t.sessionState(p, "s_http", "peek")).toEqual({
			protocolVersion: "2025-06-18",
			createdAt: now - 60_000,
			lastSeen: now - 1_000,
			hasObject: true,
		});
		expect(await t.sessionState(p, "s_freed", "adopt")).toMatchObject({ protocolVersion: "2025-06-18", init, hasObject: true });
		expect(await t.sessionState(p, "s_sse", "peek")).toBeNull();
		// Revoking the grant ends the sessions it opened (and those opened before rows named their grant).
		await t.revokeGrant(
			{ tenantId: id, userId: "operator", clientId: "admin-api" },
			{ grantId: "g_one", userId: "u_test", clientId: "c_test" },
		);
		const left = await runInDurableObject(t, (_o: TenantObject, state) =>
			state.storage.sql
				.exec<{ session_id: string }>("SELECT session_id FROM sessions")
				.toArray()
				.map((r) => r.session_id),
		);
		expect(left).toEqual(["s_legacy"]);
	});
});

describe("search index upkeep", () => {
	it("a bulk import compacts the search index into one segment, and search answers the same before and after", async () => {
		const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(`t_${crypto.randomUUID().replaceAll("-", "")}`));
		await runInDurableObject(stub, (_o: TenantObject, state) => {
			const sql = state.storage.sql;
			// The per-storage change count relies on the handle being one object per storage.
			expect(state.storage.sql).toBe(sql);
			const store = new MemoryStore(sql);
			const segments = () => Number(sql.exec("SELECT COUNT(DISTINCT segid) AS n FROM mem_search_idx").one().n);
			// 500 entities with 2 observations: 1,500 search rows per batch, each batch its own transaction.
			const batch = (b: number) =>
				Array.from({ length: 500 }, (_, i) => ({
					name: `e-${b}-${i}`,
					entityType: "bulk",
					observations: [`note topic-${String(i % 100).padStart(3, "0")}`, `item ${b * 500 + i}`],
				}));
			for (let b = 0; b < 3; b++) state.storage.transactionSync(() => store.createEntities(batch(b)));
			expect(segments()).toBeGreaterThan(1);
			const names = (q: string) =>
				store
					.searchNodes(q)
					.entities.map((e) => e.name)
					.sort();
			const before = names("topic-007");
			expect(before).toHaveLength(15);
			// The fourth batch passes 5,000 changed rows: the write compacts the index.
			state.storage.transactionSync(() => store.createEntities(batch(3)));
			expect(segments()).toBe(1);
			expect(names("topic-007")).toEqual([...before, "e-3-107", "e-3-207", "e-3-307", "e-3-407", "e-3-7"].sort());
			expect(names("item 1999")).toEqual(["e-3-499"]);
		});
	});
});

describe("search_nodes semantics", () => {
	it("finds exactly the entities whose name, type or an observation contains the text (case-insensitive), with quotes, emoji and near misses", async () => {
		const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(`t_${crypto.randomUUID().replaceAll("-", "")}`));
		await runInDurableObject(stub, (_o: TenantObject, state) => {
			const store = new MemoryStore(state.storage.sql);
			state.storage.transactionSync(() =>
				store.createEntities([
					{ name: "A", entityType: "t", observations: ["topic-0123 here"] },
					// Every covering trigram of "topic-0123", but not the text itself.
					{ name: "B", entityType: "t", observations: ["top ic- 012 123"] },
					{ name: "C", entityType: "TOPIC-0123", observations: [] },
					{ name: 'say "hi" OR NOT', entityType: "q", observations: [] },
					{ name: "globe", entityType: "e", observations: ["🌍 earth"] },
				]),
			);
			const names = (q: string) =>
				store
					.searchNodes(q)
					.entities.map((e) => e.name)
					.sort();
			expect(names("topic-0123")).toEqual(["A", "C"]);
			expect(names('"hi" OR')).toEqual(['say "hi" OR NOT']);
			expect(names("🌍 e")).toEqual(["globe"]);
			expect(names("ic- 012")).toEqual(["B"]);
		});
	});
});
