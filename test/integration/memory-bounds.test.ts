/**
 * The expensive memory reads cap their work: on a graph of 100,000 entities, `read_graph` returns
 * one page and `search_nodes` with a one- or two-character query (no index) examines at most
 * SCAN_BUDGET entities, and each says so in its result. The timings printed here (run with
 * SMCP_TEST_LOGS=1) are the figures in docs/security.md §Limits; the assertions are generous
 * bounds, so a slow CI machine does not fail them, while an unbounded read (seconds) would.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { DEFAULT_PAGE, SCAN_BUDGET } from "../../shared/catalog/packs/memory/pages";
import { MemoryStore } from "../../shared/catalog/packs/memory/store";
import { brandPrincipal } from "../../shared/rpc/principal";
import type { ToolOutcome } from "../../shared/rpc/kernel";
import { testEnv } from "./helpers";

const ENTITIES = 100_000;

/** Writes `n` entities, one observation each, and their index rows, in bulk (ASCII text: SQL lower() equals JavaScript's). */
function bulkGraph(sql: SqlStorage, n: number): void {
	sql.exec(
		`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
		 INSERT INTO mem_entities (id, name, entity_type) SELECT i, 'Entity-' || i, 'Bulk' FROM k`,
		n,
	);
	sql.exec(
		`INSERT INTO mem_observations (id, entity_id, content) SELECT id, id, 'Observation number ' || id || ' of the bulk graph' FROM mem_entities`,
	);
	sql.exec(
		`INSERT INTO mem_relations (from_name, to_name, relation_type) SELECT name, 'Entity-1', 'links' FROM mem_entities WHERE id % 10 = 0`,
	);
	sql.exec(`INSERT INTO mem_search (rowid, body) SELECT -id, lower(name) || char(1) || lower(entity_type) FROM mem_entities`);
	sql.exec(`INSERT INTO mem_search (rowid, body) SELECT id, lower(content) FROM mem_observations`);
	sql.exec("INSERT INTO mem_search (mem_search) VALUES ('optimize')");
}

const timed = <T>(run: () => T): { value: T; ms: number } => {
	const started = performance.now();
	const value = run();
	return { value, ms: Math.round((performance.now() - started) * 10) / 10 };
};

describe("bounded memory reads", () => {
	it("read_graph and short-query search_nodes on 100,000 entities cap their work and say so", async () => {
		const tenantId = `t_${crypto.randomUUID().replaceAll("-", "")}`;
		const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
		const figures = await runInDurableObject(stub, (_o: TenantObject, state) => {
			const sql = state.storage.sql;
			const build = timed(() => state.storage.transactionSync(() => bulkGraph(sql, ENTITIES)));
			const store = new MemoryStore(sql);
			const page = timed(() => store.readGraphPage());
			expect(page.value.entities).toHaveLength(DEFAULT_PAGE);
			expect(page.value.nextCursor).toBeDefined();
			expect(page.value.page?.showing).toContain(`of ${ENTITIES.toLocaleString("en-US")} entities`);
			const later = timed(() => store.readGraphPage({ limit: 1000, cursor: page.value.nextCursor }));
			expect(later.value.entities[0]!.name).toBe(`Entity-${DEFAULT_PAGE + 1}`);

			// One character: matches everything, the page fills at `limit`.
			const one = timed(() => store.searchPage("e"));
			expect(one.value.entities).toHaveLength(DEFAULT_PAGE);
			expect(one.value.nextCursor).toBeDefined();
			// Two characters that match nothing: the scan stops at the budget and says how far it got.
			const none = timed(() => store.searchPage("zq"));
			expect(none.value.entities).toHaveLength(0);
			expect(none.value.page?.searchedEntities).toBe(SCAN_BUDGET);
			expect(none.value.page?.showing).toContain(
				`${SCAN_BUDGET.toLocaleString("en-US")} of ${ENTITIES.toLocaleString("en-US")} entities searched`,
			);
			// Through the index: a selective query, and one whose trigrams are in every row.
			const selective = timed(() => store.searchPage("entity-99999"));
			expect(selective.value.entities.map((e) => e.name)).toEqual(["Entity-99999"]);
			const broad = timed(() => store.searchPage("bulk graph"));
			expect(broad.value.entities).toHaveLength(DEFAULT_PAGE);
			// What the unbounded reads cost, for comparison.
			const whole = timed(() => store.readGraph().entities.length);
			expect(whole.value).toBe(ENTITIES);
			const everything = timed(() => store.searchNodes("zq").entities.length);
			expect(everything.value).toBe(0);
			return {
				build: build.ms,
				readGraphFirstPage: page.ms,
				readGraphPageOf1000: later.ms,
				search1CharFullPage: one.ms,
				search2CharNoMatchBudget: none.ms,
				searchIndexedSelective: selective.ms,
				searchIndexedBroad: broad.ms,
				unboundedReadGraph: whole.ms,
				unboundedScan2Char: everything.ms,
			};
		});
		console.info(`memory bounds (ms, ${ENTITIES} entities): ${JSON.stringify(figures)}`);
		// Generous ceilings: the bounded reads take tens of milliseconds here; unbounded ones take seconds.
		for (const k of [
			"readGraphFirstPage",
			"readGraphPageOf1000",
			"search1CharFullPage",
			"search2CharNoMatchBudget",
			"searchIndexedSelective",
		] as const)
			expect(figures[k], k).toBeLessThan(1500);

		// The same page through the kernel: a tool call, with the page sentence in its text.
		const p = brandPrincipal({ tenantId, userId: "u_b", clientId: "c_b", scopes: ["mcp:read"] });
		const r = (await stub.callTool(p, {
			name: "search_nodes",
			arguments: { query: "zq" },
			lane: "streamable-http",
			protocolVersion: "2025-11-25",
			traceId: "bounds",
		})) as unknown as { ok: true; value: ToolOutcome };
		expect((r.value.result.content as { text: string }[])[0]!.text).toMatch(/entities searched so far\. Pass cursor ".+" to search_nodes/);
	}, 120_000);
});
