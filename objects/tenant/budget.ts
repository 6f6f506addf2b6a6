/**
 * @module objects/tenant/budget
 * Every audited request spends budget, and refusals do not flood the audit trail.
 *
 * Each request the kernel audits costs a Durable Object call, a transaction and an audit row kept
 * for the retention period. Tool calls that run pay from the read/write buckets
 * (objects/tenant/limits.ts); everything else the kernel audits — lists, catalog reads, unknown
 * tools, insufficient-scope refusals, refusals decided in front — pays from the `request` bucket
 * of the caller's (user, client), beside the shared tenant bucket, so a read-only key looping
 * `tools/list` or calling a tool named `x` is refused like a burst of tool calls.
 *
 * A refused request writes at most one audit row per {@link REFUSAL_WINDOW_MS} and refusal kind
 * of a (user, client): the first refusal of a window is written, carrying how many were counted
 * and not written in the window before; the rest are only counted.
 */

/** Schema (never edit: add a new migration). */
export const BUDGET_SCHEMA_V1 = `
CREATE TABLE refusal_windows (key TEXT PRIMARY KEY, since INTEGER NOT NULL, suppressed INTEGER NOT NULL);
`;

/** One audit row per refusal kind and caller per minute, at most. */
export const REFUSAL_WINDOW_MS = 60_000;

/** Longest refusal-window key (user and client ids are bounded, but the kind comes from callers). */
const MAX_KEY = 600;

/**
 * Whether a refusal of kind `kind` by `who` gets its own audit row. `null`: counted, not written
 * (another refusal of the window was). A number: write the row, and say in it how many refusals
 * the previous window counted without a row.
 *
 * @example
 * ```ts
 * const suppressed = refusalRowDue(sql, { userId, clientId }, "rate_limited", Date.now());
 * if (suppressed !== null) audit.append({ ...row, outcome: aggregated("rate_limited", suppressed) });
 * ```
 */
export function refusalRowDue(sql: SqlStorage, who: { userId: string; clientId: string }, kind: string, now: number): number | null {
	const key = `${who.userId}|${who.clientId}|${kind}`.slice(0, MAX_KEY);
	const row = sql
		.exec<{ since: number; suppressed: number }>("SELECT since, suppressed FROM refusal_windows WHERE key = ?", key)
		.toArray()[0];
	if (row && now - row.since < REFUSAL_WINDOW_MS) {
		sql.exec("UPDATE refusal_windows SET suppressed = suppressed + 1 WHERE key = ?", key);
		return null;
	}
	sql.exec("INSERT OR REPLACE INTO refusal_windows (key, since, suppressed) VALUES (?, ?, 0)", key, now);
	return row?.suppressed ?? 0;
}

/** The outcome text of an aggregated refusal row: the refusal's own, plus what the last window counted. */
export function aggregatedOutcome(outcome: string, suppressedBefore: number): string {
	return suppressedBefore > 0 ? `${outcome}; +${suppressedBefore} more in the previous window` : outcome;
}

/** Drops windows long past (retention alarm). */
export function pruneRefusalWindows(sql: SqlStorage, now: number): void {
	sql.exec("DELETE FROM refusal_windows WHERE since < ?", now - 10 * REFUSAL_WINDOW_MS);
}
