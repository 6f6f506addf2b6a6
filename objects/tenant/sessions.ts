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
 * Liveness has one rule everywhere: a row is live while `now - last_seen < ttl`; a stale row is
 * treated as absent and pruned. `last_seen` is written at most once a minute per session.
 */
import type { RegisteredSession, SessionRegistration } from "../../shared/kernel-api";
import type { VerifiedPrincipal } from "../../shared/principal";

/** Schema (never edit: add a new migration). Also indexes the cap's expiry scan. */
export const SESSIONS_SCHEMA_V1 = `
CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, protocol_version TEXT NOT NULL,
  init TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, has_object INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_last_seen ON sessions (last_seen);
CREATE INDEX live_sessions_created ON live_sessions (created_at);
`;

/** `last_seen` is written at most this often (the SessionObject's own touch has the same period). */
export const TOUCH_EVERY_MS = 60_000;

type Row = { protocol_version: string; init: string; created_at: number; last_seen: number; has_object: number; user_id: string; client_id: string };

/** Registers a session opened by `p` (inside the caller's transaction, after the cap check). */
export function registerSession(sql: SqlStorage, p: VerifiedPrincipal, sessionId: string, s: SessionRegistration, now: number): void {
	sql.exec(
		"INSERT OR REPLACE INTO sessions (session_id, user_id, client_id, protocol_version, init, created_at, last_seen, has_object) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		sessionId,
		p.userId,
		p.clientId,
		s.protocolVersion,
		s.init,
		now,
		now,
		s.hasObject ? 1 : 0,
	);
}

/**
 * The live session `sessionId` of `p`, or null: unknown, stale, or someone else's (the same null,
 * so a caller cannot tell them apart). `touch` refreshes `last_seen` when it is a minute old;
 * `adopt` also records that a SessionObject now holds the session.
 */
export function findSession(sql: SqlStorage, p: VerifiedPrincipal, sessionId: string, ttlMs: number, now: number, use: "touch" | "adopt" | "peek"): RegisteredSession | null {
	const row = sql.exec<Row>("SELECT protocol_version, init, created_at, last_seen, has_object, user_id, client_id FROM sessions WHERE session_id = ?", sessionId).toArray()[0];
	if (!row || row.user_id !== p.userId || row.client_id !== p.clientId || now - row.last_seen >= ttlMs) return null;
	let lastSeen = row.last_seen;
	let hasObject = row.has_object === 1;
	if (use === "adopt" && !hasObject) {
		hasObject = true;
		lastSeen = now;
		sql.exec("UPDATE sessions SET has_object = 1, last_seen = ? WHERE session_id = ?", now, sessionId);
	} else if (use !== "peek" && now - lastSeen >= TOUCH_EVERY_MS) {
		lastSeen = now;
		sql.exec("UPDATE sessions SET last_seen = ? WHERE session_id = ?", now, sessionId);
	}
	return { protocolVersion: row.protocol_version, init: row.init, createdAt: row.created_at, lastSeen, hasObject };
}

/** Ends a session of `p`: the registered session it was (live), or null. */
export function endSession(sql: SqlStorage, p: VerifiedPrincipal, sessionId: string, ttlMs: number, now: number): RegisteredSession | null {
	const found = findSession(sql, p, sessionId, ttlMs, now, "peek");
	sql.exec("DELETE FROM sessions WHERE session_id = ? AND user_id = ? AND client_id = ?", sessionId, p.userId, p.clientId);
	return found;
}

/** Drops stale rows (indexed: costs a lookup when there are none). */
export function pruneSessions(sql: SqlStorage, ttlMs: number, now: number): void {
	sql.exec("DELETE FROM sessions WHERE last_seen <= ?", now - ttlMs);
}
