/**
 * @module objects/tenant/sessions
 * The tenant's registry of 2025-era Streamable HTTP sessions: who a session belongs to, the
 * revision it negotiated, its stored `initialize`, when it was last seen and whether a
 * SessionObject holds it too. With it, the requests of a session that need no protocol state of
 * their own (the opening `initialize`, `notifications/initialized`, a tool call that sends nothing
 * before its result) take one Durable Object hop, front Worker → TenantObject, and a session that
 * makes only such requests never creates its SessionObject (docs/architecture.md §Sessions). The
 * SessionObject is created by the first request that needs it and adopts the session from here.
 *
 * Liveness has one rule everywhere (`shared/rpc/liveness.ts`): a row is live while
 * `now - last_seen < ttl`; a stale row is treated as absent and pruned by the retention alarm. A
 * request refreshes `last_seen` when it is a minute old (half the TTL when that is shorter);
 * adoption by a SessionObject writes it too.
 *
 * The TenantObject is this table's only writer (tool handlers never touch it), which is what lets
 * {@link SessionRegistry} keep an exact copy in memory.
 */
import type { RegisteredSession, SessionRegistration } from "../../shared/rpc/kernel";
import type { SessionOwner, VerifiedPrincipal } from "../../shared/rpc/principal";

/** Whose session: a caller or a session's owner (only the identity fields are read). */
type Who = VerifiedPrincipal | SessionOwner;
import { isLive, touchDue } from "../../shared/rpc/liveness";

/** Schema (never edit: add a new migration). Also indexes the cap's expiry scan. */
export const SESSIONS_SCHEMA_V1 = `
CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, protocol_version TEXT NOT NULL,
  init TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, has_object INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_last_seen ON sessions (last_seen);
CREATE INDEX live_sessions_created ON live_sessions (created_at);
`;

type Row = {
	protocol_version: string;
	init: string;
	created_at: number;
	last_seen: number;
	has_object: number;
	user_id: string;
	client_id: string;
};
type Known = { userId: string; clientId: string; protocolVersion: string; createdAt: number; lastSeen: number; hasObject: boolean };

/** Most sessions kept in memory per kernel instance; past that the copy starts afresh. */
const MAX_KNOWN = 4096;

/**
 * The registry over the kernel's SQLite storage.
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

	/** Registers a session opened by `p` (inside the caller's transaction, after the cap check). */
	register(p: Who, sessionId: string, s: SessionRegistration, now: number): void {
		this.#sql.exec(
			"INSERT INTO sessions (session_id, user_id, client_id, protocol_version, init, created_at, last_seen, has_object) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
			sessionId,
			p.userId,
			p.clientId,
			s.protocolVersion,
			s.init,
			now,
			now,
		);
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
	 * The live session `sessionId` of `p`, or null: unknown, stale, or someone else's (the same
	 * null, so a caller cannot tell them apart). `touch` refreshes `last_seen` when it is a minute
	 * old; `adopt` also records that a SessionObject now holds the session; `peek` only reads.
	 */
	find(p: Who, sessionId: string, now: number, use: "touch" | "adopt" | "peek"): RegisteredSession | null {
		let known = use === "adopt" ? undefined : this.#known.get(sessionId);
		let init: string | undefined;
		if (!known) {
			const row = this.#sql
				.exec<Row>(
					"SELECT protocol_version, init, created_at, last_seen, has_object, user_id, client_id FROM sessions WHERE session_id = ?",
					sessionId,
				)
				.toArray()[0];
			if (!row) return null;
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

	/** Ends a session of `p`: the registered session it was (live), or null. */
	end(p: Who, sessionId: string, now: number): RegisteredSession | null {
		const found = this.find(p, sessionId, now, "peek");
		this.#sql.exec("DELETE FROM sessions WHERE session_id = ? AND user_id = ? AND client_id = ?", sessionId, p.userId, p.clientId);
		if (found) this.#known.delete(sessionId);
		return found;
	}

	/** Whether a row (live or stale) holds `sessionId` for a principal other than `p`. */
	heldByOther(p: Who, sessionId: string): boolean {
		const row = this.#sql
			.exec<{ user_id: string; client_id: string }>("SELECT user_id, client_id FROM sessions WHERE session_id = ?", sessionId)
			.toArray()[0];
		return row !== undefined && (row.user_id !== p.userId || row.client_id !== p.clientId);
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
