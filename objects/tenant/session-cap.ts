/**
 * @module objects/tenant/session-cap
 * The live-session cap: how many sessions a person may open, counted per (user, client) inside a
 * per-user ceiling. One compromised client fills only its own share (`SMCP_MAX_SESSIONS_PER_CLIENT`,
 * default 20) and the person's other apps keep opening sessions up to the ceiling
 * (`SMCP_MAX_SESSIONS_PER_USER`, default 100). Revoking the grant or key that opened sessions frees
 * their slots at once ({@link takeSessionsOf}), and names the sessions whose streams must close.
 *
 * Rows live in `live_sessions` (migration 3, with client and grant columns since migration 10). A
 * row counts against the cap for {@link SESSION_COUNT_WINDOW_MS} after it opened (most SDK clients
 * never send DELETE), and is kept until the session ends or its idle TTL has passed, so that a
 * revocation still finds the sessions whose streams are open. Synchronous SQL, called inside the
 * kernel's transactions.
 */
import type { VerifiedPrincipal } from "../../shared/rpc/principal";

/** Schema change (never edit: add a new migration): who opened a slot, through which grant. */
export const SESSION_CAP_SCHEMA_V2 = `
ALTER TABLE live_sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE live_sessions ADD COLUMN grant_id TEXT;
CREATE INDEX live_sessions_client ON live_sessions (user_id, client_id, created_at);
`;

/**
 * How long an opened session counts against the cap when the client never ends it. Counting a
 * session for its whole idle TTL (a day) would lock a person out after a few reconnects; an hour
 * bounds session-creation floods without that.
 */
export const SESSION_COUNT_WINDOW_MS = 3_600_000;

/** The cap's settings (from `resolveLimits`). */
export interface SessionCap {
	maxSessionsPerUser: number;
	maxSessionsPerClient: number;
	sessionTtlMs: number;
}

/**
 * Counts a new session of `p` unless its client is at its share or the user at the ceiling; rows
 * past the idle TTL are dropped first.
 *
 * @example
 * ```ts
 * const opened = openCappedSession(sql, limits, principal, sessionId, Date.now());
 * if (!opened.ok) return tooMany(opened.retryAfterSeconds);
 * ```
 */
export function openCappedSession(
	sql: SqlStorage,
	cap: SessionCap,
	p: VerifiedPrincipal,
	sessionId: string,
	now: number,
): { ok: true } | { ok: false; retryAfterSeconds: number } {
	const windowMs = Math.min(cap.sessionTtlMs, SESSION_COUNT_WINDOW_MS);
	sql.exec("DELETE FROM live_sessions WHERE created_at < ?", now - Math.max(cap.sessionTtlMs, windowMs));
	const since = now - windowMs;
	const user = sql
		.exec<{ n: number; oldest: number | null }>(
			"SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM live_sessions WHERE user_id = ? AND created_at >= ?",
			p.userId,
			since,
		)
		.one();
	const client = sql
		.exec<{ n: number; oldest: number | null }>(
			"SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM live_sessions WHERE user_id = ? AND client_id = ? AND created_at >= ?",
			p.userId,
			p.clientId,
			since,
		)
		.one();
	const full =
		client.n >= Math.min(cap.maxSessionsPerClient, cap.maxSessionsPerUser) ? client : user.n >= cap.maxSessionsPerUser ? user : null;
	if (full) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((full.oldest ?? now) + windowMs - now) / 1000)) };
	sql.exec(
		"INSERT OR REPLACE INTO live_sessions (session_id, user_id, client_id, grant_id, created_at) VALUES (?, ?, ?, ?, ?)",
		sessionId,
		p.userId,
		p.clientId,
		p.grantId ?? null,
		now,
	);
	return { ok: true };
}

/** Forgets a live session of `userId` (DELETE or idle expiry); another user's id frees nothing. */
export function closeCappedSession(sql: SqlStorage, userId: string, sessionId: string): void {
	sql.exec("DELETE FROM live_sessions WHERE session_id = ? AND user_id = ?", sessionId, userId);
}

/**
 * Frees the slots of a revoked credential and returns the ids of its sessions: those a grant opened
 * (`grantId`), or every session of an API key's client id. Rows of a grant opened before slots
 * named their grant are matched by (user, client).
 */
export function takeSessionsOf(sql: SqlStorage, who: { userId: string; clientId: string; grantId?: string }): string[] {
	const rows =
		who.grantId === undefined
			? sql.exec<{ session_id: string }>(
					"DELETE FROM live_sessions WHERE user_id = ? AND client_id = ? RETURNING session_id",
					who.userId,
					who.clientId,
				)
			: sql.exec<{ session_id: string }>(
					"DELETE FROM live_sessions WHERE user_id = ? AND client_id = ? AND (grant_id = ? OR grant_id IS NULL) RETURNING session_id",
					who.userId,
					who.clientId,
					who.grantId,
				);
	return rows.toArray().map((r) => r.session_id);
}
