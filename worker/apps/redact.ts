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
 * Replaces every occurrence of each value in `text`, and a value's first characters (at least
 * {@link MIN_REDACTED}) where the text ends with them: text cut to a length cap (a log line, an
 * error message) must not keep the first half of a secret.
 *
 * @example
 * ```ts
 * redact("token sk_live_abc used", ["sk_live_abc"]); // "token [redacted] used"
 * redact("…token sk_live_a", ["sk_live_abc"]); // "…token [redacted]"
 * ```
 */
export function redact(text: string, values: readonly string[], cutTail = true): string {
	let out = text;
	for (const v of values) {
		if (v.length < MIN_REDACTED) continue;
		if (out.includes(v)) out = out.split(v).join(REDACTED);
		if (cutTail) out = redactCutTail(out, v);
	}
	return out;
}

/** Replaces the longest start of `v` (shorter than `v`, at least {@link MIN_REDACTED}) that ends `text`. */
function redactCutTail(text: string, v: string): string {
	const head = v.slice(0, MIN_REDACTED);
	const earliest = Math.max(0, text.length - v.length + 1);
	let longest = -1;
	for (let i = text.lastIndexOf(head, text.length - MIN_REDACTED); i >= earliest; i = text.lastIndexOf(head, i - 1)) {
		if (v.startsWith(text.slice(i))) longest = i;
		if (i === 0) break;
	}
	return longest < 0 ? text : text.slice(0, longest) + REDACTED;
}

/**
 * Redacts a JSON value by its text (values are matched in their JSON-escaped form too). Whole
 * values only: a cut string inside the value is redacted with {@link redact} before it is built in.
 */
export function redactJson<T>(value: T, values: readonly string[]): T {
	if (values.length === 0) return value;
	const text = JSON.stringify(value);
	const escaped = values.flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]);
	const clean = redact(text, escaped, false);
	return clean === text ? value : (JSON.parse(clean) as T);
}
