/**
 * @module objects/tenant/sessions
 * The tenant's one table of sessions, `sessions`: every MCP session of the tenant is one row, a
 * Streamable HTTP session (`kind` 'streamable': owner, the grant that opened it, the revision it
 * negotiated, its stored `initialize`, when it opened, when it was last seen, whether a
 * SessionObject holds it too) or a 2024-11-05 SSE session (`kind` 'sse': no stored `initialize`;
 * its state is its SessionObject, which is its stream). With it, the requests of a Streamable HTTP
 * session that need no protocol state of their own (the opening `initialize`,
 * `notifications/initialized`, a tool call that sends nothing before its result) take one Durable
 * Object hop, front Worker → TenantObject, and a session that makes only such requests never
 * creates its SessionObject (docs/architecture.md §Sessions). The SessionObject is created by the
 * first request that needs it and adopts the session from here.
 *
 * The same rows are the live-session cap's slots (objects/tenant/session-cap.ts counts them): a
 * DELETE or an expiry removes the row and so frees the slot; revoking a grant or key removes its
 * rows at once ({@link SessionRegistry.takeSessionsOf}).
 *
 * Liveness has one rule everywhere (`shared/rpc/liveness.ts`): a row is live while
 * `now - last_seen < ttl`; a stale row is treated as absent and pruned by the retention alarm. A
 * request refreshes `last_seen` when it is a minute old (half the TTL when that is shorter);
 * adoption by a SessionObject writes it too. An SSE row's `last_seen` is its opening: its
 * SessionObject keeps its own and ends the row when the session expires.
 *
 * The TenantObject is this table's only writer (tool handlers never touch it), which is what lets
 * {@link SessionRegistry} keep an exact copy in memory.
 */
import type { RegisteredSession, SessionRegistration } from "../../shared/rpc/kernel";
import { isLive, touchDue } from "../../shared/rpc/liveness";
import type { SessionOwner, VerifiedPrincipal } from "../../shared/rpc/principal";

/** Whose session: a caller or a session's owner (only the identity fields are read). */
type Who = VerifiedPrincipal | SessionOwner;

/** Schema (never edit: add a new migration). Also indexes the cap's expiry scan. */
export const SESSIONS_SCHEMA_V1 = `
CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, protocol_version TEXT NOT NULL,
  init TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, has_object INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_last_seen ON sessions (last_seen);
CREATE INDEX live_sessions_created ON live_sessions (created_at);
`;

/**
 * Schema change (never edit: add a new migration): the registry (`sessions`) and the cap's slots
 * (`live_sessions`) become one table, `sessions`. A registry row takes the grant of its slot; a
 * slot without a registry row is a 2024-11-05 SSE session (its state is in its SessionObject). A
 * registry row whose slot was already freed (its credential revoked, or opened longer than a TTL
 * ago) is kept, but dated at least an hour back so that it holds no slot again (the cap counts rows
 * opened within the last hour at most).
 */
export const SESSIONS_SCHEMA_V2 = `
CREATE TABLE sessions_v2 (
  session_id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('streamable', 'sse')),
  user_id TEXT NOT NULL, client_id TEXT NOT NULL, grant_id TEXT, protocol_version TEXT NOT NULL, init TEXT,
  created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, has_object INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sessions_v2 (session_id, kind, user_id, client_id, grant_id, protocol_version, init, created_at, last_seen, has_object)
  SELECT s.session_id, 'streamable', s.user_id, s.client_id, l.grant_id, s.protocol_version, s.init,
    CASE WHEN l.session_id IS NULL
      THEN MIN(s.created_at, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 3600000)
      ELSE s.created_at END,
    s.last_seen, s.has_object
  FROM sessions s LEFT JOIN live_sessions l ON l.session_id = s.session_id AND l.user_id = s.user_id;
INSERT OR IGNORE INTO sessions_v2 (session_id, kind, user_id, client_id, grant_id, protocol_version, init, created_at, last_seen, has_object)
  SELECT session_id, 'sse', user_id, client_id, grant_id, '2024-11-05', NULL, created_at, created_at, 1 FROM live_sessions;
DROP TABLE sessions;
DROP TABLE live_sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
CREATE INDEX sessions_last_seen ON sessions (last_seen);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_client ON sessions (user_id, client_id, created_at);
`;

/** A row's kind: a Streamable HTTP session, or a 2024-11-05 SSE session. */
export type SessionKind = "streamable" | "sse";

type Row = {
	kind: SessionKind;
	protocol_version: string;
	init: string | null;
	created_at: number;
	last_seen: number;
	has_object: number;
	user_id: string;
	client_id: string;
};
/** A Streamable HTTP row as last read or written (SSE rows are never kept: nothing looks them up). */
type Known = { userId: string; clientId: string; protocolVersion: string; createdAt: number; lastSeen: number; hasObject: boolean };

/** Most sessions kept in memory per kernel instance; past that the copy starts afresh. */
const MAX_KNOWN = 4096;

/**
 * The one session table over the kernel's SQLite storage.
 *
 * @example
 * ```ts
 * const sessions = new SessionRegistry(ctx.storage.sql, ttlMs);
 * const live = sessions.find(principal, sessionId, Date.now(), "touch"); // null: unknown, stale or not theirs
 * ```
 * The TenantObject is the table's only writer, so
 * an in-memory copy of the rows it has read or written stays exact and spares a tool call the
 * lookup; `forget()` drops it after a transaction that failed (its writes were rolled back).
 */
export class SessionRegistry {
	readonly #sql: SqlStorage;
	readonly #ttlMs: number;
	readonly #known = new Map<string, Known>();

	constructor(sql: SqlStorage, ttlMs: number) {
		this.#sql = sql;
		this.#ttlMs = ttlMs;
	}

	/**
	 * Records a session opened by `p` (inside the caller's transaction, after the cap check): a
	 * Streamable HTTP session with its registration, or a 2024-11-05 SSE session without.
	 */
	open(p: VerifiedPrincipal, sessionId: string, s: SessionRegistration | null, now: number): void {
		this.#sql.exec(
			"INSERT INTO sessions (session_id, kind, user_id, client_id, grant_id, protocol_version, init, created_at, last_seen, has_object) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			sessionId,
			s ? "streamable" : "sse",
			p.userId,
			p.clientId,
			p.grantId ?? null,
			s ? s.protocolVersion : "2024-11-05",
			s ? s.init : null,
			now,
			now,
			s ? 0 : 1,
		);
		if (s)
			this.#remember(sessionId, {
				userId: p.userId,
				clientId: p.clientId,
				protocolVersion: s.protocolVersion,
				createdAt: now,
				lastSeen: now,
				hasObject: false,
			});
	}

	/**
	 * The live Streamable HTTP session `sessionId` of `p`, or null: unknown, stale, someone else's
	 * or an SSE session (the same null, so a caller cannot tell them apart). `touch` refreshes
	 * `last_seen` when it is a minute old; `adopt` also records that a SessionObject now holds the
	 * session; `peek` only reads.
	 */
	find(p: Who, sessionId: string, now: number, use: "touch" | "adopt" | "peek"): RegisteredSession | null {
		let known = use === "adopt" ? undefined : this.#known.get(sessionId);
		let init: string | undefined;
		if (!known) {
			const row = this.#sql
				.exec<Row>(
					"SELECT kind, protocol_version, init, created_at, last_seen, has_object, user_id, client_id FROM sessions WHERE session_id = ?",
					sessionId,
				)
				.toArray()[0];
			if (row?.kind !== "streamable" || row.init === null) return null;
			known = {
				userId: row.user_id,
				clientId: row.client_id,
				protocolVersion: row.protocol_version,
				createdAt: row.created_at,
				lastSeen: row.last_seen,
				hasObject: row.has_object === 1,
			};
			init = row.init;
			this.#remember(sessionId, known);
		}
		if (known.userId !== p.userId || known.clientId !== p.clientId || !isLive(known.lastSeen, now, this.#ttlMs)) return null;
		if (use === "adopt" && !known.hasObject) {
			this.#sql.exec("UPDATE sessions SET has_object = 1, last_seen = ? WHERE session_id = ?", now, sessionId);
			known.hasObject = true;
			known.lastSeen = now;
		} else if (use !== "peek" && touchDue(known.lastSeen, now, this.#ttlMs)) {
			this.#sql.exec("UPDATE sessions SET last_seen = ? WHERE session_id = ?", now, sessionId);
			known.lastSeen = now;
		}
		return {
			protocolVersion: known.protocolVersion,
			...(use === "adopt" && init !== undefined ? { init } : {}),
			createdAt: known.createdAt,
			lastSeen: known.lastSeen,
			hasObject: known.hasObject,
		};
	}

	/**
	 * Ends a session of `p` (its row, and so its cap slot): the live Streamable HTTP session it was,
	 * or null. `by` says who ends it: a `delete` (the client's DELETE) ends a Streamable HTTP row
	 * only; an `expiry` (the session's SessionObject, as its owner) ends a row of either kind.
	 * Another principal's row (another client of the same user included) is left as it is.
	 */
	end(p: Who, sessionId: string, now: number, by: "delete" | "expiry"): RegisteredSession | null {
		const found = this.find(p, sessionId, now, "peek");
		this.#sql.exec(
			`DELETE FROM sessions WHERE session_id = ? AND user_id = ? AND client_id = ?${by === "delete" ? " AND kind = 'streamable'" : ""}`,
			sessionId,
			p.userId,
			p.clientId,
		);
		if (found) this.#known.delete(sessionId);
		return found;
	}

	/**
	 * Ends the sessions of a revoked credential (their rows, so their slots are free at once) and
	 * returns their ids, whose streams must close: those a grant opened (`grantId`), or every
	 * session of an API key's client id. Rows of a grant opened before rows named their grant are
	 * matched by (user, client).
	 */
	takeSessionsOf(who: { userId: string; clientId: string; grantId?: string }): string[] {
		const rows =
			who.grantId === undefined
				? this.#sql.exec<{ session_id: string }>(
						"DELETE FROM sessions WHERE user_id = ? AND client_id = ? RETURNING session_id",
						who.userId,
						who.clientId,
					)
				: this.#sql.exec<{ session_id: string }>(
						"DELETE FROM sessions WHERE user_id = ? AND client_id = ? AND (grant_id = ? OR grant_id IS NULL) RETURNING session_id",
						who.userId,
						who.clientId,
						who.grantId,
					);
		const ids = rows.toArray().map((r) => r.session_id);
		for (const id of ids) this.#known.delete(id);
		return ids;
	}

	/** Ends every session of the tenant (its deletion): who owned each, for closing their streams. */
	takeAll(): { session_id: string; user_id: string; client_id: string }[] {
		this.#known.clear();
		return this.#sql
			.exec<{ session_id: string; user_id: string; client_id: string }>("DELETE FROM sessions RETURNING session_id, user_id, client_id")
			.toArray();
	}

	/** Drops stale rows (indexed: costs a lookup when there are none); stale copies are refused anyway. */
	prune(now: number): void {
		this.#sql.exec("DELETE FROM sessions WHERE last_seen <= ?", now - this.#ttlMs);
	}

	/** Drops the in-memory copy (after a failed transaction, or a change made behind the registry's back). */
	forget(): void {
		this.#known.clear();
	}

	#remember(sessionId: string, known: Known): void {
		if (this.#known.size >= MAX_KNOWN) this.#known.clear();
		this.#known.set(sessionId, known);
	}
}
