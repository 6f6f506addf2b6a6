/**
 * @module worker/apps/redact
 * Removes secret values from text that leaves a tenant app: its log lines, its error messages and
 * its results. Values shorter than {@link MIN_REDACTED} are left alone (they would match ordinary
 * words); secrets that short are refused when set.
 */

/** Shortest value redacted. */
export const MIN_REDACTED = 4;
/** What a secret value is replaced with. */
export const REDACTED = "[redacted]";

/**
 * Replaces every occurrence of each value in `text`.
 *
 * @example
 * ```ts
 * redact("token sk_live_abc used", ["sk_live_abc"]); // "token [redacted] used"
 * ```
 */
export function redact(text: string, values: readonly string[]): string {
	let out = text;
	for (const v of values) if (v.length >= MIN_REDACTED && out.includes(v)) out = out.split(v).join(REDACTED);
	return out;
}

/** Redacts a JSON value by its text (values are matched in their JSON-escaped form too). */
export function redactJson<T>(value: T, values: readonly string[]): T {
	if (values.length === 0) return value;
	const text = JSON.stringify(value);
	const escaped = values.flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]);
	const clean = redact(text, escaped);
	return clean === text ? value : (JSON.parse(clean) as T);
}
