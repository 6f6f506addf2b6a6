/**
 * @module shared/apps/secret-scan
 * Finds hard-coded credentials in app source before it is stored. A bundle is kept by the platform
 * and shown to the tenant's operators; a key in it is a key leaked. Secrets belong in the tenant's
 * encrypted secret store, declared by name in the manifest and injected by the egress gateway.
 *
 * Findings name the file, the line and the kind of credential, never the matched text (no
 * secret in errors, logs or audit rows).
 */

/** One finding: where, and which rule matched. */
export interface SecretFinding {
	line: number;
	kind: string;
}

/** The comment that waives the generic (heuristic) rule on its line; never the specific ones. */
export const ALLOW_COMMENT = "smcp:allow-secret";

/** Credential formats with a recognisable prefix or frame; each match is refused outright. */
const PATTERNS: { kind: string; re: RegExp }[] = [
	{ kind: "AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
	{ kind: "GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g },
	{ kind: "GitHub fine-grained token", re: /\bgithub_pat_[A-Za-z0-9_]{22,}/g },
	{ kind: "Slack token", re: /\bxox[abpr]-[A-Za-z0-9-]{10,}/g },
	{ kind: "Stripe live key", re: /\b[rs]k_live_[A-Za-z0-9]{16,}/g },
	{ kind: "OpenAI-style secret key", re: /\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{32,}/g },
	{ kind: "Google API key", re: /\bAIza[0-9A-Za-z_-]{35}/g },
	{ kind: "private key (PEM)", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/g },
	{ kind: "JSON Web Token", re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
];

/** `password = "…"`, `apiKey: '…'`, `GITHUB_TOKEN = \`…\``: a credential-like name given a literal. */
const SECRET_WORDS = "password|passwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key|credential";
const ASSIGNMENT = new RegExp(`[A-Za-z0-9_$]*(?:${SECRET_WORDS})[A-Za-z0-9_$]*["']?\\s*[:=]\\s*(["'\`])([^"'\`\\s]{16,})\\1`, "gi");

/**
 * Scans one source text. Returns at most one finding per line (the most specific kind).
 *
 * @example
 * ```ts
 * for (const f of scanSecrets(source)) console.error(`index.js:${f.line}: hard-coded ${f.kind}`);
 * ```
 */
export function scanSecrets(source: string): SecretFinding[] {
	const starts = lineStarts(source);
	const byLine = new Map<number, string>();
	for (const { kind, re } of PATTERNS) {
		for (const m of source.matchAll(re)) {
			const line = lineOf(starts, m.index);
			if (!byLine.has(line)) byLine.set(line, kind);
		}
	}
	for (const m of source.matchAll(ASSIGNMENT)) {
		const line = lineOf(starts, m.index);
		const value = m[2]!;
		if (byLine.has(line) || !looksRandom(value)) continue;
		const text = source.slice(starts[line - 1], starts[line] ?? source.length);
		if (text.includes(ALLOW_COMMENT)) continue;
		byLine.set(line, "credential-like literal assigned to a secret-named field");
	}
	return [...byLine].sort(([a], [b]) => a - b).map(([line, kind]) => ({ line, kind }));
}

/**
 * True for values that look generated rather than written: long, mixing letters and digits, high
 * Shannon entropy, and not a URL, path or template.
 */
function looksRandom(value: string): boolean {
	if (value.length < 16 || /:\/\/|^\/|\$\{/.test(value)) return false;
	if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
	return entropy(value) >= 3.5;
}

/** Shannon entropy in bits per character. */
function entropy(value: string): number {
	const counts = new Map<string, number>();
	for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
	let bits = 0;
	for (const n of counts.values()) {
		const p = n / value.length;
		bits -= p * Math.log2(p);
	}
	return bits;
}

/** Offsets where each line starts. */
function lineStarts(source: string): number[] {
	const starts = [0];
	for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) starts.push(i + 1);
	return starts;
}

/** 1-based line of an offset (binary search over {@link lineStarts}). */
function lineOf(starts: number[], offset: number): number {
	let lo = 0;
	let hi = starts.length - 1;
	while (lo < hi) {
		const mid = (lo + hi + 1) >> 1;
		if (starts[mid]! <= offset) lo = mid;
		else hi = mid - 1;
	}
	return lo + 1;
}
