/**
 * @module shared/catalog/packs/memory/search-index
 * The search index of the memory pack as a pure prefilter: it may return entities that do not
 * match (they are dropped by the exact rule afterwards) but never misses one that does.
 *
 * The rule is the reference server's: an entity matches when `field.toLowerCase()` contains
 * `query.toLowerCase()` for its name, its type or one of its observations (UTF-16 code units,
 * JavaScript's full Unicode lower-casing). The FTS5 trigram index used to hold the original text
 * and fold case its own way (one code point at a time, SQLite's tables), which disagrees with
 * JavaScript: `"İzmir".toLowerCase()` is `i` + U+0307 + `zmir`, a trigram the index never held, so
 * the entity was missed. Now the index holds exactly what the rule compares, the JavaScript
 * lower-cased text, with a case-sensitive trigram tokenizer, and the query asks for trigrams of the
 * lower-cased query. A substring's trigrams are trigrams of the text that contains it, so every
 * true match is a candidate, whatever the script (dotted and dotless i, final sigma, ligatures,
 * combining marks).
 *
 * NUL: the FTS5 query parser cannot take it inside a string (a query with one failed with -32603),
 * so trigrams containing NUL are left out of the query, and NUL is stored as U+0001 in the index
 * (its trigrams are never asked for, and the rest of the text stays indexed either way). A query
 * with no usable trigram (shorter than three code points, or all of them with NUL) scans instead.
 */

/** Separates an entity's name from its type in its index row. */
const SEP = "\u0001";

/**
 * Schema migration 3 of the memory search (tenant migration 13): the index is emptied and
 * re-created with a case-sensitive tokenizer; the rows, JavaScript-lower-cased, are written by
 * {@link MemoryStore.rebuildSearchIfDue} when the tenant starts (SQLite's `lower()` folds ASCII
 * only). Never edit: add a new migration.
 */
export const MEMORY_SEARCH_V3 = `
DROP TABLE mem_search;
CREATE VIRTUAL TABLE mem_search USING fts5 (body, tokenize = 'trigram case_sensitive 1');
CREATE TABLE mem_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO mem_meta (key, value) VALUES ('search_rebuild', 'due');
`;

/** The index text of a string: what the rule compares (lower-cased), NUL stored as U+0001. */
export const indexText = (s: string): string => s.toLowerCase().replaceAll("\0", SEP);

/** The index row of an entity: its name and type. */
export const entityIndexText = (name: string, entityType: string): string => `${indexText(name)}${SEP}${indexText(entityType)}`;

/**
 * The FTS5 query for a substring search, or null when the index cannot help: the needle's
 * non-overlapping trigrams (and its last one), all required, skipping those with NUL. Every row
 * containing the needle contains them, so the rows found are a superset of the true matches. It
 * reads fewer doclists than the phrase of every overlapping trigram and needs no position checks:
 * 2.5× faster on a 10,000-entity graph (docs/performance.md).
 *
 * @example
 * ```ts
 * coveringTrigrams([..."topic-0123"]); // '"top" AND "ic-" AND "012" AND "123"'
 * coveringTrigrams([..."ab"]); // null: scan
 * ```
 */
export function coveringTrigrams(chars: readonly string[]): string | null {
	const grams = new Set<string>();
	const usable = (g: readonly string[]) => !g.includes("\0");
	for (let i = 0; i + 3 <= chars.length; ) {
		const g = chars.slice(i, i + 3);
		if (!usable(g)) {
			i++;
			continue;
		}
		grams.add(g.join(""));
		i += 3;
	}
	const last = chars.slice(-3);
	if (chars.length >= 3 && usable(last)) grams.add(last.join(""));
	return grams.size === 0 ? null : [...grams].map((g) => `"${g.replaceAll('"', '""')}"`).join(" AND ");
}

/** Whether `s` is well-formed UTF-16 (no lone surrogate), so SQLite stores it unchanged. */
export const wellFormed = (s: string): boolean => !/\p{Surrogate}/u.test(s);
