/**
 * The memory pack reads back exactly what was written, finds exactly what the reference rule
 * finds, and pages its two growing reads. Property tests (fast-check, fixed seeds) run in the
 * tenant's own Durable Object: through the kernel where validation matters (what a tool call
 * accepts, stores and returns), on the store directly where many graphs are needed (search).
 *
 * The reference rule (server-memory's `searchNodes`): an entity matches when its name, type or an
 * observation, lower-cased by JavaScript, contains the lower-cased query; the relations returned
 * are those with an endpoint among the matches.
 */
import fc from "fast-check";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { MemoryStore, type Entity, type Graph } from "../../shared/catalog/packs/memory/store";
import { brandPrincipal } from "../../shared/rpc/principal";
import type { ToolOutcome } from "../../shared/rpc/kernel";
import { testEnv } from "./helpers";

const SEED = 20_261_203;

const freshTenant = () => {
	const id = `t_${crypto.randomUUID().replaceAll("-", "")}`;
	return { id, stub: testEnv.TENANTS.get(testEnv.TENANTS.idFromName(id)) };
};
const principal = (tenantId: string) =>
	brandPrincipal({ tenantId, userId: "u_mem", clientId: `c_${crypto.randomUUID().slice(0, 8)}`, scopes: ["mcp:read", "mcp:write"] });
const call = (name: string, args: Record<string, unknown>) => ({
	name,
	arguments: args,
	lane: "streamable-http" as const,
	protocolVersion: "2025-11-25",
	traceId: "mem",
});
function value(result: unknown): ToolOutcome {
	const r = result as { ok: true; value: ToolOutcome } | { ok: false; error: unknown };
	if (!r.ok) throw new Error(`kernel call failed: ${JSON.stringify(r.error)}`);
	return r.value;
}
const structured = (o: ToolOutcome) => o.result.structuredContent as unknown as Graph & { nextCursor?: string; page?: { showing: string } };
const text = (o: ToolOutcome) => (o.result.content as { text: string }[])[0]!.text;

/** The reference server's search, applied to a graph read in insertion order. */
function reference(graph: Graph, query: string): Graph {
	const q = query.toLowerCase();
	const entities = graph.entities.filter(
		(e) =>
			e.name.toLowerCase().includes(q) || e.entityType.toLowerCase().includes(q) || e.observations.some((o) => o.toLowerCase().includes(q)),
	);
	const names = new Set(entities.map((e) => e.name));
	return { entities, relations: graph.relations.filter((r) => names.has(r.from) || names.has(r.to)) };
}

/**
 * Characters whose lower-casing differs between JavaScript and a code-point-wise fold, or which
 * trip query parsers: Turkish dotted and dotless i, sigma and final sigma, ligatures, sharp s,
 * Kelvin and Ångström signs, combining marks, titlecase digraphs, Cherokee (lower-cases to
 * letters outside its block), NUL, quotes, and an astral character.
 */
const TRICKY = [
	"İ",
	"ı",
	"I",
	"i",
	"\u0307",
	"Σ",
	"σ",
	"ς",
	"ﬁ",
	"ß",
	"ẞ",
	"\u212A",
	"\u212B",
	"\u0301",
	"ǅ",
	"Ꭰ",
	"ꭰ",
	"\u0000",
	'"',
	"*",
	" ",
	"a",
	"A",
	"z",
	"🌍",
];
const unit = fc.oneof(
	{ weight: 4, arbitrary: fc.constantFrom(...TRICKY) },
	{ weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);
const trickyString = (maxLength: number) => fc.string({ unit, maxLength });

/** A query: a slice of some stored text (by code points), possibly re-cased, or random tricky text. */
function queriesFor(graph: Graph): fc.Arbitrary<string> {
	const texts = graph.entities.flatMap((e) => [e.name, e.entityType, ...e.observations]).filter((t) => t.length > 0);
	const slice =
		texts.length === 0
			? trickyString(6)
			: fc
					.tuple(fc.constantFrom(...texts), fc.nat(), fc.nat({ max: 8 }), fc.constantFrom("same", "upper", "lower"))
					.map(([t, start, len, casing]) => {
						const cps = [...t];
						const s = cps.slice(start % cps.length, (start % cps.length) + len + 1).join("");
						return casing === "upper" ? s.toUpperCase() : casing === "lower" ? s.toLowerCase() : s;
					})
					// A slice of an upper-cased string is well formed; keep the queries the tool accepts.
					.filter((q) => !/\p{Surrogate}/u.test(q));
	return fc.oneof({ weight: 3, arbitrary: slice }, { weight: 1, arbitrary: trickyString(6) });
}

const graphArb = fc
	.record({
		entities: fc.uniqueArray(
			fc.record({
				name: trickyString(10),
				entityType: trickyString(6),
				observations: fc.uniqueArray(trickyString(14), { maxLength: 3 }),
			}),
			{ maxLength: 12, selector: (e) => e.name },
		),
		relations: fc.array(fc.tuple(fc.nat(), fc.nat(), trickyString(4)), { maxLength: 10 }),
	})
	.map(({ entities, relations }) => ({
		entities,
		relations:
			entities.length === 0
				? []
				: relations.map(([a, b, relationType]) => ({
						from: entities[a % entities.length]!.name,
						to: entities[b % entities.length]!.name,
						relationType,
					})),
	}));

/** Empties the graph tables of a tenant's storage and writes `graph`. */
function reset(store: MemoryStore, sql: SqlStorage, graph: Graph): void {
	for (const table of ["mem_entities", "mem_observations", "mem_relations", "mem_search"]) sql.exec(`DELETE FROM ${table}`);
	store.createEntities(graph.entities);
	store.createRelations(graph.relations);
}

describe("search that matches the reference rule exactly", () => {
	it("search_nodes finds exactly what a case-insensitive substring search finds, on random Unicode (dotted/dotless i, final sigma, ligatures, combining marks, NUL)", async () => {
		const t = freshTenant();
		await runInDurableObject(t.stub, (_o: TenantObject, state) => {
			const sql = state.storage.sql;
			const store = new MemoryStore(sql);
			const withQueries = graphArb.chain((graph) =>
				fc.tuple(fc.constant(graph), fc.array(queriesFor(graph), { minLength: 1, maxLength: 8 })),
			);
			let nonEmpty = 0;
			fc.assert(
				fc.property(withQueries, ([graph, queries]) => {
					state.storage.transactionSync(() => reset(store, sql, graph));
					const stored = store.readGraph();
					for (const q of queries) {
						const expected = reference(stored, q);
						if (expected.entities.length > 0) nonEmpty++;
						expect(store.searchNodes(q), JSON.stringify(q)).toEqual(expected);
					}
				}),
				{ numRuns: 150, seed: SEED },
			);
			// Not vacuous: most queries are slices of stored text and do find something.
			expect(nonEmpty).toBeGreaterThan(150);
		});
	});

	it('an entity named "İzmir" is found by "İzmir".toLowerCase() (i + U+0307 + zmir), and by "İZMir" and "zmir"', async () => {
		const t = freshTenant();
		const p = principal(t.id);
		value(await t.stub.callTool(p, call("create_entities", { entities: [{ name: "İzmir", entityType: "city", observations: ["ΟΔΟΣ"] }] })));
		for (const query of ["İzmir".toLowerCase(), "İzmir", "İZMir", "zmir", "i\u0307z", "οδος", "ΟΔΟΣ".toLowerCase()]) {
			const found = structured(value(await t.stub.callTool(p, call("search_nodes", { query }))));
			expect(
				found.entities.map((e) => e.name),
				JSON.stringify(query),
			).toEqual(["İzmir"]);
		}
		// The reference rule finds nothing here, and neither does SMCP ("izmir" has no combining dot).
		expect(structured(value(await t.stub.callTool(p, call("search_nodes", { query: "izmir" })))).entities).toEqual([]);
	});

	it("a query containing NUL (3+ characters) is answered, not a -32603 and a tool crash", async () => {
		const t = freshTenant();
		const p = principal(t.id);
		value(
			await t.stub.callTool(
				p,
				call("create_entities", { entities: [{ name: "nul\u0000here", entityType: "t", observations: ["a\u0000bcd"] }] }),
			),
		);
		for (const query of ["\u0000\u0000\u0000", "l\u0000her", "a\u0000bcd", "\u0000bcd", "bcd", "x\u0000yz"]) {
			const r = value(await t.stub.callTool(p, call("search_nodes", { query })));
			expect(r.result.isError, JSON.stringify(query)).toBeUndefined();
			const expected = query === "x\u0000yz" || query === "\u0000\u0000\u0000" ? [] : ["nul\u0000here"];
			expect(
				structured(r).entities.map((e) => e.name),
				JSON.stringify(query),
			).toEqual(expected);
		}
	});

	it("an index written before migration 13 (original case, SQLite's fold) is rebuilt lower-cased when the tenant starts", async () => {
		const t = freshTenant();
		const p = principal(t.id);
		value(
			await t.stub.callTool(p, call("create_entities", { entities: [{ name: "İstanbul", entityType: "City", observations: ["Boğaz"] }] })),
		);
		// Put the storage back as the build before this one left it.
		await runInDurableObject(t.stub, (_o: TenantObject, state) => {
			const sql = state.storage.sql;
			sql.exec("DROP TABLE mem_search");
			sql.exec("CREATE VIRTUAL TABLE mem_search USING fts5 (body, tokenize = 'trigram')");
			sql.exec("INSERT INTO mem_search (rowid, body) SELECT -id, name || char(1) || entity_type FROM mem_entities");
			sql.exec("INSERT INTO mem_search (rowid, body) SELECT id, content FROM mem_observations");
			sql.exec("INSERT INTO mem_meta (key, value) VALUES ('search_rebuild', 'due')");
		});
		await evictDurableObject(t.stub);
		const found = structured(value(await t.stub.callTool(p, call("search_nodes", { query: "İstanbul".toLowerCase() }))));
		expect(found.entities.map((e) => e.name)).toEqual(["İstanbul"]);
		const pending = await runInDurableObject(t.stub, (_o: TenantObject, state) =>
			state.storage.sql.exec("SELECT COUNT(*) AS n FROM mem_meta WHERE key = 'search_rebuild'").one(),
		);
		expect(pending.n).toBe(0);
	});
});

describe("strings read back as written", () => {
	/** Strings within the documented limits, from the whole Unicode range plus the tricky ones. */
	const anyText = (max: number) =>
		fc.oneof({ weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: max }) }, { weight: 1, arbitrary: trickyString(max) });

	it("what read_graph, open_nodes and search_nodes return equals what was written, for arbitrary strings within the limits", async () => {
		const entitiesArb = fc.uniqueArray(
			fc.record(
				{ name: anyText(24), entityType: anyText(8), observations: fc.uniqueArray(anyText(40), { maxLength: 3 }) },
				// Plain objects: they cross the RPC boundary to the tenant by structured clone.
				{ noNullPrototype: true },
			),
			{ minLength: 1, maxLength: 5, selector: (e) => e.name },
		);
		await fc.assert(
			fc.asyncProperty(entitiesArb, fc.nat(), async (entities, pick) => {
				const t = freshTenant();
				const p = principal(t.id);
				const created = structured(value(await t.stub.callTool(p, call("create_entities", { entities }))));
				expect(created.entities).toEqual(entities);
				const relations = [{ from: entities[0]!.name, to: entities[entities.length - 1]!.name, relationType: entities[0]!.entityType }];
				value(await t.stub.callTool(p, call("create_relations", { relations })));
				expect(structured(value(await t.stub.callTool(p, call("read_graph", {}))))).toEqual({ entities, relations });
				const names = entities.map((e) => e.name);
				expect(structured(value(await t.stub.callTool(p, call("open_nodes", { names }))))).toEqual({ entities, relations });
				// The name read back finds its entity, by open_nodes and by search_nodes.
				const target = entities[pick % entities.length]!;
				const back = structured(value(await t.stub.callTool(p, call("read_graph", {})))).entities.find((e) => e.name === target.name);
				expect(back).toEqual(target);
				const opened = structured(value(await t.stub.callTool(p, call("open_nodes", { names: [back!.name] }))));
				expect(opened.entities).toEqual([target]);
				const searched = structured(value(await t.stub.callTool(p, call("search_nodes", { query: back!.name }))));
				expect(searched).toEqual(reference({ entities, relations }, back!.name));
			}),
			{ numRuns: 40, seed: SEED + 1 },
		);
	});

	it('names and observations with a lone surrogate ("x\\ud800") are refused with a tool error naming the field; nothing is stored', async () => {
		const t = freshTenant();
		const p = principal(t.id);
		value(await t.stub.callTool(p, call("create_entities", { entities: [{ name: "kept", entityType: "t", observations: [] }] })));
		const cases: [string, Record<string, unknown>, RegExp][] = [
			["create_entities", { entities: [{ name: "x\ud800", entityType: "t", observations: [] }] }, /entities\.0\.name/],
			["create_entities", { entities: [{ name: "ok", entityType: "\udc00", observations: [] }] }, /entities\.0\.entityType/],
			[
				"create_entities",
				{ entities: [{ name: "ok", entityType: "t", observations: ["fine", "bad\ud83c"] }] },
				/entities\.0\.observations\.1/,
			],
			["add_observations", { observations: [{ entityName: "kept", contents: ["\udfff"] }] }, /observations\.0\.contents\.0/],
			["create_relations", { relations: [{ from: "kept", to: "x\ud800", relationType: "r" }] }, /relations\.0\.to/],
			["search_nodes", { query: "x\ud800yz" }, /query/],
			["open_nodes", { names: ["x\ud800"] }, /names\.0/],
			["delete_entities", { entityNames: ["kept\ud800"] }, /entityNames\.0/],
		];
		for (const [tool, args, field] of cases) {
			const r = value(await t.stub.callTool(p, call(tool, args)));
			expect(r.result.isError, tool).toBe(true);
			expect(text(r), tool).toMatch(field);
			expect(text(r), tool).toMatch(/well-formed Unicode/);
		}
		expect(structured(value(await t.stub.callTool(p, call("read_graph", {}))))).toEqual({
			entities: [{ name: "kept", entityType: "t", observations: [] }],
			relations: [],
		});
	});
});

describe("read_graph and search_nodes page with limit and cursor", () => {
	it("pages add up to the whole answer, each page within its limit, for random graphs, limits and scan budgets", async () => {
		const t = freshTenant();
		await runInDurableObject(t.stub, (_o: TenantObject, state) => {
			const sql = state.storage.sql;
			const store = new MemoryStore(sql);
			const arb = graphArb.chain((graph) =>
				fc.tuple(fc.constant(graph), queriesFor(graph), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 })),
			);
			fc.assert(
				fc.property(arb, ([graph, query, limit, scanBudget]) => {
					state.storage.transactionSync(() => reset(store, sql, graph));
					const whole = store.readGraph();
					const entities: Entity[] = [];
					const relations: Graph["relations"] = [];
					let cursor: string | undefined;
					for (let pages = 0; ; pages++) {
						expect(pages).toBeLessThan(100);
						const page = store.readGraphPage({ limit, cursor });
						expect(page.entities.length + page.relations.length).toBeLessThanOrEqual(limit);
						entities.push(...page.entities);
						relations.push(...page.relations);
						if (!page.nextCursor) break;
						expect(page.page?.showing).toContain(page.nextCursor);
						cursor = page.nextCursor;
					}
					expect({ entities, relations }).toEqual(whole);

					const expected = reference(whole, query);
					const found: Entity[] = [];
					const touching = new Map<string, Graph["relations"][number]>();
					cursor = undefined;
					for (let pages = 0; ; pages++) {
						expect(pages).toBeLessThan(200);
						const page = store.searchPage(query, { limit, cursor, scanBudget });
						expect(page.entities.length).toBeLessThanOrEqual(limit);
						const names = new Set(page.entities.map((e) => e.name));
						for (const r of page.relations) {
							expect(names.has(r.from) || names.has(r.to)).toBe(true);
							touching.set(JSON.stringify(r), r);
						}
						found.push(...page.entities);
						if (!page.nextCursor) break;
						cursor = page.nextCursor;
					}
					expect(found).toEqual(expected.entities);
					expect(expected.relations.filter((r) => touching.has(JSON.stringify(r)))).toEqual(expected.relations);
				}),
				{ numRuns: 80, seed: SEED + 2 },
			);
		});
	});

	it("under the cap the answer is exactly the reference's; past it the result says what it shows and how to go on", async () => {
		const t = freshTenant();
		const p = principal(t.id);
		const entities = Array.from({ length: 5 }, (_, i) => ({ name: `page-${i}`, entityType: "t", observations: [`note ${i}`] }));
		value(await t.stub.callTool(p, call("create_entities", { entities })));
		value(await t.stub.callTool(p, call("create_relations", { relations: [{ from: "page-0", to: "page-1", relationType: "next" }] })));
		const whole = value(await t.stub.callTool(p, call("read_graph", {})));
		expect(Object.keys(structured(whole)).sort()).toEqual(["entities", "relations"]);
		expect(text(whole)).toBe(JSON.stringify(structured(whole), null, 2));

		const first = value(await t.stub.callTool(p, call("read_graph", { limit: 2 })));
		const s = structured(first);
		expect(s.entities.map((e) => e.name)).toEqual(["page-0", "page-1"]);
		expect(s.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
		expect(s.page?.showing).toBe(
			`Showing 2 entities and 0 relations of 5 entities and 1 relations (pages hold entities first, then relations). Pass cursor "${s.nextCursor}" to read_graph for more.`,
		);
		expect(text(first).endsWith(s.page!.showing)).toBe(true);
		const last = structured(value(await t.stub.callTool(p, call("read_graph", { limit: 4, cursor: s.nextCursor }))));
		expect(last.entities.map((e) => e.name)).toEqual(["page-2", "page-3", "page-4"]);
		expect(last.relations).toEqual([{ from: "page-0", to: "page-1", relationType: "next" }]);
		expect(last.nextCursor).toBeUndefined();
		expect(last.page?.showing).toMatch(/This is the last page\.$/);

		const search = structured(value(await t.stub.callTool(p, call("search_nodes", { query: "note", limit: 3 }))));
		expect(search.entities).toHaveLength(3);
		expect(search.page?.showing).toMatch(
			/^Showing 3 matching entities .*3 of 5 entities searched so far\. Pass cursor ".+" to search_nodes with the same query for more\.$/,
		);
		const rest = structured(value(await t.stub.callTool(p, call("search_nodes", { query: "NOTE", cursor: search.nextCursor }))));
		expect(rest.entities.map((e) => e.name)).toEqual(["page-3", "page-4"]);

		for (const [args, message] of [
			[{ query: "page", cursor: search.nextCursor }, /another query/],
			[{ query: "note", cursor: "not-a-cursor" }, /Invalid cursor/],
			[{ query: "note", cursor: s.nextCursor }, /Invalid cursor/],
			[{ query: "note", limit: 0 }, /limit/],
			[{ query: "note", limit: 1001 }, /limit/],
		] as const) {
			const r = value(await t.stub.callTool(p, call("search_nodes", args)));
			expect(r.result.isError, JSON.stringify(args)).toBe(true);
			expect(text(r)).toMatch(message);
		}
	});
});
