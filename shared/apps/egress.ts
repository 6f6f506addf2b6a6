/**
 * @module shared/apps/egress
 * The egress gateway's policy, pure: may this app's outbound request go to this URL, which
 * secret headers does the gateway add, and what does the audit keep. The gateway (the isolate's
 * `globalOutbound`) calls {@link decideEgress} on every request before it leaves.
 *
 * What the policy does not cover: a listed DNS name that resolves to a private address (Workers'
 * `fetch` cannot reach private networks, so rebinding gains nothing there), and redirects, which
 * the gateway must follow itself (`redirect: "manual"`) so each hop is decided again.
 */
import { fromUrl, isLoopback, parseHost, type HostOptions } from "./host";
import type { SecretHeader } from "./manifest";

/** The decision for one outbound request. */
export type EgressDecision = { allow: true; host: string } | { allow: false; reason: string };

/**
 * Decides one request. `host` in an allow decision is the manifest entry that matched (the form the
 * audit and `secretHeaders` use).
 *
 * - https only; http only to a loopback host when `allowLoopback` is set (local development);
 * - the host must equal an egress entry: case-insensitive, trailing dot ignored, the port equal to
 *   the entry's (443 when the entry has none);
 * - IP literals only when listed (private ranges can never be listed);
 * - no credentials in the URL (`https://user:pass@host`): secrets go through `secretHeaders`.
 *
 * @example
 * ```ts
 * const d = decideEgress(manifest.egress, request.url);
 * if (!d.allow) return new Response(d.reason, { status: 403 });
 * ```
 */
export function decideEgress(egress: readonly string[], url: string, options: HostOptions = {}): EgressDecision {
	let u: URL;
	try {
		u = new URL(url);
	} catch {
		return { allow: false, reason: "not an absolute URL" };
	}
	if (u.username !== "" || u.password !== "")
		return {
			allow: false,
			reason: "credentials in the URL are refused: declare a secret and inject it with secretHeaders",
		};
	const target = fromUrl(u);
	if (!target) return { allow: false, reason: "the URL has no host" };
	if (u.protocol === "http:") {
		if (!(options.allowLoopback && isLoopback(target))) return { allow: false, reason: "plain http is refused: use https" };
	} else if (u.protocol !== "https:") {
		return { allow: false, reason: `the ${u.protocol} scheme is refused: use https` };
	}
	const port = target.port ?? (u.protocol === "https:" ? 443 : 80);
	for (const entry of egress) {
		const parsed = parseHost(entry, options);
		if (!parsed.ok) continue; // a manifest that passed validation has none; never widen on a bad entry
		const h = parsed.host;
		if (h.hostname === target.hostname && (h.port ?? 443) === port) return { allow: true, host: h.host };
	}
	const what = target.kind === "dns" ? "host" : "IP address";
	return { allow: false, reason: `${what} ${target.host} is not in the app's egress list` };
}

/**
 * The headers the gateway sets on a request that {@link decideEgress} allowed for `host`,
 * overwriting any the code set under the same names. Values come from the tenant's secret store.
 */
export function secretHeadersFor(secretHeaders: readonly SecretHeader[] | undefined, host: string): SecretHeader[] {
	return (secretHeaders ?? []).filter((s) => s.host === host);
}

/** What the audit keeps of one outbound request: never the URL's path or query, headers or bodies. */
export interface EgressAuditRecord {
	/** The matched egress entry, or the refused host. */
	host: string;
	/** Upper-case method, or `OTHER` for anything non-standard. */
	method: string;
	/** HTTP status; 0 when refused or when the request failed without a response. */
	status: number;
	/** Response body bytes received (0 when unknown). */
	bytes: number;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT"]);

/**
 * Builds an audit record, normalising its fields so a caller cannot smuggle more into them.
 *
 * @example
 * ```ts
 * audit(egressAuditRecord(decision.allow ? decision.host : hostOf(url), req.method, res.status, received));
 * ```
 */
export function egressAuditRecord(host: string, method: string, status: number, bytes: number): EgressAuditRecord {
	const m = method.toUpperCase();
	return {
		host: host.slice(0, 260),
		method: METHODS.has(m) ? m : "OTHER",
		status: Number.isInteger(status) && status >= 0 && status <= 999 ? status : 0,
		bytes: Number.isFinite(bytes) && bytes > 0 ? Math.floor(bytes) : 0,
	};
}
