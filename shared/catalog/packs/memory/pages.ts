/**
 * @module shared/catalog/packs/memory/pages
 * Paging of the two reads whose answer grows with the graph, `read_graph` and `search_nodes`:
 * their bounds, the cursor, and the note that says a result is a page.
 *
 * A graph under the bounds gets the reference server's exact answer (`{ entities, relations }`,
 * nothing else). Past them, a call returns one page and says so, in `structuredContent`
 * (`nextCursor`, `page`) and at the end of the text: "showing N of M; pass cursor … for more".
 *
 * - `read_graph` pages through the entities in insertion order, then the relations: at most
 *   `limit` of them together per page (and about {@link PAGE_TEXT_BUDGET} characters), so the
 *   pages add up to the whole graph, each entity and relation once.
 * - `search_nodes` pages through the matching entities in insertion order, at most `limit` per
 *   page, each with the relations that touch it (the reference rule, per page: a relation between
 *   entities on two pages shows on both). It examines at most {@link SCAN_BUDGET} entities per call
 *   (a one- or two-character query cannot use the index and reads every entity), so a page may
 *   hold fewer than `limit` matches and still have a next one.
 *
 * A cursor is a position (the last entity or relation id returned or examined), not a secret: it
 * can only name rows of the caller's own tenant. It is opaque (base64url JSON) so clients do not
 * build their own, and a search cursor carries a digest of its query so it is not reused for
 * another one.
 */
import { ToolError } from "../../../errors";

/** Entities (and relations) per page when the caller does not say. */
export const DEFAULT_PAGE = 500;
/** Largest `limit` accepted. */
export const MAX_PAGE = 1000;
/** Characters of names, types and observations per page; a page always holds at least one entity. */
export const PAGE_TEXT_BUDGET = 2_000_000;
/** Entities `search_nodes` examines per call (measured in docs/security.md §Limits). */
export const SCAN_BUDGET = 5_000;

/** Where the next page starts. */
export type Cursor =
	| { tool: "read_graph"; phase: "entities" | "relations"; after: number }
	| { tool: "search_nodes"; after: number; query: string };

/** How a page came out, for its note. */
export type PageInfo =
	| { tool: "read_graph"; entities: number; relations: number; totalEntities: number; totalRelations: number; next?: Cursor }
	| { tool: "search_nodes"; entities: number; relations: number; searched: number; totalEntities: number; next?: Cursor };

/** What a paged read adds to `{ entities, relations }`. */
export interface PageFields {
	nextCursor?: string;
	page?: { showing: string; totalEntities: number; totalRelations?: number; searchedEntities?: number };
}

/** FNV-1a of the lower-cased query: binds a search cursor to its query without carrying it. */
function queryDigest(needle: string): string {
	let h = 0x811c9dc5;
	for (let i = 0; i < needle.length; i++) {
		h ^= needle.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return (h >>> 0).toString(16).padStart(8, "0");
}

const b64url = (s: string) => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

/**
 * The opaque form of a cursor.
 *
 * @example
 * ```ts
 * const next = encodeCursor({ tool: "read_graph", phase: "entities", after: 500 });
 * decodeCursor("read_graph", next); // { tool: "read_graph", phase: "entities", after: 500 }
 * ```
 */
export function encodeCursor(c: Cursor): string {
	const body =
		c.tool === "read_graph"
			? { t: "g", p: c.phase === "entities" ? "e" : "r", a: c.after }
			: { t: "s", a: c.after, q: queryDigest(c.query.toLowerCase()) };
	return b64url(JSON.stringify(body));
}

const invalid = (tool: string) =>
	new ToolError(
		`Invalid cursor: pass the nextCursor of the previous ${tool} result unchanged, or leave cursor out to start from the beginning.`,
	);

/** The cursor a client passed back; a tool error when it is not one this tool issued (for this query). */
export function decodeCursor(tool: "read_graph", cursor: string): Extract<Cursor, { tool: "read_graph" }>;
export function decodeCursor(tool: "search_nodes", cursor: string, query: string): Extract<Cursor, { tool: "search_nodes" }>;
export function decodeCursor(tool: Cursor["tool"], cursor: string, query = ""): Cursor {
	let v: { t?: unknown; p?: unknown; a?: unknown; q?: unknown };
	try {
		if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw invalid(tool);
		v = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
	} catch {
		throw invalid(tool);
	}
	if (typeof v !== "object" || v === null || typeof v.a !== "number" || !Number.isSafeInteger(v.a) || v.a < 0) throw invalid(tool);
	if (tool === "read_graph" && v.t === "g" && (v.p === "e" || v.p === "r"))
		return { tool, phase: v.p === "e" ? "entities" : "relations", after: v.a };
	if (tool === "search_nodes" && v.t === "s") {
		if (v.q !== queryDigest(query.toLowerCase()))
			throw new ToolError("This cursor belongs to another query: pass the same query with it, or leave cursor out to start a new search.");
		return { tool, after: v.a, query };
	}
	throw invalid(tool);
}

const n = (x: number) => x.toLocaleString("en-US");

/** The fields a page adds, with the sentence that says what it shows and how to go on. */
export function pageFields(info: PageInfo): PageFields {
	const next = info.next ? encodeCursor(info.next) : undefined;
	const more = next ? ` Pass cursor "${next}" to ${info.tool}${info.tool === "search_nodes" ? " with the same query" : ""} for more.` : "";
	if (info.tool === "read_graph") {
		const showing =
			`Showing ${n(info.entities)} entities and ${n(info.relations)} relations of ${n(info.totalEntities)} entities and ` +
			`${n(info.totalRelations)} relations (pages hold entities first, then relations).${more || " This is the last page."}`;
		return {
			...(next ? { nextCursor: next } : {}),
			page: { showing, totalEntities: info.totalEntities, totalRelations: info.totalRelations },
		};
	}
	const showing =
		`Showing ${n(info.entities)} matching entities (and ${n(info.relations)} relations touching them); ` +
		`${n(info.searched)} of ${n(info.totalEntities)} entities searched so far.${more || " No more matches."}`;
	return {
		...(next ? { nextCursor: next } : {}),
		page: { showing, totalEntities: info.totalEntities, searchedEntities: info.searched },
	};
}

/** The text block of a read: the graph as the reference prints it, then the page sentence when paged. */
export function graphText(o: { entities: unknown[]; relations: unknown[] } & PageFields): string {
	const graph = JSON.stringify({ entities: o.entities, relations: o.relations }, null, 2);
	return o.page ? `${graph}\n\n${o.page.showing}` : graph;
}
