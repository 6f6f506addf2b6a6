/**
 * @module worker/identity/oidc/config
 * Upstream sign-in settings (`SMCP_OIDC_*`), checked with messages that name the variable and
 * the fix, and the URL and email-domain policy that goes with them. Pure: unit-tested in
 * `worker/identity/oidc/config.test.ts`.
 *
 * A broken OIDC setting never takes the Worker down: the consent page simply offers no upstream
 * sign-in, and local sign-in keeps working. The problem is logged where the page is drawn.
 */
import { isLoopbackHost } from "../../../shared/config";
import type { Env } from "../../../shared/env";

/** A resolved, valid upstream sign-in configuration. */
export interface OidcConfig {
	/** The issuer identifier, exactly as configured (compared to `iss` byte for byte). */
	issuer: string;
	clientId: string;
	clientSecret: string;
	/** Button label, e.g. "Acme SSO". Operator text, still escaped when rendered. */
	name: string;
	/** Lower-cased email domains; empty = any verified email. */
	allowedDomains: ReadonlySet<string>;
	/** `${SMCP_PUBLIC_ORIGIN}/oidc/callback`: registered at the provider, sent as `redirect_uri`. */
	redirectUri: string;
	/**
	 * Development only: the issuer and SMCP both run on loopback, so the provider's endpoints may
	 * use `http` on a loopback host. Never true for a deployment (its public origin is not loopback).
	 */
	loopbackDev: boolean;
}

/** Upstream sign-in is off, on, or configured wrongly (then off, with the reason). */
export type OidcSetting = { state: "off" } | { state: "on"; config: OidcConfig } | { state: "invalid"; problem: string };

/** Default button label. */
export const DEFAULT_OIDC_NAME = "Single sign-on";
/** Keeps `account:oidc:<issuer>:<sub>` under KV's 512-byte key limit with a 255-character `sub`. */
const MAX_ISSUER_CHARS = 200;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Reads the `SMCP_OIDC_*` variables. `SMCP_OIDC_ISSUER` unset or empty means off, whatever the
 * others say.
 *
 * @example
 * ```ts
 * const oidc = resolveOidcConfig(env);
 * if (oidc.state === "invalid") log("error", "oidc.config_invalid", { problem: oidc.problem });
 * ```
 */
export function resolveOidcConfig(env: Env): OidcSetting {
	const issuerText = (env.SMCP_OIDC_ISSUER ?? "").trim();
	if (issuerText === "") return { state: "off" };
	const invalid = (problem: string): OidcSetting => ({ state: "invalid", problem });

	let issuer: URL;
	let origin: URL;
	try {
		issuer = new URL(issuerText);
		origin = new URL(env.SMCP_PUBLIC_ORIGIN);
	} catch {
		return invalid("SMCP_OIDC_ISSUER must be an absolute URL such as https://login.example.com (and SMCP_PUBLIC_ORIGIN a valid origin)");
	}
	// OpenID Connect Discovery 1.0 §2: the issuer is "a case-sensitive URL using the https scheme
	// that contains scheme, host, and optionally, port number and path components and no query or
	// fragment components".
	if (issuer.search || issuer.hash || issuer.username || issuer.password || issuerText.includes("?") || issuerText.includes("#")) {
		return invalid(
			"SMCP_OIDC_ISSUER must have no query, fragment or credentials: use the provider's issuer identifier exactly as its discovery document states it",
		);
	}
	if (issuerText.length > MAX_ISSUER_CHARS) return invalid(`SMCP_OIDC_ISSUER is longer than ${MAX_ISSUER_CHARS} characters`);
	// http only when both ends are loopback: a developer's mock provider beside `wrangler dev`.
	const loopbackDev = issuer.protocol === "http:" && isLoopbackHost(issuer.hostname) && isLoopbackHost(origin.hostname);
	if (issuer.protocol !== "https:" && !loopbackDev) {
		return invalid(
			"SMCP_OIDC_ISSUER must use https (http is accepted only when both the issuer and SMCP_PUBLIC_ORIGIN are on loopback, for local development)",
		);
	}

	const clientId = (env.SMCP_OIDC_CLIENT_ID ?? "").trim();
	if (clientId === "" || clientId.length > 255 || CONTROL.test(clientId)) {
		return invalid("SMCP_OIDC_CLIENT_ID is missing or malformed: set it to the client id the provider gave SMCP (wrangler.jsonc vars)");
	}
	const clientSecret = env.SMCP_OIDC_CLIENT_SECRET ?? "";
	if (clientSecret === "")
		return invalid("SMCP_OIDC_CLIENT_SECRET is missing: run `wrangler secret put SMCP_OIDC_CLIENT_SECRET` (or set it in .dev.vars)");

	const name = (env.SMCP_OIDC_NAME ?? "").trim() || DEFAULT_OIDC_NAME;
	if (name.length > 40 || CONTROL.test(name))
		return invalid('SMCP_OIDC_NAME must be a short label (at most 40 characters), e.g. "Acme SSO"');

	const allowedDomains = new Set<string>();
	for (const entry of (env.SMCP_OIDC_ALLOWED_DOMAINS ?? "")
		.split(",")
		.map((d) => d.trim().toLowerCase())
		.filter(Boolean)) {
		if (!/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(entry)) {
			return invalid(
				`SMCP_OIDC_ALLOWED_DOMAINS entry "${entry.slice(0, 64)}" is not a domain such as example.com (list domains, not addresses or wildcards)`,
			);
		}
		allowedDomains.add(entry);
	}

	return {
		state: "on",
		config: {
			issuer: issuerText,
			clientId,
			clientSecret,
			name,
			allowedDomains,
			redirectUri: `${origin.origin}/oidc/callback`,
			loopbackDev,
		},
	};
}

/**
 * An endpoint from the provider's discovery document, as a URL SMCP may call or send the browser
 * to: `https`, or `http` on loopback in a loopback development setup; never with credentials or
 * a fragment. `null` otherwise: the browser is never sent anywhere this refuses.
 *
 * @example
 * ```ts
 * const authorize = providerEndpoint(doc.authorization_endpoint, config); // URL | null
 * ```
 */
export function providerEndpoint(value: unknown, config: Pick<OidcConfig, "loopbackDev">): URL | null {
	if (typeof value !== "string" || value.length > 2048) return null;
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		return null;
	}
	if (url.username || url.password || url.hash) return null;
	if (url.protocol === "https:") return url;
	return url.protocol === "http:" && config.loopbackDev && isLoopbackHost(url.hostname) ? url : null;
}

/**
 * Whether an email's domain may sign in: any when `allowed` is empty; otherwise the part after
 * the last `@`, lower-cased, must be listed exactly (subdomains are listed separately).
 *
 * @example
 * ```ts
 * emailDomainAllowed("ada@Example.com", new Set(["example.com"])); // true
 * emailDomainAllowed("ada@eu.example.com", new Set(["example.com"])); // false
 * ```
 */
export function emailDomainAllowed(email: string, allowed: ReadonlySet<string>): boolean {
	if (allowed.size === 0) return true;
	const at = email.lastIndexOf("@");
	return (
		at > 0 &&
		allowed.has(
			email
				.slice(at + 1)
				.trim()
				.toLowerCase(),
		)
	);
}
