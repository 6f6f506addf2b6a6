/**
 * @module shared/catalog/packs/memory/store
 * The knowledge graph in a tenant's SQLite storage. Semantics follow the reference
 * `@modelcontextprotocol/server-memory`: entity names are unique, a relation is unique by
 * (from, to, relationType), observations are unique per entity, and order is insertion order.
 * One deliberate difference: duplicates *within one call* are collapsed (the reference stores
 * them twice, after which delete and open act on an ambiguous graph); see docs/architecture.md.
 *
 * Search uses an FTS5 trigram index with one row per entity (rowid = −entity id: name and type)
 * and one row per observation (rowid = observation id), so every index row stays as small as the
 * text it indexes (≤ 16 KB) — far below the 2 MB SQLite value limit of Durable Objects, however
 * many observations an entity has. The index holds the lower-cased text and is a pure prefilter
 * (`./search-index.ts`): `search_nodes` looks at candidate rows only, and keeps those that pass
 * the reference's exact case-insensitive substring rule. Queries the index cannot serve (shorter
 * than three characters) scan, at most {@link SCAN_BUDGET} entities per call (`./pages.ts`).
 *
 * Longer than the ~300-line guide: every statement on the graph tables is here, next to the
 * others that keep the index in step with them.
 */
import { ToolError } from "../../../errors";
import { DEFAULT_PAGE, decodeCursor, PAGE_TEXT_BUDGET, pageFields, SCAN_BUDGET, type PageFields } from "./pages";
import { coveringTrigrams, entityIndexText, indexText } from "./search-index";

/** An entity as the reference server shows it. */
export interface Entity {
	name: string;
	entityType: string;
	observations: string[];
}
/** A directed, typed relation between two entity names. */
export interface Relation {
	from: string;
	to: string;
	relationType: string;
}
/** A (sub)graph. */
export interface Graph {
	entities: Entity[];
	relations: Relation[];
}

/** Schema migration 1 of the memory pack (never edit: add a new migration instead). */
export const MEMORY_SCHEMA_V1 = `
CREATE TABLE mem_entities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, entity_type TEXT NOT NULL);
CREATE TABLE mem_observations (id INTEGER PRIMARY KEY, entity_id INTEGER NOT NULL, content TEXT NOT NULL, UNIQUE (entity_id, content));
CREATE INDEX mem_observations_entity ON mem_observations (entity_id, id);
CREATE TABLE mem_relations (id INTEGER PRIMARY KEY, from_name TEXT NOT NULL, to_name TEXT NOT NULL, relation_type TEXT NOT NULL, UNIQUE (from_name, to_name, relation_type));
CREATE INDEX mem_relations_to ON mem_relations (to_name);
CREATE VIRTUAL TABLE mem_search USING fts5 (body, tokenize = 'trigram');
`;

/**
 * Schema migration 2: rebuild the search index with one row per observation (migration 1 kept one
 * row per entity, which could outgrow SQLite's 2 MB value limit). Never edit: add a new migration.
 */
export const MEMORY_SEARCH_V2 = `
DELETE FROM mem_search;
INSERT INTO mem_search (rowid, body) SELECT -id, name || char(1) || entity_type FROM mem_entities;
INSERT INTO mem_search (rowid, body) SELECT id, content FROM mem_observations;
`;

/** SQLite allows 100 bound parameters per statement in Durable Objects; stay well below. */
const CHUNK = 90;

function chunks<T>(items: readonly T[]): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
	return out;
}
const marks = (n: number) => new Array(n).fill("?").join(",");

/**
 * Search rows written or deleted since the index was last compacted, per tenant storage (in
 * memory: after an eviction the count starts again, which only delays a compaction).
 */
const indexChanges = new WeakMap<SqlStorage, number>();
/**
 * FTS5 keeps every write transaction's rows in a new segment and merges them only gradually, and
 * a trigram phrase query reads each segment's doclists: after a bulk import of 10,000 entities in
 * batches, `search_nodes` took ~3.5× as long as on a compacted index (measured, docs/performance.md).
 * So the write that brings the count past this many rows — and past an eighth of the index —
 * also compacts the index ('optimize') in that write's transaction: ~25 ms for 30,000 rows here.
 * (A rolled-back write may reset the count without compacting: the next compaction comes later.)
 */
const COMPACT_AFTER_ROWS = 5000;

/** Index rows a search gathers at most; a query matching more rows scans instead (docs/security.md §Limits). */
const CANDIDATE_CAP = 20_000;

/**
 * Knowledge-graph operations over one tenant's SQL storage. Every method is synchronous; the
 * caller runs it inside the tenant's transaction.
 */
export class MemoryStore {
	readonly #sql: SqlStorage;
	constructor(sql: SqlStorage) {
		this.#sql = sql;
	}

	/** Creates the entities whose names are new; returns exactly those. */
	createEntities(entities: readonly Entity[], progress?: (done: number, total: number) => void): Entity[] {
		const created: Entity[] = [];
		const seen = new Set<string>();
		entities.forEach((e, i) => {
			if (seen.has(e.name)) return;
			seen.add(e.name);
			if (this.#entityId(e.name) !== undefined) return;
			const id = this.#sql
				.exec<{ id: number }>("INSERT INTO mem_entities (name, entity_type) VALUES (?, ?) RETURNING id", e.name, e.entityType)
				.one().id;
			this.#sql.exec("INSERT INTO mem_search (rowid, body) VALUES (?, ?)", -id, entityIndexText(e.name, e.entityType));
			const observations = [...new Set(e.observations)];
			this.#indexed(1);
			for (const o of observations) this.#observe(id, o);
			created.push({ name: e.name, entityType: e.entityType, observations });
			if (progress && (i + 1) % 100 === 0) progress(i + 1, entities.length);
		});
		this.#compactIfDue();
		return created;
	}

	/** Creates the relations that do not exist yet; returns exactly those. */
	createRelations(relations: readonly Relation[]): Relation[] {
		const created: Relation[] = [];
		for (const r of relations) {
			const inserted = this.#sql
				.exec(
					"INSERT INTO mem_relations (from_name, to_name, relation_type) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
					r.from,
					r.to,
					r.relationType,
				)
				.toArray();
			if (inserted.length > 0) created.push({ from: r.from, to: r.to, relationType: r.relationType });
		}
		return created;
	}

	/** Adds new observations; throws a user-facing error (and writes nothing) if an entity is missing. */
	addObservations(items: readonly { entityName: string; contents: string[] }[]): { entityName: string; addedObservations: string[] }[] {
		const out = items.map((item) => {
			const id = this.#entityId(item.entityName);
			if (id === undefined) throw new ToolError(`Entity with name ${item.entityName} not found`);
			const added: string[] = [];
			for (const c of item.contents) if (this.#observe(id, c)) added.push(c);
			return { entityName: item.entityName, addedObservations: added };
		});
		this.#compactIfDue();
		return out;
	}

	/** Deletes entities and every relation that touches them. Unknown names are ignored. */
	deleteEntities(names: readonly string[]): void {
		for (const group of chunks([...new Set(names)])) {
			const ids = this.#sql
				.exec<{ id: number }>(`SELECT id FROM mem_entities WHERE name IN (${marks(group.length)})`, ...group)
				.toArray()
				.map((r) => r.id);
			for (const idGroup of chunks(ids)) {
				const gone = this.#sql
					.exec<{ id: number }>(`DELETE FROM mem_observations WHERE entity_id IN (${marks(idGroup.length)}) RETURNING id`, ...idGroup)
					.toArray()
					.map((r) => r.id);
				this.#unindex([...gone, ...idGroup.map((i) => -i)]);
				this.#sql.exec(`DELETE FROM mem_entities WHERE id IN (${marks(idGroup.length)})`, ...idGroup);
			}
			this.#sql.exec(`DELETE FROM mem_relations WHERE from_name IN (${marks(group.length)})`, ...group);
			this.#sql.exec(`DELETE FROM mem_relations WHERE to_name IN (${marks(group.length)})`, ...group);
		}
		this.#compactIfDue();
	}

	/** Deletes the named observations; unknown entities and observations are ignored. */
	deleteObservations(deletions: readonly { entityName: string; observations: string[] }[]): void {
		for (const d of deletions) {
			const id = this.#entityId(d.entityName);
			if (id === undefined) continue;
			for (const group of chunks([...new Set(d.observations)])) {
				const gone = this.#sql
					.exec<{ id: number }>(
						`DELETE FROM mem_observations WHERE entity_id = ? AND content IN (${marks(group.length)}) RETURNING id`,
						id,
						...group,
					)
					.toArray();
				this.#unindex(gone.map((r) => r.id));
			}
		}
		this.#compactIfDue();
	}

	/** Deletes the given relations; unknown ones are ignored. */
	deleteRelations(relations: readonly Relation[]): void {
		for (const r of relations) {
			this.#sql.exec("DELETE FROM mem_relations WHERE from_name = ? AND to_name = ? AND relation_type = ?", r.from, r.to, r.relationType);
		}
	}

	/** The whole graph, in insertion order. */
	readGraph(): Graph {
		const rows = this.#sql
			.exec<{ id: number; name: string; entity_type: string }>("SELECT id, name, entity_type FROM mem_entities ORDER BY id")
			.toArray();
		const obs = new Map<number, string[]>();
		for (const o of this.#sql.exec<{ entity_id: number; content: string }>("SELECT entity_id, content FROM mem_observations ORDER BY id")) {
			const list = obs.get(o.entity_id) ?? [];
			list.push(o.content);
			obs.set(o.entity_id, list);
		}
		const entities = rows.map((r) => ({ name: r.name, entityType: r.entity_type, observations: obs.get(r.id) ?? [] }));
		const relations = this.#sql
			.exec<{ from_name: string; to_name: string; relation_type: string }>(
				"SELECT from_name, to_name, relation_type FROM mem_relations ORDER BY id",
			)
			.toArray()
			.map((r) => ({ from: r.from_name, to: r.to_name, relationType: r.relation_type }));
		return { entities, relations };
	}

	/**
	 * One page of the whole graph: entities in insertion order, then relations, at most `limit`
	 * together (and about {@link PAGE_TEXT_BUDGET} characters). Under the limit and without a
	 * cursor: exactly {@link readGraph}'s answer.
	 */
	readGraphPage(opts: { limit?: number; cursor?: string } = {}): Graph & PageFields {
		const limit = opts.limit ?? DEFAULT_PAGE;
		const from = opts.cursor ? decodeCursor("read_graph", opts.cursor) : { phase: "entities" as const, after: 0 };
		let entities: Entity[] = [];
		let relations: Relation[] = [];
		let next: { phase: "entities" | "relations"; after: number } | undefined;
		if (from.phase === "entities") {
			const rows = this.#sql
				.exec<{ id: number }>("SELECT id FROM mem_entities WHERE id > ? ORDER BY id LIMIT ?", from.after, limit + 1)
				.toArray()
				.map((r) => r.id);
			const page = this.#withinBudget(rows.slice(0, limit));
			entities = page.entities;
			if (page.lastId !== undefined && (page.cut || rows.length > limit)) next = { phase: "entities", after: page.lastId };
		}
		const room = limit - entities.length;
		if (!next && room > 0) {
			const after = from.phase === "relations" ? from.after : 0;
			const rows = this.#sql
				.exec<{ id: number; from_name: string; to_name: string; relation_type: string }>(
					"SELECT id, from_name, to_name, relation_type FROM mem_relations WHERE id > ? ORDER BY id LIMIT ?",
					after,
					room + 1,
				)
				.toArray();
			relations = rows.slice(0, room).map((r) => ({ from: r.from_name, to: r.to_name, relationType: r.relation_type }));
			if (rows.length > room) next = { phase: "relations", after: rows[room - 1]!.id };
		} else if (!next && this.#sql.exec("SELECT 1 FROM mem_relations LIMIT 1").toArray().length > 0) {
			// The page is full of entities, the last one among them: the relations start on the next page.
			next = { phase: "relations", after: 0 };
		}
		if (!opts.cursor && !next) return { entities, relations };
		const totals = this.#sql
			.exec<{ e: number; r: number }>("SELECT (SELECT COUNT(*) FROM mem_entities) AS e, (SELECT COUNT(*) FROM mem_relations) AS r")
			.one();
		const fields = pageFields({
			tool: "read_graph",
			entities: entities.length,
			relations: relations.length,
			totalEntities: totals.e,
			totalRelations: totals.r,
			...(next ? { next: { tool: "read_graph", ...next } } : {}),
		});
		return { entities, relations, ...fields };
	}

	/** Entities whose name, type or an observation contains `query` (case-insensitive), and their relations: all of them. */
	searchNodes(query: string): Graph {
		const { entities, relations } = this.searchPage(query, { limit: Number.POSITIVE_INFINITY, scanBudget: Number.POSITIVE_INFINITY });
		return { entities, relations };
	}

	/**
	 * One page of `search_nodes`: the matching entities after the cursor, in insertion order, at most
	 * `limit` of them, examining at most `scanBudget` entities; with the relations that touch them.
	 * A search that finishes within the bounds without a cursor answers exactly as the reference.
	 */
	searchPage(query: string, opts: { limit?: number; cursor?: string; scanBudget?: number } = {}): Graph & PageFields {
		const limit = opts.limit ?? DEFAULT_PAGE;
		const budget = opts.scanBudget ?? SCAN_BUDGET;
		const after = opts.cursor ? decodeCursor("search_nodes", opts.cursor, query).after : 0;
		const needle = query.toLowerCase();
		const matches = (e: Entity) =>
			e.name.toLowerCase().includes(needle) ||
			e.entityType.toLowerCase().includes(needle) ||
			e.observations.some((o) => o.toLowerCase().includes(needle));
		const fts = coveringTrigrams([...needle]);
		const candidates = fts === null ? null : (this.#candidates(fts)?.filter((id) => id > after) ?? null);
		const found: Entity[] = [];
		let examined = 0;
		let lastId = after;
		let size = 0;
		let exhausted = false;
		while (found.length < limit && examined < budget && size <= PAGE_TEXT_BUDGET) {
			const want = Math.min(100, budget - examined);
			const ids =
				candidates === null
					? this.#sql
							.exec<{ id: number }>("SELECT id FROM mem_entities WHERE id > ? ORDER BY id LIMIT ?", lastId, want)
							.toArray()
							.map((r) => r.id)
					: candidates.slice(examined, examined + want);
			if (ids.length === 0) {
				exhausted = true;
				break;
			}
			const loaded = this.#loadEntitiesWithIds(ids);
			for (const [id, e] of loaded) {
				examined++;
				lastId = id;
				if (!matches(e)) continue;
				found.push(e);
				size += entitySize(e);
				if (found.length >= limit || size > PAGE_TEXT_BUDGET) break;
			}
		}
		if (!exhausted) {
			exhausted =
				candidates === null
					? this.#sql.exec("SELECT 1 FROM mem_entities WHERE id > ? LIMIT 1", lastId).toArray().length === 0
					: candidates.length <= examined;
		}
		const graph = { entities: found, relations: this.#relationsTouching(found.map((e) => e.name)) };
		if (!opts.cursor && exhausted) return graph;
		const counts = this.#sql
			.exec<{ total: number; searched: number }>(
				"SELECT (SELECT COUNT(*) FROM mem_entities) AS total, (SELECT COUNT(*) FROM mem_entities WHERE id <= ?) AS searched",
				lastId,
			)
			.one();
		const fields = pageFields({
			tool: "search_nodes",
			entities: found.length,
			relations: graph.relations.length,
			searched: exhausted ? counts.total : counts.searched,
			totalEntities: counts.total,
			...(exhausted ? {} : { next: { tool: "search_nodes", after: lastId, query } }),
		});
		return { ...graph, ...fields };
	}

	/**
	 * Re-writes the search index from the graph when a migration asked for it (memory search
	 * migration 3: lower-cased rows). Runs once, when the tenant starts, in the caller's transaction.
	 */
	rebuildSearchIfDue(): boolean {
		const due = this.#sql.exec("SELECT 1 FROM mem_meta WHERE key = 'search_rebuild'").toArray().length > 0;
		if (!due) return false;
		this.#sql.exec("DELETE FROM mem_search");
		for (const e of this.#sql.exec<{ id: number; name: string; entity_type: string }>("SELECT id, name, entity_type FROM mem_entities"))
			this.#sql.exec("INSERT INTO mem_search (rowid, body) VALUES (?, ?)", -e.id, entityIndexText(e.name, e.entity_type));
		for (const o of this.#sql.exec<{ id: number; content: string }>("SELECT id, content FROM mem_observations"))
			this.#sql.exec("INSERT INTO mem_search (rowid, body) VALUES (?, ?)", o.id, indexText(o.content));
		this.#sql.exec("INSERT INTO mem_search (mem_search) VALUES ('optimize')");
		this.#sql.exec("DELETE FROM mem_meta WHERE key = 'search_rebuild'");
		return true;
	}

	/**
	 * Entity ids whose index rows hold every trigram of `fts`, ascending; null when more than
	 * {@link CANDIDATE_CAP} index rows do (the query is not selective: a scan in entity order, which
	 * stops at its budget, costs less than gathering them all).
	 */
	#candidates(fts: string): number[] | null {
		const rows = this.#sql
			.exec<{ rowid: number }>("SELECT rowid FROM mem_search WHERE mem_search MATCH ? LIMIT ?", fts, CANDIDATE_CAP + 1)
			.toArray()
			.map((r) => r.rowid);
		if (rows.length > CANDIDATE_CAP) return null;
		const entityIds = new Set(rows.filter((r) => r < 0).map((r) => -r));
		const observed = rows.filter((r) => r > 0);
		if (observed.length > 0) {
			for (const o of this.#sql.exec<{ entity_id: number }>(
				"SELECT DISTINCT entity_id FROM mem_observations WHERE id IN (SELECT value FROM json_each(?))",
				JSON.stringify(observed),
			))
				entityIds.add(o.entity_id);
		}
		return [...entityIds].sort((a, b) => a - b);
	}

	/** Loads entities by id (insertion order) and keeps a page's worth of text; `cut` when some were left out. */
	#withinBudget(ids: readonly number[]): { entities: Entity[]; lastId?: number; cut: boolean } {
		const entities: Entity[] = [];
		let size = 0;
		let lastId: number | undefined;
		for (const group of chunks(ids)) {
			for (const [id, e] of this.#loadEntitiesWithIds(group)) {
				if (entities.length > 0 && size + entitySize(e) > PAGE_TEXT_BUDGET) return { entities, lastId, cut: true };
				entities.push(e);
				size += entitySize(e);
				lastId = id;
			}
		}
		return { entities, lastId, cut: false };
	}

	/** The named entities (in insertion order) and every relation with an endpoint among them. */
	openNodes(names: readonly string[]): Graph {
		const ids: number[] = [];
		for (const group of chunks([...new Set(names)])) {
			for (const r of this.#sql.exec<{ id: number }>(`SELECT id FROM mem_entities WHERE name IN (${marks(group.length)})`, ...group))
				ids.push(r.id);
		}
		const entities = this.#loadEntities(ids);
		return { entities, relations: this.#relationsTouching(entities.map((e) => e.name)) };
	}

	#entityId(name: string): number | undefined {
		return this.#sql.exec<{ id: number }>("SELECT id FROM mem_entities WHERE name = ?", name).toArray()[0]?.id;
	}

	/** Adds an observation and its search row; false when the entity already had it. */
	#observe(entityId: number, content: string): boolean {
		const row = this.#sql
			.exec<{ id: number }>(
				"INSERT INTO mem_observations (entity_id, content) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
				entityId,
				content,
			)
			.toArray()[0];
		if (!row) return false;
		this.#sql.exec("INSERT INTO mem_search (rowid, body) VALUES (?, ?)", row.id, indexText(content));
		this.#indexed(1);
		return true;
	}

	/** Removes search rows by rowid. */
	#unindex(rowids: number[]): void {
		for (const group of chunks(rowids)) this.#sql.exec(`DELETE FROM mem_search WHERE rowid IN (${marks(group.length)})`, ...group);
		this.#indexed(rowids.length);
	}

	#indexed(rows: number): void {
		indexChanges.set(this.#sql, (indexChanges.get(this.#sql) ?? 0) + rows);
	}

	/** Compacts the search index once enough rows changed (see {@link COMPACT_AFTER_ROWS}). */
	#compactIfDue(): void {
		const changed = indexChanges.get(this.#sql) ?? 0;
		if (changed < COMPACT_AFTER_ROWS) return;
		// 'optimize' rewrites the whole index: only once the changes are an eighth of it, so a large
		// graph pays at most ~8 rewritten rows per changed row, however large it grows.
		const rows = this.#sql
			.exec<{ n: number }>("SELECT (SELECT COUNT(*) FROM mem_entities) + (SELECT COUNT(*) FROM mem_observations) AS n")
			.one().n;
		if (changed * 8 < rows) return;
		this.#sql.exec("INSERT INTO mem_search (mem_search) VALUES ('optimize')");
		indexChanges.set(this.#sql, 0);
	}

	#loadEntities(ids: readonly number[]): Entity[] {
		const out: Entity[] = [];
		for (const group of chunks([...new Set(ids)].sort((a, b) => a - b))) for (const [, e] of this.#loadEntitiesWithIds(group)) out.push(e);
		return out;
	}

	/** Entities by id (at most {@link CHUNK} ids), in id order, with their ids. */
	#loadEntitiesWithIds(ids: readonly number[]): [number, Entity][] {
		const byId = new Map<number, Entity>();
		for (const r of this.#sql.exec<{ id: number; name: string; entity_type: string }>(
			`SELECT id, name, entity_type FROM mem_entities WHERE id IN (${marks(ids.length)})`,
			...ids,
		)) {
			byId.set(r.id, { name: r.name, entityType: r.entity_type, observations: [] });
		}
		for (const o of this.#sql.exec<{ entity_id: number; content: string }>(
			`SELECT entity_id, content FROM mem_observations WHERE entity_id IN (${marks(ids.length)}) ORDER BY id`,
			...ids,
		)) {
			byId.get(o.entity_id)?.observations.push(o.content);
		}
		return [...byId.entries()].sort((a, b) => a[0] - b[0]);
	}

	#relationsTouching(names: readonly string[]): Relation[] {
		const found = new Map<number, Relation>();
		for (const group of chunks(names)) {
			for (const column of ["from_name", "to_name"]) {
				for (const r of this.#sql.exec<{ id: number; from_name: string; to_name: string; relation_type: string }>(
					`SELECT id, from_name, to_name, relation_type FROM mem_relations WHERE ${column} IN (${marks(group.length)})`,
					...group,
				)) {
					found.set(r.id, { from: r.from_name, to: r.to_name, relationType: r.relation_type });
				}
			}
		}
		return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
	}
}

/** The characters an entity adds to a page. */
function entitySize(e: Entity): number {
	let n = e.name.length + e.entityType.length;
	for (const o of e.observations) n += o.length;
	return n;
}
