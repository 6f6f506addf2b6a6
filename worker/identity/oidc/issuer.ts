/**
 * @module worker/identity/oidc/issuer
 * Network I/O with the upstream OpenID provider: discovery (OpenID Connect Discovery 1.0 §4),
 * its JWK Set, and the authorization-code exchange (OIDC Core §3.1.3). Results are cached per
 * isolate; failures are not.
 *
 * Every request goes to a URL `providerEndpoint()` accepted, with a timeout, a response-size
 * cap and no redirects followed. Failures carry a reason for the logs and never the upstream
 * body, a code or a token (error messages never carry tokens, codes or upstream bodies).
 *
 * Under `wrangler dev` (workerd) global `fetch()` may reach loopback, so a mock provider on
 * 127.0.0.1 works in tests. On Cloudflare a loopback or private address is not reachable, and
 * `global_fetch_strictly_public` also routes a request to the Worker's own zone through the
 * public front door, so a deployment can only use a public https issuer.
 */
import { err, ok, type Result } from "../../../shared/errors";
import { readCapped, UNREADABLE } from "../../edge/guard";
import type { JwkSet } from "./id-token";
import { providerEndpoint, type OidcConfig } from "./config";

/** What SMCP uses from the provider's discovery document. */
export interface ProviderMetadata {
	authorizationEndpoint: URL;
	tokenEndpoint: URL;
	jwksUri: URL;
	/** Client authentication at the token endpoint (OIDC Core §9). */
	tokenAuth: "client_secret_basic" | "client_secret_post";
	/** RFC 9207 §3: the provider puts `iss` in every authorization response. */
	issInResponse: boolean;
}

/** Why talking to the provider failed. For logs only. */
export type ProviderFailure =
	| { reason: "discovery_unreachable"; status?: number }
	| { reason: "discovery_invalid"; detail: string }
	| { reason: "jwks_unreachable"; status?: number }
	| { reason: "jwks_invalid" }
	| { reason: "token_exchange_refused"; status: number; oauthError?: string }
	| { reason: "token_exchange_unreachable" }
	| { reason: "token_response_invalid"; detail: string };

/** Discovery documents and JWK Sets are small; 256 KiB is generous. */
const MAX_BODY_BYTES = 256 * 1024;
const TIMEOUT_MS = 10_000;
const CACHE_MS = 60 * 60 * 1000;
/** A `kid` the cached JWK Set lacks triggers at most one refetch per minute (key rotation without a refetch storm). */
const JWKS_REFRESH_MIN_MS = 60 * 1000;

const discoveries = new Map<string, { at: number; metadata: ProviderMetadata }>();
const keySets = new Map<string, { at: number; jwks: JwkSet }>();

/**
 * The provider's metadata, from `${issuer}/.well-known/openid-configuration`, cached for an hour.
 *
 * @example
 * ```ts
 * const metadata = await discoverProvider(config);
 * if (!metadata.ok) log("error", "oidc.discovery_failed", metadata.error);
 * ```
 */
export async function discoverProvider(config: OidcConfig): Promise<Result<ProviderMetadata, ProviderFailure>> {
	const cached = discoveries.get(config.issuer);
	if (cached && Date.now() - cached.at < CACHE_MS) return ok(cached.metadata);
	// Discovery §4: the issuer with any trailing "/" removed, then "/.well-known/openid-configuration".
	const url = providerEndpoint(`${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, config);
	if (!url) return err({ reason: "discovery_invalid", detail: "discovery URL" });
	const fetched = await getJson(url);
	if (!fetched.ok) return err({ reason: "discovery_unreachable", ...(fetched.error.status ? { status: fetched.error.status } : {}) });
	const doc = fetched.value;
	// Discovery §4.3: "The issuer value returned MUST be identical to the Issuer URL" (mix-up and impersonation defence).
	if (doc.issuer !== config.issuer) return err({ reason: "discovery_invalid", detail: "issuer differs from SMCP_OIDC_ISSUER" });
	const authorizationEndpoint = providerEndpoint(doc.authorization_endpoint, config);
	const tokenEndpoint = providerEndpoint(doc.token_endpoint, config);
	const jwksUri = providerEndpoint(doc.jwks_uri, config);
	if (!authorizationEndpoint || !tokenEndpoint || !jwksUri)
		return err({ reason: "discovery_invalid", detail: "an endpoint is missing or not https" });
	const methods = Array.isArray(doc.token_endpoint_auth_methods_supported)
		? doc.token_endpoint_auth_methods_supported
		: ["client_secret_basic"];
	// Discovery §3: absent, the default is client_secret_basic.
	const tokenAuth = methods.includes("client_secret_basic")
		? "client_secret_basic"
		: methods.includes("client_secret_post")
			? "client_secret_post"
			: null;
	if (!tokenAuth) return err({ reason: "discovery_invalid", detail: "neither client_secret_basic nor client_secret_post is supported" });
	const challenge = doc.code_challenge_methods_supported;
	if (Array.isArray(challenge) && !challenge.includes("S256"))
		return err({ reason: "discovery_invalid", detail: "PKCE S256 not supported" });
	const metadata: ProviderMetadata = {
		authorizationEndpoint,
		tokenEndpoint,
		jwksUri,
		tokenAuth,
		issInResponse: doc.authorization_response_iss_parameter_supported === true,
	};
	discoveries.set(config.issuer, { at: Date.now(), metadata });
	return ok(metadata);
}

/**
 * The provider's JWK Set, cached for an hour. `refresh` refetches (at most once a minute) when a
 * token names a `kid` the cached set lacks: the provider rotated its keys (OIDC Core §10.1.1).
 */
export async function providerKeys(metadata: ProviderMetadata, opts: { refresh?: boolean } = {}): Promise<Result<JwkSet, ProviderFailure>> {
	const key = metadata.jwksUri.href;
	const cached = keySets.get(key);
	const age = cached ? Date.now() - cached.at : Infinity;
	if (cached && age < CACHE_MS && !(opts.refresh && age >= JWKS_REFRESH_MIN_MS)) return ok(cached.jwks);
	const fetched = await getJson(metadata.jwksUri);
	if (!fetched.ok) return err({ reason: "jwks_unreachable", ...(fetched.error.status ? { status: fetched.error.status } : {}) });
	if (!Array.isArray(fetched.value.keys)) return err({ reason: "jwks_invalid" });
	const jwks = { keys: fetched.value.keys } as JwkSet;
	keySets.set(key, { at: Date.now(), jwks });
	return ok(jwks);
}

/**
 * Exchanges the authorization code at the token endpoint (OIDC Core §3.1.3.1) with the PKCE
 * verifier (RFC 7636 §4.5) and returns the ID token, unverified.
 */
export async function exchangeCode(
	config: OidcConfig,
	metadata: ProviderMetadata,
	code: string,
	verifier: string,
): Promise<Result<{ idToken: string }, ProviderFailure>> {
	const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: config.redirectUri, code_verifier: verifier });
	const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" });
	if (metadata.tokenAuth === "client_secret_basic") {
		// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
		headers.set("Authorization", `Basic ${btoa(`${formEncode(config.clientId)}:${formEncode(config.clientSecret)}`)}`);
	} else {
		body.set("client_id", config.clientId);
		body.set("client_secret", config.clientSecret);
	}
	let res: Response;
	try {
		res = await fetch(metadata.tokenEndpoint, {
			method: "POST",
			headers,
			body,
			redirect: "manual",
			signal: AbortSignal.timeout(TIMEOUT_MS),
		});
	} catch {
		return err({ reason: "token_exchange_unreachable" });
	}
	const json = await readJson(res);
	if (res.status !== 200) {
		// RFC 6749 §5.2: `error` is a registered code; `error_description` is upstream text and stays out of logs.
		const code = json && typeof json.error === "string" && /^[a-z_]{1,40}$/.test(json.error) ? json.error : undefined;
		return err({ reason: "token_exchange_refused", status: res.status, ...(code ? { oauthError: code } : {}) });
	}
	if (!json) return err({ reason: "token_response_invalid", detail: "not JSON" });
	if (typeof json.id_token !== "string")
		return err({ reason: "token_response_invalid", detail: "no id_token (was the openid scope granted?)" });
	return ok({ idToken: json.id_token });
}

/** GET a JSON object: 200 only, no redirects, bounded time and size. */
async function getJson(url: URL): Promise<Result<Record<string, unknown>, { status?: number }>> {
	let res: Response;
	try {
		res = await fetch(url, { headers: { Accept: "application/json" }, redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) });
	} catch {
		return err({});
	}
	if (res.status !== 200) {
		await res.body?.cancel();
		return err({ status: res.status });
	}
	const json = await readJson(res);
	return json ? ok(json) : err({ status: res.status });
}

/** The body as a JSON object, read up to {@link MAX_BODY_BYTES}; `null` for anything else. */
async function readJson(res: Response): Promise<Record<string, unknown> | null> {
	if (!res.body) return null;
	// The guard's bounded reader: a larger body, or one that fails mid-read, is no answer.
	const bytes = await readCapped(res.body, MAX_BODY_BYTES);
	if (bytes === null || bytes === UNREADABLE) return null;
	try {
		const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
		return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

/** application/x-www-form-urlencoded for one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
	return new URLSearchParams({ v: value }).toString().slice(2);
}
