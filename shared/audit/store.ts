/**
 * @module shared/audit/store
 * The tenant's audit trail in its SQLite storage: one hash-chained row per MCP request that
 * reaches the tenant and per auth event. `append` is synchronous so the kernel can write a
 * tool's state change and its audit row in the same transaction. Arguments are stored only as a
 * SHA-256 digest of their canonical JSON, plus the fields a tool marks as safe to log.
 */
import { sha256Hex } from "../sha256";
import { canonicalJson, GENESIS, rowHash } from "./chain.mjs";

/** Decision recorded for a request. */
export type Decision = "allowed" | "denied" | "rate_limited" | "error";

/** What the caller supplies for a row; `seq`, `ts` (when absent) and hashes are added here. */
export interface AuditInput {
	ts?: number;
	tenant: string;
	user: string;
	client: string;
	session?: string | null;
	lane: string;
	protocol: string;
	method: string;
	tool?: string | null;
	argsDigest?: string | null;
	args?: string | null;
	decision: Decision;
	outcome: string;
	durationMs: number;
	trace: string;
}

/** A stored row. */
export interface AuditRow extends Required<AuditInput> {
	seq: number;
	prevHash: string;
	hash: string;
}

/** Filters for {@link AuditStore.query}; newest first, paginated by `before` (a seq cursor). */
export interface AuditQuery {
	/** Only rows of this user. */
	user?: string;
	since?: number;
	until?: number;
	tool?: string;
	client?: string;
	decision?: Decision;
	before?: number;
	limit: number;
}

/** Schema migration for the audit trail (never edit: add a new migration instead). */
export const AUDIT_SCHEMA_V1 = `
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, tenant TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
  session TEXT, lane TEXT NOT NULL, protocol TEXT NOT NULL, method TEXT NOT NULL, tool TEXT, args_digest TEXT, args TEXT,
  decision TEXT NOT NULL, outcome TEXT NOT NULL, duration_ms INTEGER NOT NULL, trace TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX audit_ts ON audit (ts);
CREATE INDEX audit_tool ON audit (tool, seq);
CREATE INDEX audit_client ON audit (client_id, seq);
CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
`;

/** Longest text kept in `outcome` and `args` (SQLite rows stay far below the 2 MB value limit). */
const MAX_TEXT = 2048;

/** Digest of a value's canonical JSON: what the trail keeps instead of raw arguments. */
export function digest(value: unknown): string {
	return sha256Hex(canonicalJson(value ?? null));
}

type Row = {
	seq: number;
	ts: number;
	tenant: string;
	user_id: string;
	client_id: string;
	session: string | null;
	lane: string;
	protocol: string;
	method: string;
	tool: string | null;
	args_digest: string | null;
	args: string | null;
	decision: string;
	outcome: string;
	duration_ms: number;
	trace: string;
	prev_hash: string;
	hash: string;
};

const fromRow = (r: Row): AuditRow => ({
	seq: r.seq,
	ts: r.ts,
	tenant: r.tenant,
	user: r.user_id,
	client: r.client_id,
	session: r.session,
	lane: r.lane,
	protocol: r.protocol,
	method: r.method,
	tool: r.tool,
	argsDigest: r.args_digest,
	args: r.args,
	decision: r.decision as Decision,
	outcome: r.outcome,
	durationMs: r.duration_ms,
	trace: r.trace,
	prevHash: r.prev_hash,
	hash: r.hash,
});

/**
 * Schema migration: the trail's indexes trimmed to the queries that exist. Every `audit_log` query
 * is the caller's own rows newest first (`user_id = ? … ORDER BY seq DESC`): one index on
 * `(user_id, seq)`, the tool, client, decision and time filters checked on that user's rows. The
 * account page's recent activity, export and verification walk the primary key. The tool and
 * client indexes served no query (a filter on them always comes with the user) and cost two B-tree
 * inserts on every row. (`audit_ts`, kept here for retention, went in {@link AUDIT_INDEXES_V3}.)
 */
export const AUDIT_INDEXES_V2 = `
DROP INDEX IF EXISTS audit_tool;
DROP INDEX IF EXISTS audit_client;
CREATE INDEX IF NOT EXISTS audit_user ON audit (user_id, seq);
`;

/**
 * The statement of `query`'s filters with its bound values; with {@link AUDIT_PAGE_SQL} (export)
 * and {@link AUDIT_PRUNE_PROBE_SQL} (a step of the retention cut), exported for the test that
 * checks each is served by an index.
 */
export function auditQuerySql(q: AuditQuery): { sql: string; args: (string | number)[] } {
	const where: string[] = [];
	const args: (string | number)[] = [];
	if (q.user !== undefined) where.push("user_id = ?"), args.push(q.user);
	if (q.since !== undefined) where.push("ts >= ?"), args.push(q.since);
	if (q.until !== undefined) where.push("ts <= ?"), args.push(q.until);
	if (q.tool !== undefined) where.push("tool = ?"), args.push(q.tool);
	if (q.client !== undefined) where.push("client_id = ?"), args.push(q.client);
	if (q.decision !== undefined) where.push("decision = ?"), args.push(q.decision);
	if (q.before !== undefined) where.push("seq < ?"), args.push(q.before);
	args.push(q.limit + 1);
	return { sql: `SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`, args };
}

/**
 * Schema migration: the time index goes. It served only the retention cut, which now finds the
 * last row before the cutoff by a binary search over `seq` (rows' times never decrease along the
 * chain: {@link AuditStore.append}); the time filters of `audit_log` run on the caller's rows of
 * `audit_user`. One B-tree insert fewer on every row (docs/performance.md, the audit row).
 */
export const AUDIT_INDEXES_V3 = "DROP INDEX IF EXISTS audit_ts;";

/** The export page's statement (oldest first after a seq), and one step of the pruning cut's search. */
export const AUDIT_PAGE_SQL = "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?";
export const AUDIT_PRUNE_PROBE_SQL = "SELECT ts FROM audit WHERE seq = ?";

/**
 * Text as SQLite will store and return it, so the hash covers what verification reads back: cut
 * to `max` UTF-16 units, and any lone surrogate (sent by a client, e.g. in an unknown tool's name,
 * or left by the cut inside a pair) replaced by U+FFFD, as the UTF-8 conversion would. Otherwise
 * the row's stored text differs from its hashed text and the chain no longer verifies.
 */
function stored(s: string, max = Number.POSITIVE_INFINITY): string {
	const cut = s.length > max ? s.slice(0, max) : s;
	return cut.isWellFormed() ? cut : cut.replace(/\p{Surrogate}/gu, "\uFFFD");
}

/** The audit trail of one tenant. */
export class AuditStore {
	readonly #sql: SqlStorage;
	/**
	 * The chain head (last row's seq and hash, or the anchor) as last written by this instance;
	 * `undefined` when unknown. Only valid while this instance is the trail's only writer (the
	 * TenantObject's): the owner must call {@link forget} when a transaction that appended fails.
	 */
	#head: { seq: number; hash: string; ts: number } | null | undefined;
	constructor(sql: SqlStorage) {
		this.#sql = sql;
	}

	/**
	 * Drops the cached chain head: the next append reads it from storage. The kernel calls it when a
	 * transaction fails, since a rolled-back append must not leave a head that no longer exists.
	 */
	forget(): void {
		this.#head = undefined;
	}

	/** Appends one row, chained to the previous one. Synchronous: call it inside the transaction. */
	append(input: AuditInput): AuditRow {
		// The head is read once per instance, then kept: this instance is the only writer, and a
		// failed transaction drops it (forget). The read is a primary-key seek, or the anchor.
		const last = this.#head !== undefined ? this.#head : this.#readHead();
		const row = {
			seq: (last?.seq ?? 0) + 1,
			// A row's time never precedes its predecessor's (a clock stepping back, or a call that
			// started before the previous row was written, is held at the last time seen): the
			// retention cut's binary search over seq relies on it.
			ts: Math.max(input.ts ?? Date.now(), last?.ts ?? 0),
			tenant: stored(input.tenant),
			user: stored(input.user),
			client: stored(input.client),
			session: input.session == null ? null : stored(input.session),
			lane: stored(input.lane),
			protocol: stored(input.protocol),
			method: stored(input.method, 128),
			tool: input.tool == null ? null : stored(input.tool, 128),
			argsDigest: input.argsDigest ?? null,
			args: input.args ? stored(input.args, MAX_TEXT) : null,
			decision: input.decision,
			outcome: stored(input.outcome, MAX_TEXT),
			durationMs: Math.max(0, Math.round(input.durationMs)),
			trace: stored(input.trace, 64),
		};
		const prevHash = last?.hash ?? GENESIS;
		const hash = rowHash(sha256Hex, prevHash, row);
		this.#sql.exec(
			`INSERT INTO audit (seq, ts, tenant, user_id, client_id, session, lane, protocol, method, tool, args_digest, args, decision, outcome, duration_ms, trace, prev_hash, hash)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			row.seq,
			row.ts,
			row.tenant,
			row.user,
			row.client,
			row.session,
			row.lane,
			row.protocol,
			row.method,
			row.tool,
			row.argsDigest,
			row.args,
			row.decision,
			row.outcome,
			row.durationMs,
			row.trace,
			prevHash,
			hash,
		);
		this.#head = { seq: row.seq, hash, ts: row.ts };
		return { ...row, prevHash, hash };
	}

	/** The last row, or the anchor after a prune emptied the trail (its time unknown: 0, so the next row keeps its own). */
	#readHead(): { seq: number; hash: string; ts: number } | null {
		const last = this.#sql.exec<{ seq: number; hash: string; ts: number }>("SELECT seq, hash, ts FROM audit ORDER BY seq DESC LIMIT 1");
		const row = last.toArray()[0];
		if (row) return row;
		const anchor = this.anchor();
		return anchor && { ...anchor, ts: 0 };
	}

	/** Rows matching `q`, newest first, at most `q.limit`; `next` is the cursor for the page after. */
	query(q: AuditQuery): { rows: AuditRow[]; next: number | null } {
		const { sql, args } = auditQuerySql(q);
		const rows = this.#sql
			.exec<Row>(sql, ...args)
			.toArray()
			.map(fromRow);
		const more = rows.length > q.limit;
		const page = rows.slice(0, q.limit);
		return { rows: page, next: more ? page[page.length - 1]!.seq : null };
	}

	/** Rows oldest first, starting after `afterSeq`, at most `limit` (for export). */
	page(afterSeq: number, limit: number): AuditRow[] {
		return this.#sql.exec<Row>(AUDIT_PAGE_SQL, afterSeq, limit).toArray().map(fromRow);
	}

	/** The hash of the last pruned row, when anything was pruned. */
	anchor(): { seq: number; hash: string } | null {
		return this.#sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_anchor WHERE id = 1").toArray()[0] ?? null;
	}

	/**
	 * Deletes rows older than `cutoff` and moves the anchor to the last deleted row, in one
	 * transaction (the caller's). Running it twice deletes nothing the second time.
	 */
	prune(cutoff: number): number {
		const cut = this.pruneCut(cutoff);
		if (cut === null) return 0;
		const last = this.#sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit WHERE seq = ?", cut).one();
		const n = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE seq <= ?", cut).one().n;
		this.#sql.exec("INSERT OR REPLACE INTO audit_anchor (id, seq, hash) VALUES (1, ?, ?)", last.seq, last.hash);
		this.#sql.exec("DELETE FROM audit WHERE seq <= ?", cut);
		return n;
	}

	/**
	 * The seq of the last row older than `cutoff`, or null: a binary search over the trail's seqs
	 * (contiguous from the anchor to the head), one primary-key probe per step, about 20 for a
	 * million rows. Exact because times never decrease along the chain; rows written before
	 * migration 16 held no such rule, and among those a row out of clock order may be cut one
	 * retention run early or late.
	 *
	 * @example
	 * ```ts
	 * // rows 1–3 at ts 100, 100, 150
	 * store.pruneCut(150); // 2
	 * store.pruneCut(100); // null
	 * ```
	 */
	pruneCut(cutoff: number): number | null {
		const bounds = this.#sql
			.exec<{ lo: number | null; hi: number | null }>("SELECT (SELECT MIN(seq) FROM audit) AS lo, (SELECT MAX(seq) FROM audit) AS hi")
			.one();
		if (bounds.lo === null || bounds.hi === null) return null;
		let lo = bounds.lo;
		let hi = bounds.hi;
		let found: number | null = null;
		while (lo <= hi) {
			const mid = lo + Math.floor((hi - lo) / 2);
			const row = this.#sql.exec<{ ts: number }>(AUDIT_PRUNE_PROBE_SQL, mid).toArray()[0];
			if (row && row.ts < cutoff) {
				found = mid;
				lo = mid + 1;
			} else hi = mid - 1;
		}
		return found;
	}
}
