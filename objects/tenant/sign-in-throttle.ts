/**
 * @module objects/tenant/sign-in-throttle
 * Per-account password throttling, in strongly consistent storage: the TenantObject of the
 * account's personal tenant (or, for emails without an account, one object the front Worker names
 * from its secret, so unknown emails get the same answers; worker/identity/sign-in-throttle.ts).
 *
 * Every attempt is counted when it starts ({@link gateSignIn}), so parallel guesses cannot all slip
 * through before the first failure is recorded; a success clears the count. The first
 * {@link FREE_ATTEMPTS} attempts are free; after that each attempt waits twice as long as the one
 * before, from 1 s up to {@link MAX_LOCK_MS}. While locked, attempts are refused without running
 * PBKDF2 and without extending the lock.
 */

/** Schema (never edit: add a new migration). `subject`: a user id, or a keyed digest of an unknown email. */
export const SIGN_IN_SCHEMA_V1 = `
CREATE TABLE sign_in_attempts (
  subject TEXT PRIMARY KEY, attempts INTEGER NOT NULL, locked_until INTEGER NOT NULL, last_at INTEGER NOT NULL, reported_until INTEGER NOT NULL
);
`;

/** Attempts before the first wait. */
export const FREE_ATTEMPTS = 5;
/** Longest wait between two attempts at one account. */
export const MAX_LOCK_MS = 15 * 60_000;
/** At most one audit row per account per minute, or per lock when the lock is longer. */
const REPORT_EVERY_MS = 60_000;
/** A count untouched this long starts afresh. */
const FORGET_AFTER_MS = 24 * 3600_000;

type Row = { attempts: number; locked_until: number; last_at: number; reported_until: number };

/**
 * Counts an attempt at `subject`, or refuses it while the subject is locked.
 *
 * @example
 * ```ts
 * const gate = gateSignIn(sql, userId, Date.now());
 * if (!gate.ok) return tooManyAttempts(gate.retryAfterSeconds);
 * ```
 */
export function gateSignIn(sql: SqlStorage, subject: string, now: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
	const row = read(sql, subject);
	if (row && row.locked_until > now) return { ok: false, retryAfterSeconds: Math.ceil((row.locked_until - now) / 1000) };
	const attempts = row && now - row.last_at < FORGET_AFTER_MS ? row.attempts + 1 : 1;
	const lockedUntil = attempts > FREE_ATTEMPTS ? now + Math.min(MAX_LOCK_MS, 1000 * 2 ** Math.min(20, attempts - FREE_ATTEMPTS - 1)) : 0;
	sql.exec(
		"INSERT OR REPLACE INTO sign_in_attempts (subject, attempts, locked_until, last_at, reported_until) VALUES (?, ?, ?, ?, ?)",
		subject,
		attempts,
		lockedUntil,
		now,
		row?.reported_until ?? 0,
	);
	return { ok: true };
}

/** A successful sign-in: the count starts afresh. */
export function clearSignIn(sql: SqlStorage, subject: string): void {
	sql.exec("DELETE FROM sign_in_attempts WHERE subject = ?", subject);
}

/**
 * A failed attempt: whether it gets an audit row, with the number of attempts counted so far. One
 * row per lockout window: the first failure, then the first after the window (a minute, or the
 * lock when it is longer) has run out.
 */
export function failureRowDue(sql: SqlStorage, subject: string, now: number): { attempts: number } | null {
	const row = read(sql, subject);
	if (!row) return { attempts: 1 };
	if (row.reported_until > now) return null;
	sql.exec("UPDATE sign_in_attempts SET reported_until = ? WHERE subject = ?", Math.max(row.locked_until, now + REPORT_EVERY_MS), subject);
	return { attempts: row.attempts };
}

/** Drops counts nobody touched for a day (retention alarm). */
export function pruneSignIns(sql: SqlStorage, now: number): void {
	sql.exec("DELETE FROM sign_in_attempts WHERE last_at < ? AND locked_until < ?", now - FORGET_AFTER_MS, now);
}

function read(sql: SqlStorage, subject: string): Row | undefined {
	return sql
		.exec<Row>("SELECT attempts, locked_until, last_at, reported_until FROM sign_in_attempts WHERE subject = ?", subject)
		.toArray()[0];
}
