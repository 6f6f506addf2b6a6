/**
 * @module shared/log
 * One JSON line per event, for `wrangler tail`. Callers pass identifiers and decisions only:
 * never a token, secret, password, cookie, authorization code or raw tool argument.
 */

/** Severity of a log line. */
export type Level = "debug" | "info" | "warn" | "error";

/** Field names that must never be logged; a defensive net under the rule above. */
const FORBIDDEN = /token|secret|password|cookie|authorization|code_verifier|^code$|^state$|arguments/i;

/**
 * Writes one structured log line.
 *
 * @example
 * ```ts
 * log("info", "http.request", { trace, method: "POST", path: "/mcp", status: 200, ms: 3 });
 * ```
 */
export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
	const line: Record<string, unknown> = { ts: new Date().toISOString(), level, event };
	for (const [k, v] of Object.entries(fields)) line[k] = FORBIDDEN.test(k) ? "[redacted]" : v;
	const text = JSON.stringify(line);
	if (level === "error") console.error(text);
	else if (level === "warn") console.warn(text);
	else console.log(text);
}
