/**
 * @module shared/audit/verify-chunks
 * Verifying a tenant's audit trail a bounded chunk at a time. A tenant's object is single-threaded:
 * re-hashing a trail of a million rows in one turn (about 20 s of SHA-256 and SQLite reads) would
 * hold every tool call of every member behind it. So the kernel verifies at most
 * {@link AUDIT_VERIFY_CHUNK} rows per call and returns a cursor (the last verified row's `seq`
 * and `hash`, and the count so far); the caller (the admin route) calls again with it. Between two
 * calls other requests run, and each call starts its own CPU budget.
 *
 * Rows appended between calls are verified when the cursor reaches them. Rows pruned between calls
 * (the retention alarm) move the anchor past the cursor: verification then resumes from the new
 * anchor, as a fresh verification would.
 */
import { verifyChain, type ChainVerdict } from "./chain.mjs";
import type { AuditStore } from "./store";

/**
 * Rows verified per kernel call. Measured in workerd on the 2-core development machine: about 45 ms
 * per 2,000 rows (docs/security.md "Limits on expensive paths"); a tool call waits at most one chunk.
 */
export const AUDIT_VERIFY_CHUNK = 2000;

/** Where a chunked verification resumes: after row `seq`, whose hash is `hash`; `checked` rows so far. */
export interface VerifyCursor {
	seq: number;
	hash: string;
	checked: number;
}

/** A chunk's verdict (counts are totals since the first chunk); `next` is null when the trail is done or broken. */
export type ChunkVerdict = ChainVerdict & { next: VerifyCursor | null };

/**
 * Verifies the next chunk of `store`'s trail: from its anchor when `from` is null, else after
 * `from`. Synchronous SQL reads, at most `limit` rows (clamped to 1…{@link AUDIT_VERIFY_CHUNK}).
 *
 * @example
 * ```ts
 * let v = verifyChunk(audit, sha256Hex, null);
 * while (v.next) v = verifyChunk(audit, sha256Hex, v.next); // one kernel call each
 * ```
 */
export function verifyChunk(
	store: Pick<AuditStore, "anchor" | "page">,
	sha256Hex: (text: string) => string,
	from: VerifyCursor | null,
	limit = AUDIT_VERIFY_CHUNK,
): ChunkVerdict {
	const size = Math.min(Math.max(1, Math.floor(limit) || 1), AUDIT_VERIFY_CHUNK);
	const anchor = store.anchor();
	const before = from?.checked ?? 0;
	// A fresh start, or rows pruned past the cursor since the last chunk: resume from the anchor.
	const start = from === null || (anchor !== null && anchor.seq > from.seq) ? anchor : { seq: from.seq, hash: from.hash };
	const rows = store.page(start?.seq ?? 0, size);
	const verdict = verifyChain(sha256Hex, start, rows as unknown as Parameters<typeof verifyChain>[2]);
	const checked = before + verdict.checked;
	if (!verdict.ok) return { ...verdict, checked, next: null };
	const last = rows[rows.length - 1];
	const next = rows.length === size && last ? { seq: last.seq, hash: last.hash, checked } : null;
	return { ok: true, checked, next };
}
