/**
 * @module objects/tenant/session-cap
 * The live-session cap: how many sessions a person may open, counted per (user, client) inside a
 * per-user ceiling. One compromised client fills only its own share (`SMCP_MAX_SESSIONS_PER_CLIENT`,
 * default 20) and the person's other apps keep opening sessions up to the ceiling
 * (`SMCP_MAX_SESSIONS_PER_USER`, default 100). Revoking the grant or key that opened sessions frees
 * their slots at once (`SessionRegistry.takeSessionsOf`), and names the sessions whose streams must close.
 *
 * The slots are the rows of the tenant's one session table, `sessions` (objects/tenant/sessions.ts,
 * migration 14), of either kind (Streamable HTTP and 2024-11-05 SSE). A row counts against the cap
 * for {@link SESSION_COUNT_WINDOW_MS} after it opened (most SDK clients never send DELETE); a
 * DELETE, an expiry or a revocation removes the row and so frees its slot at once. Rows are kept
 * until the session ends or its idle TTL has passed (the retention alarm prunes them), so that a
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
 * Whether `p` may open one more session: null when its client is below its share and the user
 * below the ceiling, else how long until the oldest counted session of the full one stops
 * counting. The caller records the session (`SessionRegistry.open`) in the same transaction.
 *
 * @example
 * ```ts
 * const full = sessionCapRefusal(sql, limits, principal, Date.now());
 * if (full) return tooMany(full.retryAfterSeconds);
 * ```
 */
export function sessionCapRefusal(
	sql: SqlStorage,
	cap: SessionCap,
	p: VerifiedPrincipal,
	now: number,
): { retryAfterSeconds: number } | null {
	const windowMs = Math.min(cap.sessionTtlMs, SESSION_COUNT_WINDOW_MS);
	const since = now - windowMs;
	const user = sql
		.exec<{ n: number; oldest: number | null }>(
			"SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM sessions WHERE user_id = ? AND created_at >= ?",
			p.userId,
			since,
		)
		.one();
	const client = sql
		.exec<{ n: number; oldest: number | null }>(
			"SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM sessions WHERE user_id = ? AND client_id = ? AND created_at >= ?",
			p.userId,
			p.clientId,
			since,
		)
		.one();
	const full =
		client.n >= Math.min(cap.maxSessionsPerClient, cap.maxSessionsPerUser) ? client : user.n >= cap.maxSessionsPerUser ? user : null;
	return full ? { retryAfterSeconds: Math.max(1, Math.ceil(((full.oldest ?? now) + windowMs - now) / 1000)) } : null;
}
