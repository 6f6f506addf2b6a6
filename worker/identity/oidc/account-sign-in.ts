/**
 * @module worker/identity/oidc/account-sign-in
 * Single sign-on to the account page (`/account`), for people whose account came from the
 * OpenID provider and has no usable password. The same Authorization Code flow with PKCE and
 * nonce as the consent page's upstream sign-in (worker/identity/oidc/flow.ts), the same ID token
 * checks and the same account rule (worker/identity/oidc/accounts.ts), but no OAuth client is
 * involved, so there is no consent handle to hang the transaction on:
 *
 * 1. `POST /account/sso` (a same-origin form) draws `state`, `nonce` and the PKCE verifier, seals
 *    them (AES-GCM under a key derived from `SMCP_SECRET`) into a 10-minute `__Host-` cookie, and
 *    redirects to the provider. `state` starts with {@link ACCOUNT_STATE_PREFIX} so the shared
 *    callback (`/oidc/callback`, the one redirect URI registered at the provider) can tell the
 *    two flows apart.
 * 2. `GET /oidc/callback`: the `state` must equal the sealed one in this browser's cookie (a
 *    callback started in another browser, forged or replayed, fails: OIDC Core §3.1.2.7, RFC 6749
 *    §10.12), then code exchange, ID token checks, account rule, and a web session; the cookie
 *    is cleared either way.
 */
import { log } from "../../../shared/log";
import { auditAuthEvent } from "../../oauth/auth-events";
import { redirect, renderErrorPage } from "../../oauth/consent-page";
import type { Env } from "../../../shared/env";
import { resolveConfig } from "../../../shared/config";
import { cookieValue, issueSession, openSealed, sealText } from "../web-session";
import { OidcAccountLinks } from "./accounts";
import { resolveOidcConfig } from "./config";
import { prepareOidcSignIn, randomToken, s256, verifiedClaims } from "./flow";
import { discoverProvider, exchangeCode } from "./issuer";

/** `state` values of the account-page flow start so. */
export const ACCOUNT_STATE_PREFIX = "acct.";
const COOKIE = "__Host-smcp-sso";
const TTL_SECONDS = 600;
const AGAIN = "Open /account and sign in again.";

interface Pending {
	state: string;
	nonce: string;
	verifier: string;
	issuer: string;
	expiresAt: number;
}

/** Whether a callback's `state` belongs to the account-page flow. */
export function isAccountSsoState(state: string | null): boolean {
	return state?.startsWith(ACCOUNT_STATE_PREFIX) === true;
}

/** Step 1: `POST /account/sso` → the provider. */
export async function startAccountSso(env: Env): Promise<Response> {
	const ready = await prepareOidcSignIn(env);
	if (!ready.ok) return renderErrorPage(503, "Single sign-on is not available", `${ready.message} (${AGAIN})`);
	const { config, metadata } = ready.value;
	const pending: Pending = {
		state: `${ACCOUNT_STATE_PREFIX}${randomToken()}`,
		nonce: randomToken(),
		verifier: randomToken(),
		issuer: config.issuer,
		expiresAt: Date.now() + TTL_SECONDS * 1000,
	};
	const target = new URL(metadata.authorizationEndpoint);
	target.searchParams.set("response_type", "code");
	target.searchParams.set("client_id", config.clientId);
	target.searchParams.set("redirect_uri", config.redirectUri);
	target.searchParams.set("scope", "openid email profile");
	target.searchParams.set("state", pending.state);
	target.searchParams.set("nonce", pending.nonce);
	target.searchParams.set("code_challenge", await s256(pending.verifier));
	target.searchParams.set("code_challenge_method", "S256");
	const sealed = await sealText(resolveConfig(env).secret, "account-sso", JSON.stringify(pending));
	const headers = new Headers({ "Set-Cookie": `${COOKIE}=${sealed}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${TTL_SECONDS}` });
	return redirect(target.href, headers);
}

/** Step 2: the provider's callback for the account-page flow (`/oidc/callback` with an account `state`). */
export async function finishAccountSso(request: Request, env: Env): Promise<Response> {
	const setting = resolveOidcConfig(env);
	if (setting.state !== "on") return renderErrorPage(404, "Single sign-on is not available", AGAIN);
	const config = setting.config;
	const clear = `${COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;
	const fail = (status: number, title: string, message: string) => {
		const res = renderErrorPage(status, title, message);
		res.headers.append("Set-Cookie", clear);
		return res;
	};
	const failed = () => fail(400, "Could not sign you in", `SMCP could not sign you in with ${config.name}. ${AGAIN}`);
	const params = new URL(request.url).searchParams;
	const secret = resolveConfig(env).secret;
	const pending = await readPending(secret, request);
	if (!pending || pending.state !== params.get("state") || pending.expiresAt < Date.now() || pending.issuer !== config.issuer) {
		log("info", "oidc.account_state_rejected");
		return fail(400, "This sign-in has expired", `It took too long, was already finished, or was started in another browser. ${AGAIN}`);
	}
	if (params.get("error") !== null) return fail(403, "Sign-in was cancelled", `${config.name} did not sign you in. ${AGAIN}`);
	const metadata = await discoverProvider(config);
	if (!metadata.ok) return fail(502, "Could not sign you in", `${config.name} is not reachable right now. ${AGAIN}`);
	const iss = params.get("iss");
	const code = params.get("code");
	if ((iss !== null && iss !== config.issuer) || (iss === null && metadata.value.issInResponse) || !code || code.length > 2048) {
		log("warn", "oidc.callback_rejected", { reason: "account_callback_invalid" });
		return failed();
	}
	const exchanged = await exchangeCode(config, metadata.value, code, pending.verifier);
	if (!exchanged.ok) {
		log("warn", "oidc.token_exchange_failed", exchanged.error);
		return failed();
	}
	const claims = await verifiedClaims(config, metadata.value, exchanged.value.idToken, pending.nonce);
	if (!claims) return failed();
	const mapped = await new OidcAccountLinks(env.DIRECTORY_KV).resolve(config.issuer, claims, config.allowedDomains);
	if (!mapped.ok) {
		log("warn", "oidc.sign_in_refused", { reason: mapped.error.reason, clientId: "account-page" });
		return fail(403, "This account cannot use SMCP", `Your ${config.name} account may not sign in here. Ask the administrator.`);
	}
	const { account, how } = mapped.value;
	await auditAuthEvent(
		env,
		{ tenantId: account.tenantId, userId: account.userId, clientId: "account-page" },
		"auth/sign_in",
		"allowed",
		`oidc:${how}`,
	);
	const { cookie } = await issueSession(secret, env.DIRECTORY_KV, account.userId);
	const headers = new Headers({ Location: "/account", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" });
	headers.append("Set-Cookie", cookie);
	headers.append("Set-Cookie", clear);
	return new Response(null, { status: 303, headers });
}

async function readPending(secret: string, request: Request): Promise<Pending | null> {
	const plain = await openSealed(secret, "account-sso", cookieValue(request, COOKIE));
	if (plain === null) return null;
	try {
		const p = JSON.parse(plain) as Pending;
		return typeof p.state === "string" && typeof p.verifier === "string" && typeof p.nonce === "string" ? p : null;
	} catch {
		return null;
	}
}
