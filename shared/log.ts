/**
 * @module shared/log
 * One JSON line per event, for `wrangler tail`. Callers pass identifiers and decisions only:
 * never a token, secret, password, cookie, authorization code or raw tool argument.
 */

/** Severity of a log line. */
export type Level = "debug" | "info" | "warn" | "error";

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
/** Lines below this level are dropped before anything is built (per isolate). */
let threshold = RANK.info;

/**
 * Sets the level from `SMCP_LOG_LEVEL` (`debug`, `info` — the default —, `warn`, `error`). Called
 * by every entry point (the Worker's fetch, each Durable Object's constructor); unknown values
 * mean `info`.
 */
export function configureLog(env: { SMCP_LOG_LEVEL?: string }): void {
	const wanted = env.SMCP_LOG_LEVEL ?? "";
	threshold = Object.hasOwn(RANK, wanted) ? RANK[wanted as Level] : RANK.info;
}

/** Whether a line of `level` would be written. */
export function logEnabled(level: Level): boolean {
	return RANK[level] >= threshold;
}

/** Field names that must never be logged; a defensive net under the rule above. */
const FORBIDDEN = /token|secret|password|cookie|authorization|code_verifier|^code$|^state$|arguments/i;
/** Verdicts per field name: log lines use a small fixed set of names, so test each once. */
const verdicts = new Map<string, boolean>();
const forbidden = (k: string) => {
	let v = verdicts.get(k);
	if (v === undefined) {
		v = FORBIDDEN.test(k);
		if (verdicts.size < 1000) verdicts.set(k, v);
	}
	return v;
};

/**
 * Writes one structured log line.
 *
 * @example
 * ```ts
 * log("info", "http.request", { trace, method: "POST", path: "/mcp", status: 200, ms: 3 });
 * ```
 */
export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
	if (RANK[level] < threshold) return;
	const line: Record<string, unknown> = { ts: new Date().toISOString(), level, event };
	for (const k in fields) line[k] = forbidden(k) ? "[redacted]" : fields[k];
	const text = JSON.stringify(line);
	if (level === "error") console.error(text);
	else if (level === "warn") console.warn(text);
	else console.log(text);
}
