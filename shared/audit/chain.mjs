/**
 * @module shared/audit/chain
 * The audit trail's hash chain, in plain JavaScript so that the Worker (bundled), the tests and
 * the operator CLI (plain Node, `bin/smcp.mjs`) share one implementation. Each row's hash covers
 * its fields (canonical JSON) and the previous row's hash, so editing, deleting or reordering a
 * row breaks every link after it. Pruning keeps an anchor: the hash of the last pruned row.
 *
 * The SHA-256 function is passed in: synchronous `sha256Hex` inside the Worker (no `await` inside
 * the transaction), `node:crypto` in the CLI.
 */

/** The hash that precedes the first row of a tenant's trail. */
export const GENESIS = "0".repeat(64);

/** The row fields the hash covers, in the order they are stored. */
export const HASHED_FIELDS = /** @type {const} */ ([
	"seq",
	"ts",
	"tenant",
	"user",
	"client",
	"session",
	"lane",
	"protocol",
	"method",
	"tool",
	"argsDigest",
	"args",
	"decision",
	"outcome",
	"durationMs",
	"trace",
]);

/**
 * Canonical JSON: keys sorted at every level, no whitespace, undefined members dropped.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
	if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
	const obj = /** @type {Record<string, unknown>} */ (value);
	return `{${Object.keys(obj)
		.filter((k) => obj[k] !== undefined)
		.sort()
		.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
		.join(",")}}`;
}

/**
 * The hash of one row: SHA-256 over the previous hash and the row's canonical fields.
 * @param {(text: string) => string} sha256Hex
 * @param {string} prevHash
 * @param {Record<string, unknown>} row
 * @returns {string}
 */
export function rowHash(sha256Hex, prevHash, row) {
	return sha256Hex(`${prevHash}\n${canonicalRow(row)}`);
}

/** The hashed fields in canonical (sorted) order, with their JSON keys. */
const SORTED = [...HASHED_FIELDS].sort().map((f) => /** @type {const} */ ([f, `${JSON.stringify(f)}:`]));

/**
 * `canonicalJson` of the row's hashed fields (missing ones as null), built directly: the fields
 * are a fixed set and their values are strings, numbers or null (anything else takes the
 * general path). Equal to the general form by construction; chain.test.ts checks it.
 * @param {Record<string, unknown>} row
 * @returns {string}
 */
export function canonicalRow(row) {
	let out = "{";
	for (const [f, key] of SORTED) {
		const v = row[f] ?? null;
		if (v !== null && typeof v === "object") {
			/** @type {Record<string, unknown>} */
			const fields = {};
			for (const g of HASHED_FIELDS) fields[g] = row[g] ?? null;
			return canonicalJson(fields);
		}
		out += `${out.length > 1 ? "," : ""}${key}${JSON.stringify(v) ?? "null"}`;
	}
	return `${out}}`;
}

/**
 * Verifies a trail from its anchor. Reports the first broken link.
 * @param {(text: string) => string} sha256Hex
 * @param {{ seq: number, hash: string } | null} anchor the last pruned row, or null when nothing was pruned
 * @param {Iterable<Record<string, unknown> & { seq: number, prevHash: string, hash: string }>} rows oldest first
 * @returns {{ ok: true, checked: number } | { ok: false, checked: number, seq: number, reason: "prev_mismatch" | "hash_mismatch" | "seq_gap" }}
 */
export function verifyChain(sha256Hex, anchor, rows) {
	let prev = anchor ? anchor.hash : GENESIS;
	let expectedSeq = anchor ? anchor.seq + 1 : null;
	let checked = 0;
	for (const row of rows) {
		if (expectedSeq !== null && row.seq !== expectedSeq) return { ok: false, checked, seq: row.seq, reason: "seq_gap" };
		if (row.prevHash !== prev) return { ok: false, checked, seq: row.seq, reason: "prev_mismatch" };
		if (rowHash(sha256Hex, prev, row) !== row.hash) return { ok: false, checked, seq: row.seq, reason: "hash_mismatch" };
		prev = row.hash;
		expectedSeq = row.seq + 1;
		checked++;
	}
	return { ok: true, checked };
}
