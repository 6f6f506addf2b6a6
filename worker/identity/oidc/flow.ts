/**
 * @module worker/identity/oidc/flow
 * Upstream sign-in on SMCP's consent page: the person approves the client and its scopes on
 * SMCP's page, then proves who they are at an OpenID provider (Authorization Code flow with PKCE,
 * OIDC Core §3.1), and SMCP finishes the authorization as the mapped account.
 *
 * Order, and why:
 *
 * 1. `POST /authorize` with `action=oidc` (worker/oauth/authorize.ts): the form's handle is checked and
 *    the provider's discovery document fetched *before* the handle is spent, so a provider outage
 *    redraws the page (local sign-in still possible) instead of burning the consent.
 * 2. `approveConsent()` consumes the handle: the person chose this client and these scopes. The
 *    provider library's rule is that `beginUpstream()` may run only after consent (MCP security
 *    best practices, "Confused Deputy → Mitigation": no upstream `state` exists until consent).
 * 3. `beginUpstream(approved.request, { data })` stores the approved request with our `data` (the
 *    granted scopes, the OIDC `nonce`, the PKCE verifier, the issuer) encrypted in KV, binds the
 *    returned `state` to this browser with a `__Host-` cookie, and we redirect to the provider.
 * 4. `GET /oidc/callback`: `finishUpstream()` first — it spends the `state` and checks the
 *    browser binding, so a forged or replayed callback costs no request to the provider — then the
 *    code exchange, the ID token checks (worker/identity/oidc/id-token.ts), the account rule
 *    (worker/identity/oidc/accounts.ts) and `completeAuthorization()` exactly as the local flow does.
 *
 * The consent is the browser's until step 4 names the person; it is audited there, in the
 * tenant of the account that signed in. Every failure after step 3 is shown on a local page:
 * nothing the provider or the browser sent decides where the browser goes, except an upstream
 * `error=` (the person declined there), which goes back to the client's validated redirect URI
 * as `access_denied`, as `denyConsent()` would.
 */
import { AuthorizationError, authorizationErrorRedirect, type ApprovedConsent, type AuthRequest } from "@cloudflare/workers-oauth-provider";
import { log } from "../../../shared/log";
import { SCOPES } from "../../../shared/rpc/principal";
import { auditAuthEvent } from "../../oauth/auth-events";
import type { Env } from "../../../shared/env";
import { toBase64url } from "../../../shared/base64url.mjs";
import { verifyIdToken } from "./id-token";
import { OidcAccountLinks } from "./accounts";
import { resolveOidcConfig, type OidcConfig } from "./config";
import { discoverProvider, exchangeCode, providerKeys, type ProviderMetadata } from "./issuer";
import { mergeHeadersInto, redirect, renderErrorPage } from "../../oauth/consent-page";

/** Scopes SMCP asks the provider for: just enough to identify the person (OIDC Core §5.4). */
const UPSTREAM_SCOPE = "openid email profile";
const AGAIN = "Go back to the app and connect to SMCP again.";

/** What travels from step 3 to step 4, encrypted by the provider library. */
interface UpstreamData {
	issuer: string;
	nonce: string;
	verifier: string;
	granted: string[];
}

/** Upstream sign-in ready to start: the configuration and the provider's endpoints. */
export interface OidcReady {
	config: OidcConfig;
	metadata: ProviderMetadata;
}

let reportedProblem: string | undefined;

/**
 * The upstream sign-in button to show, or `undefined` when it is off or misconfigured (logged
 * once per isolate with the fix).
 *
 * @example
 * ```ts
 * renderAuthorizePage({ consent, handle, query, sso: oidcSignInOption(env) });
 * ```
 */
export function oidcSignInOption(env: Env): { name: string } | undefined {
	const setting = resolveOidcConfig(env);
	if (setting.state === "invalid" && reportedProblem !== setting.problem) {
		reportedProblem = setting.problem;
		log("error", "oidc.config_invalid", { problem: setting.problem });
	}
	return setting.state === "on" ? { name: setting.config.name } : undefined;
}

/** Step 1: the configuration and discovery, or the sentence to redraw the consent page with. */
export async function prepareOidcSignIn(env: Env): Promise<{ ok: true; value: OidcReady } | { ok: false; message: string }> {
	const setting = resolveOidcConfig(env);
	if (setting.state !== "on") return { ok: false, message: "Single sign-on is not available. Sign in with your email and password." };
	const metadata = await discoverProvider(setting.config);
	if (!metadata.ok) {
		log("error", "oidc.discovery_failed", { ...metadata.error, hint: "Check SMCP_OIDC_ISSUER and that the provider is reachable" });
		return { ok: false, message: `${setting.config.name} is not reachable right now. Try again, or sign in with your email and password.` };
	}
	return { ok: true, value: { config: setting.config, metadata: metadata.value } };
}

/**
 * Step 3: after `approveConsent()`, save the approved request and send the browser to the
 * provider. `granted` is what the person ticked, already intersected with what the client asked.
 */
export async function redirectToProvider(env: Env, ready: OidcReady, approved: ApprovedConsent, granted: string[]): Promise<Response> {
	const { config, metadata } = ready;
	const nonce = randomToken(); // OIDC Core §3.1.2.1: binds the ID token to this browser's request
	const verifier = randomToken(); // RFC 7636 §4.1: 43 characters from 32 random bytes
	const data: UpstreamData = { issuer: config.issuer, nonce, verifier, granted };
	const { state, headers } = await env.OAUTH_PROVIDER.beginUpstream(approved.request, { data, headers: approved.headers });
	const target = new URL(metadata.authorizationEndpoint);
	// RFC 6749 §3.1: the endpoint's own query component MUST be retained; ours is added to it.
	target.searchParams.set("response_type", "code");
	target.searchParams.set("client_id", config.clientId);
	target.searchParams.set("redirect_uri", config.redirectUri);
	target.searchParams.set("scope", UPSTREAM_SCOPE);
	target.searchParams.set("state", state);
	target.searchParams.set("nonce", nonce);
	target.searchParams.set("code_challenge", await s256(verifier));
	target.searchParams.set("code_challenge_method", "S256");
	log("info", "oidc.redirected", { clientId: approved.request.clientId, scopes: granted });
	return redirect(target.href, headers);
}

/**
 * Step 4, `GET /oidc/callback`: the provider sends the browser back here.
 *
 * @example
 * ```ts
 * // worker/index.ts, the provider's defaultHandler
 * if (url.pathname === "/oidc/callback") return handleOidcCallback(request, env);
 * ```
 */
export async function handleOidcCallback(request: Request, env: Env): Promise<Response> {
	if (request.method !== "GET") {
		const res = renderErrorPage(405, "Method not allowed", AGAIN);
		res.headers.set("Allow", "GET");
		return res;
	}
	const setting = resolveOidcConfig(env);
	if (setting.state !== "on") return renderErrorPage(404, "Single sign-on is not available", AGAIN);
	const config = setting.config;

	let resumed: { request: AuthRequest; data: unknown; headers: Headers };
	try {
		resumed = await env.OAUTH_PROVIDER.finishUpstream(request);
	} catch (e) {
		if (!(e instanceof AuthorizationError)) throw e; // a bug or a KV outage: a 500
		log("info", "oidc.state_rejected", { oauthError: e.code, description: e.description });
		return renderErrorPage(
			400,
			"This sign-in has expired",
			`Signing in at ${config.name} took too long, was already finished, or was started in another browser. ${AGAIN}`,
		);
	}
	const fail = (status: number, title: string, message: string) =>
		mergeHeadersInto(renderErrorPage(status, title, message), resumed.headers);
	const failed = () => fail(400, "Could not sign you in", `SMCP could not sign you in with ${config.name}. ${AGAIN}`);
	const data = upstreamData(resumed.data);
	if (!data || data.issuer !== config.issuer) {
		log("warn", "oidc.callback_rejected", { reason: data ? "issuer_changed" : "bad_transaction_data" });
		return failed();
	}
	const params = new URL(request.url).searchParams;

	const upstreamError = params.get("error");
	if (upstreamError !== null) {
		// The person declined at the provider, or it failed: the client asked, so answer it
		// (RFC 6749 §4.1.2.1) at the redirect URI the provider library validated and stored.
		log("info", "oidc.upstream_error", {
			oauthError: /^[a-z_]{1,40}$/.test(upstreamError) ? upstreamError : "other",
			clientId: resumed.request.clientId,
		});
		return redirect(
			authorizationErrorRedirect(resumed.request, "access_denied", `Sign-in at ${config.name} did not complete`),
			resumed.headers,
		);
	}
	const metadata = await discoverProvider(config);
	if (!metadata.ok) {
		log("error", "oidc.discovery_failed", metadata.error);
		return fail(502, "Could not sign you in", `${config.name} is not reachable right now. ${AGAIN}`);
	}
	// RFC 9207 §2.4: an `iss` in the response must be the issuer we sent the person to (mix-up defence);
	// a provider that advertises it must send it.
	const iss = params.get("iss");
	if ((iss !== null && iss !== config.issuer) || (iss === null && metadata.value.issInResponse)) {
		log("warn", "oidc.callback_rejected", { reason: "iss_mismatch" });
		return failed();
	}
	const code = params.get("code");
	if (!code || code.length > 2048) {
		log("warn", "oidc.callback_rejected", { reason: "no_code" });
		return failed();
	}

	const exchanged = await exchangeCode(config, metadata.value, code, data.verifier);
	if (!exchanged.ok) {
		log("warn", "oidc.token_exchange_failed", exchanged.error);
		return failed();
	}
	const claims = await verifiedClaims(config, metadata.value, exchanged.value.idToken, data.nonce);
	if (!claims) return failed();

	const mapped = await new OidcAccountLinks(env.DIRECTORY_KV).resolve(config.issuer, claims, config.allowedDomains);
	if (!mapped.ok) {
		const refused = mapped.error;
		log("warn", "oidc.sign_in_refused", { reason: refused.reason, clientId: resumed.request.clientId });
		const account = "account" in refused ? refused.account : undefined;
		if (account)
			await auditAuthEvent(
				env,
				{ tenantId: account.tenantId, userId: account.userId, clientId: "-" },
				"auth/sign_in",
				"denied",
				`oidc:${refused.reason}`,
			);
		return fail(
			403,
			"This account cannot use SMCP",
			`Your ${config.name} account may not sign in to this SMCP deployment. Ask its administrator. ${AGAIN}`,
		);
	}
	const { account, how } = mapped.value;
	await auditAuthEvent(
		env,
		{ tenantId: account.tenantId, userId: account.userId, clientId: resumed.request.clientId },
		"auth/sign_in",
		"allowed",
		`oidc:${how}`,
	);

	// Least privilege again (the data was sealed by us, but it costs nothing): what the client asked
	// for, or SMCP's defaults when it asked for none, and what SMCP grants.
	const requested = resumed.request.scope.length > 0 ? resumed.request.scope : [...SCOPES];
	const granted = data.granted.filter((s) => requested.includes(s) && (SCOPES as readonly string[]).includes(s));
	if (granted.length === 0)
		return redirect(authorizationErrorRedirect(resumed.request, "invalid_scope", "No requested scope was approved"), resumed.headers);
	let completed: { redirectTo: string };
	try {
		completed = await env.OAUTH_PROVIDER.completeAuthorization({
			request: resumed.request,
			userId: account.userId,
			// Grant metadata is stored unencrypted: ids only, no email (personal data).
			metadata: { tenantId: account.tenantId, signIn: "oidc" },
			scope: granted,
			props: { tenantId: account.tenantId, userId: account.userId },
		});
	} catch (e) {
		log("error", "oidc.complete_failed", { error: e instanceof Error ? e.name : typeof e, clientId: resumed.request.clientId });
		return fail(500, "Could not finish connecting", `SMCP could not complete the approval. ${AGAIN}`);
	}
	log("info", "authorize.approved", {
		clientId: resumed.request.clientId,
		userId: account.userId,
		scopes: granted,
		signIn: "oidc",
		account: how,
	});
	await auditAuthEvent(
		env,
		{ tenantId: account.tenantId, userId: account.userId, clientId: resumed.request.clientId },
		"auth/consent",
		"allowed",
		`granted:${granted.join(" ")}`,
	);
	return redirect(completed.redirectTo, resumed.headers);
}

/** The ID token's claims after every check, refetching the JWK Set once for an unknown `kid`. */
export async function verifiedClaims(config: OidcConfig, metadata: ProviderMetadata, idToken: string, nonce: string) {
	const expect = { issuer: config.issuer, clientId: config.clientId, nonce, now: Math.floor(Date.now() / 1000) };
	let keys = await providerKeys(metadata);
	if (!keys.ok) {
		log("error", "oidc.jwks_failed", keys.error);
		return null;
	}
	let checked = await verifyIdToken(idToken, keys.value, expect);
	if (!checked.ok && checked.error.reason === "unknown_key") {
		keys = await providerKeys(metadata, { refresh: true });
		if (keys.ok) checked = await verifyIdToken(idToken, keys.value, expect);
	}
	if (!checked.ok) {
		log("warn", "oidc.id_token_rejected", checked.error);
		return null;
	}
	return checked.value;
}

/** The transaction data, shape-checked (it was written by {@link redirectToProvider}). */
function upstreamData(value: unknown): UpstreamData | null {
	const d = value as Partial<UpstreamData> | null;
	if (!d || typeof d !== "object") return null;
	if (typeof d.issuer !== "string" || typeof d.nonce !== "string" || typeof d.verifier !== "string") return null;
	if (!Array.isArray(d.granted) || !d.granted.every((s) => typeof s === "string")) return null;
	return d as UpstreamData;
}

/** 256 random bits, base64url. */
export function randomToken(): string {
	return toBase64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The PKCE S256 challenge (RFC 7636 §4.2). */
export async function s256(verifier: string): Promise<string> {
	return toBase64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}
