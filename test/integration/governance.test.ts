/**
 * Governance: rate limits, the live-session cap, the hash-chained audit trail (tenant and operator
 * access, atomicity, tamper detection, retention) and secret-free logs.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TenantObject as TenantObjectClass, type TenantObject } from "../../objects/tenant/tenant-object";
import { AUDIT_PAGE_SQL, AUDIT_PRUNE_PROBE_SQL, AuditStore, auditQuerySql, type AuditQuery } from "../../shared/audit/store";
import type { ToolOutcome } from "../../shared/rpc/kernel";
import { brandPrincipal } from "../../shared/rpc/principal";
import { ToolError } from "../../shared/errors";
import { catalogFor } from "../../shared/catalog/packs";

const registry = catalogFor({}).tools;
import { connectMcp, INIT, ORIGIN, rawPost, selfFetch, signedIn, testEnv } from "./helpers";

const ADMIN = "test-admin-token-0123456789abcdef0123456789";
const tenantStub = (id: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(id));
const tid = () => `t_${crypto.randomUUID().replaceAll("-", "")}`;
const principal = (tenantId: string, clientId = "c1", scopes = ["mcp:read", "mcp:write"]) =>
	brandPrincipal({ tenantId, userId: "u_1", clientId, scopes });
const call = (name: string, args: Record<string, unknown>) => ({
	name,
	arguments: args,
	lane: "streamable-http" as const,
	protocolVersion: "2025-11-25",
	traceId: "trace-1",
});
const value = (r: unknown) => {
	const x = r as { ok: boolean; value: ToolOutcome; error: unknown };
	if (!x.ok) throw new Error(JSON.stringify(x.error));
	return x.value;
};
const entity = (name: string) => ({ entities: [{ name, entityType: "t", observations: [] }] });
const auditRows = (stub: DurableObjectStub<TenantObject>) =>
	runInDurableObject(stub, (_o: TenantObject, s) =>
		s.storage.sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM audit ORDER BY seq").toArray(),
	);

describe("rate limits", () => {
	it("a burst past the write budget gets a tool error with retry-after, is audited, and succeeds after the refill", async () => {
		const t = tidStub();
		const p = principal(t.id);
		const results: ToolOutcome[] = [];
		for (let i = 0; i < 10; i++) results.push(value(await t.stub.callTool(p, call("create_entities", entity(`E${i}`)))));
		const limited = results.filter((r) => r.result.isError);
		expect(limited.length).toBe(2); // capacity 8 in the test configuration
		const retry = limited[0]!.result._meta!["io.smcp/retryAfterSeconds"] as number;
		expect(retry).toBeGreaterThanOrEqual(1);
		expect(limited[0]!.result.content[0]!.text).toMatch(/retry in \d+ seconds/);
		// Not executed: E8 and E9 do not exist.
		const graph = value(await t.stub.callTool(p, call("open_nodes", { names: ["E8", "E9"] })));
		expect(graph.result.structuredContent).toEqual({ entities: [], relations: [] });
		const rows = await auditRows(t.stub);
		// Two refusals, one aggregated row: refusals write at most one row per window (objects/tenant/budget.ts).
		expect(rows.filter((r) => r.decision === "rate_limited")).toHaveLength(1);
		await new Promise((r) => setTimeout(r, retry * 1000));
		expect(value(await t.stub.callTool(p, call("create_entities", entity("after-refill")))).result.isError).toBeUndefined();
	});

	it("another tenant, and another client of the same user, are unaffected by one client's burst", async () => {
		const a = tidStub();
		const b = tidStub();
		const burst = Array.from({ length: 12 }, (_, i) => a.stub.callTool(principal(a.id), call("create_entities", entity(`A${i}`))));
		const others = [
			...Array.from({ length: 5 }, (_, i) => b.stub.callTool(principal(b.id), call("create_entities", entity(`B${i}`)))),
			...Array.from({ length: 5 }, (_, i) => a.stub.callTool(principal(a.id, "c2"), call("create_entities", entity(`C${i}`)))),
		];
		const [ra, rb] = await Promise.all([Promise.all(burst), Promise.all(others)]);
		expect(ra.map(value).filter((r) => r.result.isError).length).toBeGreaterThan(0);
		expect(rb.map(value).every((r) => !r.result.isError)).toBe(true);
	});

	it("over the live-session cap, initialize gets 429 with Retry-After; closing a session frees a slot", async () => {
		const { tokens } = await signedIn();
		const ids: string[] = [];
		// One client's share of the cap (SMCP_MAX_SESSIONS_PER_CLIENT in the test bindings).
		for (let i = 0; i < Number(testEnv.SMCP_MAX_SESSIONS_PER_CLIENT); i++) {
			const res = await rawPost(tokens.access_token, INIT);
			expect(res.status).toBe(200);
			ids.push(res.headers.get("Mcp-Session-Id")!);
		}
		const over = await rawPost(tokens.access_token, INIT);
		expect(over.status).toBe(429);
		expect(Number(over.headers.get("Retry-After"))).toBeGreaterThan(0);
		await selfFetch(`${ORIGIN}/mcp`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${tokens.access_token}`, "Mcp-Session-Id": ids[0]! },
		});
		expect((await rawPost(tokens.access_token, INIT)).status).toBe(200);
	});
});

describe("audit trail", () => {
	it("records every MCP request of a session with lane, revision, method and decision; arguments only as a digest", async () => {
		const { account, tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		await client.listTools();
		await client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "Private name", entityType: "secret", observations: ["do not log me"] }] },
		});
		await client.readResource({ uri: "smcp://audit-log?limit=5" });
		await client.close();
		const rows = await auditRows(tenantStub(account.tenantId));
		const methods = rows.map((r) => r.method);
		expect(methods).toEqual(
			expect.arrayContaining(["auth/consent", "auth/token", "initialize", "tools/list", "tools/call", "resources/read"]),
		);
		const toolRow = rows.find((r) => r.tool === "create_entities")!;
		expect(toolRow).toMatchObject({
			lane: "streamable-http",
			protocol: "2025-11-25",
			decision: "allowed",
			client_id: tokens.clientId,
			user_id: account.userId,
		});
		expect(toolRow.args_digest).toMatch(/^[0-9a-f]{64}$/);
		expect(JSON.stringify(rows)).not.toContain("do not log me");
		expect(JSON.stringify(rows)).not.toContain("Private name");
	});

	it("audit_log shows the tenant its own rows only, newest first, filtered and paginated", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const ca = (await connectMcp(a.tokens.access_token)).client;
		for (let i = 0; i < 3; i++) await ca.callTool({ name: "create_entities", arguments: entity(`N${i}`) });
		const page1 = (await ca.callTool({ name: "audit_log", arguments: { tool: "create_entities", limit: 2 } })).structuredContent as {
			entries: { seq: number; tool: string; user: string }[];
			nextCursor: string;
		};
		expect(page1.entries).toHaveLength(2);
		expect(page1.entries[0]!.seq).toBeGreaterThan(page1.entries[1]!.seq);
		expect(page1.entries.every((e) => e.tool === "create_entities" && e.user === a.account.userId)).toBe(true);
		const page2 = (await ca.callTool({ name: "audit_log", arguments: { tool: "create_entities", limit: 2, cursor: page1.nextCursor } }))
			.structuredContent as { entries: unknown[]; nextCursor: string | null };
		expect(page2.entries).toHaveLength(1);
		expect(page2.nextCursor).toBeNull();
		const cb = (await connectMcp(b.tokens.access_token)).client;
		const seenByB = (await cb.callTool({ name: "audit_log", arguments: { limit: 100 } })).structuredContent as {
			entries: { user: string }[];
		};
		expect(seenByB.entries.every((e) => e.user === b.account.userId)).toBe(true);
	});

	it("a write denied for scope is audited as denied", async () => {
		const { account, tokens } = await signedIn({ scope: ["mcp:read"] });
		const init = await rawPost(tokens.access_token, INIT);
		const res = await rawPost(
			tokens.access_token,
			{ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "create_entities", arguments: entity("x") } },
			{ "Mcp-Session-Id": init.headers.get("Mcp-Session-Id")! },
		);
		expect(res.status).toBe(403);
		const rows = await auditRows(tenantStub(account.tenantId));
		expect(rows.find((r) => r.tool === "create_entities")).toMatchObject({ decision: "denied", outcome: "insufficient_scope:mcp:write" });
	});

	it("a failed sign-in on an existing account is audited in that account's tenant", async () => {
		const { account } = await signedIn();
		const { obtainTokens } = await import("../support/oauth-flow");
		await expect(obtainTokens({ fetch: selfFetch, origin: ORIGIN, email: account.email, password: "wrong password!!" })).rejects.toThrow();
		const rows = await auditRows(tenantStub(account.tenantId));
		expect(rows.find((r) => r.method === "auth/sign_in")).toMatchObject({ decision: "denied", outcome: "wrong_password" });
	});

	it("a tool that throws after writing leaves no state change and an error row, never an allowed row", async () => {
		const t = tidStub();
		const boom = {
			...registry.get("create_entities")!,
			handler: (ctx: { sql: SqlStorage }) => {
				ctx.sql.exec("INSERT INTO mem_entities (name, entity_type) VALUES ('half', 'written')");
				throw new ToolError("failed after writing");
			},
		};
		const spy = vi.spyOn(registry, "get").mockImplementation((name) => (name === "create_entities" ? (boom as never) : undefined));
		try {
			const r = value(await t.stub.callTool(principal(t.id), call("create_entities", entity("x"))));
			expect(r.result.isError).toBe(true);
		} finally {
			spy.mockRestore();
		}
		await runInDurableObject(t.stub, (_o: TenantObject, s) => {
			expect(s.storage.sql.exec("SELECT COUNT(*) AS n FROM mem_entities").one().n).toBe(0);
			const rows = s.storage.sql.exec<{ decision: string; outcome: string }>("SELECT decision, outcome FROM audit").toArray();
			expect(rows).toEqual([{ decision: "error", outcome: "tool_error" }]);
		});
	});
});

describe("tamper evidence and retention", () => {
	async function seeded() {
		const t = tidStub();
		for (let i = 0; i < 5; i++) await t.stub.callTool(principal(t.id), call("read_graph", {}));
		expect(await t.stub.verifyAudit()).toEqual({ ok: true, checked: 5 });
		return t;
	}

	it("chain verification detects an edited row", async () => {
		const t = await seeded();
		await runInDurableObject(t.stub, (_o: TenantObject, s) => s.storage.sql.exec("UPDATE audit SET decision = 'denied' WHERE seq = 3"));
		expect(await t.stub.verifyAudit()).toMatchObject({ ok: false, seq: 3, reason: "hash_mismatch" });
	});

	it("chain verification detects a deleted row", async () => {
		const t = await seeded();
		await runInDurableObject(t.stub, (_o: TenantObject, s) => s.storage.sql.exec("DELETE FROM audit WHERE seq = 2"));
		expect(await t.stub.verifyAudit()).toMatchObject({ ok: false, seq: 3 });
	});

	it("chain verification detects reordered rows", async () => {
		const t = await seeded();
		await runInDurableObject(t.stub, (_o: TenantObject, s) => {
			s.storage.sql.exec("UPDATE audit SET seq = 100 WHERE seq = 2");
			s.storage.sql.exec("UPDATE audit SET seq = 2 WHERE seq = 4");
			s.storage.sql.exec("UPDATE audit SET seq = 4 WHERE seq = 100");
		});
		expect(await t.stub.verifyAudit()).toMatchObject({ ok: false, seq: 2 });
	});

	it("the retention alarm prunes old rows once, keeps an anchor, and the chain still verifies", async () => {
		const t = await seeded();
		await runInDurableObject(t.stub, (_o: TenantObject, s) => s.storage.sql.exec("UPDATE audit SET ts = 0 WHERE seq <= 3"));
		// Rows 1-3 now look 56 years old; the alarm is at-least-once, so run it twice.
		await runInDurableObject(t.stub, (_o: TenantObject, s) => s.storage.setAlarm(Date.now()));
		expect(await runDurableObjectAlarm(t.stub)).toBe(true);
		await runInDurableObject(t.stub, (_o: TenantObject, s) => s.storage.setAlarm(Date.now()));
		await runDurableObjectAlarm(t.stub);
		const rows = await auditRows(t.stub);
		expect(rows.map((r) => r.seq)).toEqual([4, 5]);
		const exported = await t.stub.exportAudit(0, 100);
		expect(exported.anchor?.seq).toBe(3);
		expect(await t.stub.verifyAudit()).toEqual({ ok: true, checked: 2 });
	});
});

describe("operator admin API", () => {
	const admin = (path: string, token = ADMIN) => selfFetch(`${ORIGIN}${path}`, { headers: { Authorization: `Bearer ${token}` } });

	it("refuses a wrong admin token with 401 and exports and verifies with the right one", async () => {
		const { account, tokens } = await signedIn();
		await (await connectMcp(tokens.access_token)).client.callTool({ name: "read_graph", arguments: {} });
		expect((await admin(`/admin/tenants/${account.tenantId}/audit`, "x".repeat(43))).status).toBe(401);
		expect((await selfFetch(`${ORIGIN}/admin/tenants/${account.tenantId}/audit`)).status).toBe(401);
		const res = await admin(`/admin/tenants/${account.tenantId}/audit?limit=1000`);
		expect(res.headers.get("Content-Type")).toBe("application/x-ndjson");
		const lines = (await res.text())
			.trim()
			.split("\n")
			.map((l) => JSON.parse(l));
		expect(lines[0]).toEqual({ anchor: null });
		expect(lines.slice(1).map((r) => r.method)).toContain("tools/call");
		expect(await (await admin(`/admin/tenants/${account.tenantId}/audit/verify`)).json()).toMatchObject({ ok: true });
		expect((await admin(`/admin/tenants/not-a-tenant/audit`)).status).toBe(404);
	});
});

describe("logs", () => {
	afterEach(() => vi.restoreAllMocks());

	it("log lines are JSON and never contain the bearer token, refresh token, password or code", async () => {
		const lines: string[] = [];
		for (const level of ["log", "warn", "error", "info"] as const)
			vi.spyOn(console, level).mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
		const { account, tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		await client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "LogSecretEntity", entityType: "x", observations: ["argument value"] }] },
		});
		await client.close();
		vi.restoreAllMocks();
		const text = lines.join("\n");
		expect(lines.length).toBeGreaterThan(5);
		for (const secret of [tokens.access_token, tokens.refresh_token!, account.password, "argument value", "LogSecretEntity"])
			expect(text).not.toContain(secret);
		const json = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
		expect(
			json.some(
				(l) => l.event === "tool.call" && l.tool === "create_entities" && l.decision === "allowed" && l.tenant === account.tenantId,
			),
		).toBe(true);
		expect(
			json.some(
				(l) => l.event === "http.request" && l.method === "tools/call" && l.tenant === account.tenantId && typeof l.ms === "number",
			),
		).toBe(true);
	});
});

function tidStub() {
	const id = tid();
	return { id, stub: tenantStub(id) };
}

describe("explicit handles (audit_log cursor)", () => {
	afterEach(() => vi.useRealTimers());
	const page = (stub: DurableObjectStub<TenantObject>, p: ReturnType<typeof principal>, args: Record<string, unknown>) =>
		stub.callTool(p, call("audit_log", args)).then(value);

	async function withCursor() {
		const t = tidStub();
		for (let i = 0; i < 4; i++) await t.stub.callTool(principal(t.id), call("read_graph", {}));
		const first = await page(t.stub, principal(t.id), { limit: 2 });
		const cursor = (first.result.structuredContent as { nextCursor: string }).nextCursor;
		expect(cursor).toMatch(/^h_[0-9a-f]{32}$/);
		return { t, cursor };
	}

	it("a cursor works for the client it was minted for", async () => {
		const { t, cursor } = await withCursor();
		const next = await page(t.stub, principal(t.id), { limit: 2, cursor });
		expect(next.result.isError).toBeUndefined();
		expect((next.result.structuredContent as { entries: unknown[] }).entries).toHaveLength(2);
	});

	it("another client's cursor is refused and the refusal is audited as denied (state-handle hijacking)", async () => {
		const { t, cursor } = await withCursor();
		const r = await page(t.stub, principal(t.id, "c2"), { limit: 2, cursor });
		expect(r.result.isError).toBe(true);
		expect(r.result.content[0]!.text).toMatch(/unknown, expired, or was issued to another client/);
		const rows = await auditRows(t.stub);
		expect(rows.at(-1)).toMatchObject({ tool: "audit_log", decision: "denied", outcome: "access_denied", client_id: "c2" });
	});

	it("another tenant's cursor is unknown here", async () => {
		const { cursor } = await withCursor();
		const other = tidStub();
		const r = await page(other.stub, principal(other.id), { limit: 2, cursor });
		expect(r.result.isError).toBe(true);
	});

	it("an expired cursor is refused", async () => {
		const { t, cursor } = await withCursor();
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(Date.now() + 16 * 60_000);
		const r = await page(t.stub, principal(t.id), { limit: 2, cursor });
		vi.useRealTimers();
		expect(r.result.isError).toBe(true);
	});
});

describe("the benchmark's audit switch", () => {
	it("SMCP_BENCH_NO_AUDIT on a public origin is ignored: allowed calls are still audited (no silent audit-off in production)", async () => {
		const id = tid();
		const count = await runInDurableObject(tenantStub(id), async (_o: TenantObject, state) => {
			const rows = () => Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM audit").one().n);
			const kernel = (origin: string) =>
				new TenantObjectClass(state, { ...testEnv, SMCP_BENCH_NO_AUDIT: "true", SMCP_PUBLIC_ORIGIN: origin });
			const before = rows();
			await kernel("https://mcp.example.com").callTool(principal(id), call("read_graph", {}));
			const deployed = rows() - before;
			// The same switch on a loopback origin (how `npm run bench` runs): the allowed call writes no row.
			await kernel("http://127.0.0.1:8787").callTool(principal(id), call("read_graph", {}));
			return { deployed, bench: rows() - before - deployed };
		});
		expect(count).toEqual({ deployed: 1, bench: 0 });
	});

	it("SMCP_BENCH_NO_AUDIT naming tenants switches off only their rows: every other tenant of the deployment is audited", async () => {
		const [mine, other] = [tid(), tid()];
		const env = { ...testEnv, SMCP_BENCH_NO_AUDIT: ` ${tid()}, ${mine}`, SMCP_PUBLIC_ORIGIN: "http://127.0.0.1:8787" };
		const written = async (id: string) =>
			runInDurableObject(tenantStub(id), async (_o: TenantObject, state) => {
				const rows = () => Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM audit").one().n);
				const before = rows();
				await new TenantObjectClass(state, env).callTool(principal(id), call("read_graph", {}));
				return rows() - before;
			});
		expect({ mine: await written(mine), other: await written(other) }).toEqual({ mine: 0, other: 1 });
	});

	it("SMCP_BENCH_NO_AUDIT naming a tenant on a public origin, or holding anything but true or tenant ids, is ignored: the tenant is audited", async () => {
		const id = tid();
		const count = await runInDurableObject(tenantStub(id), async (_o: TenantObject, state) => {
			const rows = () => Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM audit").one().n);
			const written = async (value: string, origin: string) => {
				const before = rows();
				await new TenantObjectClass(state, { ...testEnv, SMCP_BENCH_NO_AUDIT: value, SMCP_PUBLIC_ORIGIN: origin }).callTool(
					principal(id),
					call("read_graph", {}),
				);
				return rows() - before;
			};
			return [
				await written(id, "https://mcp.example.com"),
				await written(`${id},TRUE`, "http://127.0.0.1:8787"),
				await written("1", "http://127.0.0.1:8787"),
			];
		});
		expect(count).toEqual([1, 1, 1]);
	});
});

describe("audit trail indexes", () => {
	it("every query the trail answers is served by an index (recent activity, audit_log filters, export, pruning): no full scan, no sort", async () => {
		const t = tidStub();
		value(await t.stub.callTool(principal(t.id), call("read_graph", {})));
		const plans = await runInDurableObject(t.stub, (_o: TenantObject, s) => {
			const plan = (sql: string, args: (string | number)[]) =>
				s.storage.sql
					.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...args)
					.toArray()
					.map((r) => r.detail)
					.join("; ");
			const q = (extra: Partial<AuditQuery>) => {
				const { sql, args } = auditQuerySql({ limit: 20, ...extra });
				return plan(sql, args);
			};
			return {
				recent: q({}),
				mine: q({ user: "u_1" }),
				mineByTool: q({ user: "u_1", tool: "read_graph" }),
				mineByClient: q({ user: "u_1", client: "c1", decision: "denied" }),
				mineSince: q({ user: "u_1", since: 1, until: Date.now() }),
				minePage: q({ user: "u_1", before: 10 }),
				exportPage: plan(AUDIT_PAGE_SQL, [0, 100]),
				pruneProbe: plan(AUDIT_PRUNE_PROBE_SQL, [1]),
				indexes: s.storage.sql
					.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit' AND name NOT LIKE 'sqlite_%'")
					.toArray()
					.map((r) => r.name)
					.sort(),
			};
		});
		// Newest rows walk the primary key backwards and stop at the limit; everything else searches.
		expect(plans.recent).toBe("SCAN audit");
		for (const k of ["mine", "mineByTool", "mineByClient", "mineSince"] as const)
			expect(plans[k]).toBe("SEARCH audit USING INDEX audit_user (user_id=?)");
		expect(plans.minePage).toBe("SEARCH audit USING INDEX audit_user (user_id=? AND seq<?)");
		expect(plans.exportPage).toBe("SEARCH audit USING INTEGER PRIMARY KEY (rowid>?)");
		// The retention cut is a binary search of primary-key probes (AuditStore.pruneCut).
		expect(plans.pruneProbe).toBe("SEARCH audit USING INTEGER PRIMARY KEY (rowid=?)");
		// One index, used above: each costs a B-tree insert on every row.
		expect(plans.indexes).toEqual(["audit_user"]);
	});

	const row = (ts: number) => ({
		ts,
		tenant: "t",
		user: "u_1",
		client: "c1",
		lane: "streamable-http",
		protocol: "2025-11-25",
		method: "tools/call",
		decision: "allowed" as const,
		outcome: "ok",
		durationMs: 0,
		trace: "x",
	});

	it("the retention cut's binary search finds exactly the rows older than the cutoff, at every boundary", async () => {
		const t = tidStub();
		await t.stub.verifyAudit(); // the object and its schema exist; its trail is empty
		const mismatches = await runInDurableObject(t.stub, (_o: TenantObject, s) => {
			const store = new AuditStore(s.storage.sql);
			// Runs of equal times and gaps: 100, 100, 100, 110, 120, 120, 150, …
			const times = Array.from({ length: 60 }, (_, i) => 100 + 10 * Math.floor(i / 3) + (i % 7 === 0 ? 30 : 0));
			let ts = 0;
			for (const x of times) store.append(row((ts = Math.max(ts, x))));
			const linear = (cutoff: number) =>
				s.storage.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM audit WHERE ts < ?", cutoff).one().seq;
			const wrong: number[] = [];
			for (let cutoff = 0; cutoff <= 400; cutoff += 5) if (store.pruneCut(cutoff) !== linear(cutoff)) wrong.push(cutoff);
			return { wrong, none: store.pruneCut(50), all: store.pruneCut(10_000) };
		});
		expect(mismatches).toEqual({ wrong: [], none: null, all: 60 });
	});

	it("a row written while the clock steps back keeps its predecessor's time: backdating cannot get a newer row pruned first", async () => {
		const t = tidStub();
		await t.stub.verifyAudit();
		const stored = await runInDurableObject(t.stub, (_o: TenantObject, s) => {
			const store = new AuditStore(s.storage.sql);
			store.append(row(5_000));
			store.append(row(1_000)); // a clock stepped back, or a caller passing an old time
			const times = s.storage.sql
				.exec<{ ts: number }>("SELECT ts FROM audit ORDER BY seq")
				.toArray()
				.map((r) => r.ts);
			// Pruning at 2,000 keeps both: the second row is not older than the first.
			return { times, pruned: store.prune(2_000), left: s.storage.sql.exec("SELECT COUNT(*) AS n FROM audit").one().n };
		});
		expect(stored).toEqual({ times: [5_000, 5_000], pruned: 0, left: 2 });
		expect(await t.stub.verifyAudit()).toEqual({ ok: true, checked: 2 });
	});
});
