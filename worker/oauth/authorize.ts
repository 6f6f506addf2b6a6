/**
 * @module worker/oauth/authorize
 * The authorization endpoint (`/authorize`): the OAuth provider validates the request, this module
 * signs the person in against {@link AccountDirectory} and asks for consent on one page, then
 * hands the decision back to the provider. With upstream sign-in configured, the page also offers
 * "Continue with <provider>", which approves and hands over to `worker/identity/oidc/flow.ts`.
 *
 * Every redirect this module issues comes from the provider: `AuthorizationError.redirectTo`
 * (set only after the client and its exact redirect URI were validated), or the request bound to
 * the consent handle and returned by `approveConsent()` / `denyConsent()` /
 * `completeAuthorization()`. Nothing from the form decides where the browser goes.
 */
import {
	AuthorizationError,
	CimdFetchError,
	authorizationErrorRedirect,
	type ApprovedConsent,
	type AuthRequest,
	type ConsentDescription,
} from "@cloudflare/workers-oauth-provider";
import { log } from "../../shared/log";
import { SCOPES } from "../../shared/rpc/principal";
import { LOCKED_MESSAGE, signInThrottled } from "../identity/sign-in-throttle";
import { ensureDevAccount, type Account } from "../identity/accounts";
import { resolveConfig } from "../../shared/config";
import { TenantDirectory } from "../identity/tenants";
import { checkConsentProof, consentProof, issueSession, readSession, type WebSession } from "../identity/web-session";
import { auditAuthEvent } from "./auth-events";
import type { Env } from "../../shared/env";
import { oidcSignInOption, prepareOidcSignIn, redirectToProvider } from "../identity/oidc/flow";
import { type AuthorizePageOptions, mergeHeadersInto, redirect, renderAuthorizePage, renderErrorPage } from "./consent-page";
import { oversized } from "./identifiers";

/** A sign-in form is a few hundred bytes; anything near this is not one. */
const MAX_FORM_BYTES = 16 * 1024;

const AGAIN = "Go back to the app and connect to SMCP again.";
/** The provider's consent binding cookies start so (default `cookiePrefix` + "consent-" + hash). */
const CONSENT_COOKIE = "__Host-oauth-consent";

/**
 * Handles `GET` (show the sign-in and consent page) and `POST` (the person's decision) on
 * `/authorize`. Any other method is answered `405` with `Allow`.
 *
 * @example
 * ```ts
 * // worker/index.ts, the provider's defaultHandler
 * if (url.pathname === "/authorize") return handleAuthorize(request, env);
 * ```
 */
export async function handleAuthorize(request: Request, env: Env): Promise<Response> {
	if (request.method === "GET") return showPage(request, env);
	if (request.method === "POST") return decide(request, env);
	// RFC 9110 §15.5.6: a 405 MUST list the supported methods in Allow.
	const res = renderErrorPage(405, "Method not allowed", "Open this page from the app you are connecting.");
	res.headers.set("Allow", "GET, POST");
	return res;
}

async function showPage(request: Request, env: Env): Promise<Response> {
	const url = new URL(request.url);
	try {
		await ensureDevAccount(env, url);
	} catch (e) {
		// Sign-in will fail for the dev account and say so; the page itself still works.
		log("error", "authorize.dev_account_seed_failed", errorDetail(e));
	}
	const parsed = await parse(env, request, { allowRedirect: true });
	if (parsed instanceof Response) return parsed;

	const consent = await describe(env, parsed);
	if (consent instanceof Response) return consent;
	const requested = requestedScopes(parsed.scope);
	if (!requested.some(isGrantable)) {
		// Nothing SMCP offers was asked for. The request was validated by parseAuthRequest(), so
		// answering the client is safe (RFC 6749 §4.1.2.1 invalid_scope).
		return redirect(authorizationErrorRedirect(parsed, "invalid_scope", "None of the requested scopes is offered by this server"));
	}
	// describeConsent() before beginConsent(): a failed lookup leaves nothing in KV.
	const tx = await env.OAUTH_PROVIDER.beginConsent(parsed);
	// Signed in already (the account page, or an earlier consent): no password, but the consent is
	// still asked, and the session may approve this handle only.
	const signedIn = await sessionView(env, request, tx.handle);
	return renderAuthorizePage({
		consent: { ...consent, scope: requested },
		handle: tx.handle,
		query: url.search.slice(1),
		headers: tx.headers,
		sso: oidcSignInOption(env),
		...signedIn,
	});
}

/**
 * The "signed in as" part of the page for a live web session: the proof that binds the session to
 * this consent handle, and the workspace choice when the account has several.
 */
async function sessionView(
	env: Env,
	request: Request,
	handle: string,
	given?: WebSession,
): Promise<Pick<AuthorizePageOptions, "session" | "workspaces">> {
	const secret = resolveConfig(env).secret;
	const session = given ?? (await readSession(secret, env.DIRECTORY_KV, request));
	if (!session) return {};
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const account = await dir.account(session.userId);
	if (!account) return {};
	const choices = (await dir.tenantsOf(account.userId)).filter((t) => t.status === "active");
	return {
		session: { email: account.email, proof: await consentProof(secret, session, handle) },
		...(choices.length > 1 ? { workspaces: { signedInAs: account.email, choices } } : {}),
	};
}

async function decide(request: Request, env: Env): Promise<Response> {
	const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
	if (type !== "application/x-www-form-urlencoded") {
		return renderErrorPage(415, "Unsupported form encoding", "Submit the sign-in form from the SMCP sign-in page.");
	}
	// CSRF defence in depth beside the provider's SameSite binding cookie (RFC 6749 §10.12: the
	// authorization endpoint MUST be protected against CSRF). Browsers send Origin on every POST
	// (Fetch Standard, "`Origin` header"), and Sec-Fetch-Site names a cross-site request outright
	// (W3C Fetch Metadata). The failed-sign-in path redraws the page before the provider checks
	// the handle, so it must not be reachable cross-site. The page's own origin is accepted too:
	// wrangler dev answers on 127.0.0.1 and localhost alike, and the guard has already limited
	// Host to this deployment's names. SMCP_ALLOWED_ORIGINS (browser MCP clients) deliberately
	// does not apply to this form.
	const origin = request.headers.get("Origin");
	const expected = originOf(env.SMCP_PUBLIC_ORIGIN);
	const own = new URL(request.url).origin;
	if ((origin !== null && origin !== expected && origin !== own) || request.headers.get("Sec-Fetch-Site") === "cross-site") {
		log("warn", "authorize.cross_origin_post", { origin, expected, hint: "If this is your own page, check SMCP_PUBLIC_ORIGIN" });
		return renderErrorPage(403, "This form came from another site", `SMCP accepts its sign-in form only from its own page. ${AGAIN}`);
	}
	// Bytes, then UTF-8 (WHATWG URL §5.1): workerd warns about `.text()` on a non-text type.
	const body = await request.arrayBuffer();
	if (body.byteLength > MAX_FORM_BYTES) return renderErrorPage(413, "Form too large", AGAIN);
	const form = new URLSearchParams(new TextDecoder().decode(body));
	const handle = form.get("handle") ?? "";
	const action = form.get("action");

	if (action === "deny") {
		const denied = await consume(() => env.OAUTH_PROVIDER.denyConsent(request, handle));
		if (denied instanceof Response) return denied;
		// redirectTo is built from the request stored under the handle, never from the form.
		return redirect(denied.redirectTo, denied.headers);
	}
	if (action !== "approve" && action !== "oidc")
		return renderErrorPage(400, "Unknown choice", `The form did not say whether to approve or deny. ${AGAIN}`);
	// No password is checked (and nothing is written anywhere) for a form that does not come with
	// a consent handle and its browser binding cookie: a bare POST is not a sign-in attempt. The
	// handle itself is verified, and spent, by approveConsent() below.
	if (!handle || !(request.headers.get("Cookie") ?? "").includes(`${CONSENT_COOKIE}-`)) {
		return renderErrorPage(400, "This sign-in page has expired", `The form is missing its consent details. ${AGAIN}`);
	}

	const checked = new Set(form.getAll("scope").filter(isGrantable));
	const email = form.get("email") ?? "";
	const password = form.get("password") ?? "";
	const secret = resolveConfig(env).secret;
	// A live web session stands in for the password only with the proof drawn for this very handle
	// (worker/identity/web-session.ts): a session cannot approve a consent it was not shown.
	const live = password ? null : await readSession(secret, env.DIRECTORY_KV, request);
	const session = live && (await checkConsentProof(secret, live, handle, form.get("proof"))) ? live : null;
	const redraw = async (error: string, as: WebSession | null = session): Promise<Response> => {
		// For display only: `q` is whatever the browser sent. Where the browser goes afterwards is
		// decided by the handle, never by this request.
		const shown = await parse(env, new Request(new URL(`/authorize?${form.get("q") ?? ""}`, request.url)), { allowRedirect: false });
		if (shown instanceof Response) return shown;
		const consent = await describe(env, shown);
		if (consent instanceof Response) return consent;
		const query = form.get("q") ?? "";
		return renderAuthorizePage({
			consent: { ...consent, scope: requestedScopes(shown.scope) },
			handle,
			query,
			email,
			error,
			checked: [...checked],
			sso: oidcSignInOption(env),
			...(as ? await sessionView(env, request, handle, as) : {}),
		});
	};

	if (checked.size === 0) return redraw("Choose at least one permission.");
	if (action === "oidc") {
		// Upstream sign-in (worker/identity/oidc/flow.ts explains the order): discovery before the handle is
		// spent, so an unreachable provider redraws this page; then consent; then the redirect.
		const ready = await prepareOidcSignIn(env);
		if (!ready.ok) return redraw(ready.message);
		const decided = await approveChecked(env, request, handle, checked);
		if (decided instanceof Response) return decided;
		return redirectToProvider(env, ready.value, decided.approved, decided.granted);
	}
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	let account: Account | null;
	let newSession: { cookie: string; session: WebSession } | null = null;
	if (session) {
		account = await dir.account(session.userId);
	} else if (!password) {
		// No password, and no session for this handle (signed out meanwhile, or a forged proof).
		return redraw("Your sign-in has ended. Sign in with your email and password.", null);
	} else {
		// Counted per account (worker/identity/sign-in-throttle.ts), which also audits failures.
		const signIn = await signInThrottled(env, email, password, "-");
		if (signIn.retryAfterSeconds) return redraw(LOCKED_MESSAGE(signIn.retryAfterSeconds));
		account = signIn.account;
		// Signed in: the next consent in this browser, and the account page, need no password.
		if (account) newSession = await issueSession(secret, env.DIRECTORY_KV, account.userId);
	}
	// One message for an unknown email and a wrong password (OWASP Authentication Cheat Sheet).
	// 200, not 401: RFC 9110 §15.5.2 requires a WWW-Authenticate challenge on every 401. The
	// handle is not consumed, so the person can try again on the same page.
	if (!account) {
		log("warn", "authorize.sign_in_failed"); // no email: it is personal data, and a guess may be a password
		return redraw("Email or password is incorrect.", null);
	}

	// Tenant = workspace; a person may belong to several and connects an app to one of them.
	const workspaces = (await dir.tenantsOf(account.userId)).filter((t) => t.status === "active");
	if (workspaces.length === 0) return redraw("Your account has no active workspace. Ask the operator of this server.");
	let tenantId = workspaces[0]!.id;
	if (workspaces.length > 1) {
		const chosen = workspaces.find((w) => w.id === form.get("tenant"));
		if (!chosen) {
			// Ask which workspace, signed in now: the second step posts the proof, not the password.
			const page = await redraw("", newSession?.session ?? session);
			if (newSession) page.headers.append("Set-Cookie", newSession.cookie);
			return page;
		}
		tenantId = chosen.id;
	}

	const decided = await approveChecked(env, request, handle, checked);
	if (decided instanceof Response) return decided;
	const { approved, granted } = decided;
	let completed: { redirectTo: string };
	try {
		completed = await env.OAUTH_PROVIDER.completeAuthorization({
			request: approved.request,
			userId: account.userId,
			// Grant metadata is stored unencrypted: ids only, no email (personal data).
			metadata: { tenantId },
			scope: granted,
			props: { tenantId, userId: account.userId },
		});
	} catch (e) {
		// The client or its redirect URI changed since the page was drawn, or KV failed.
		log("error", "authorize.complete_failed", { ...errorDetail(e), clientId: approved.request.clientId });
		return mergeHeadersInto(
			renderErrorPage(500, "Could not finish connecting", `SMCP could not complete the approval. ${AGAIN}`),
			approved.headers,
		);
	}
	log("info", "authorize.approved", { clientId: approved.request.clientId, userId: account.userId, scopes: granted });
	await auditAuthEvent(
		env,
		{ tenantId, userId: account.userId, clientId: approved.request.clientId },
		"auth/consent",
		"allowed",
		`granted:${granted.join(" ")}`,
	);
	const out = redirect(completed.redirectTo, approved.headers);
	if (newSession) out.headers.append("Set-Cookie", newSession.cookie);
	return out;
}

/**
 * Spends the consent handle and works out the grant: the scopes the person left ticked, of those
 * the client asked for, of those SMCP offers. Shared by password and upstream sign-in.
 */
async function approveChecked(
	env: Env,
	request: Request,
	handle: string,
	checked: ReadonlySet<string>,
): Promise<{ approved: ApprovedConsent; granted: string[] } | Response> {
	// The request comes from approveConsent(), bound to the handle, never from `q`: an AuthRequest
	// rebuilt from browser-supplied data let an attacker swap the redirect URI and receive the
	// code (cloudflare/workers-oauth-provider#92, "open redirect vulnerability in
	// completeAuthorization"; the provider's docs: "Nothing trusted comes from the form").
	// No `scope` option: approveConsent() would *replace* the stored scopes with it (the page may
	// grant "fewer or more than the client requested", within scopesSupported), losing the
	// client's original request, which the grant must not exceed.
	const approved = await consume(() => env.OAUTH_PROVIDER.approveConsent(request, handle));
	if (approved instanceof Response) return approved;
	// Least privilege (RFC 6749 §3.3, RFC 9700 §2.3): grant what the person left ticked, of what
	// the client asked for, of what SMCP offers.
	const granted = requestedScopes(approved.request.scope).filter((s) => isGrantable(s) && checked.has(s));
	if (granted.length === 0) {
		// Only reachable with a hand-edited form; the handle is spent, so answer the client.
		return redirect(authorizationErrorRedirect(approved.request, "invalid_scope", "No requested scope was approved"), approved.headers);
	}
	return { approved, granted };
}

/**
 * `parseAuthRequest()`, with its failures rendered. An `AuthorizationError` without `redirectTo`
 * means the client or redirect URI is not trusted: render locally and never redirect (the
 * CVE-2025-4143 class, where an unregistered redirect_uri received a Location header).
 */
async function parse(env: Env, request: Request, opts: { allowRedirect: boolean }): Promise<AuthRequest | Response> {
	// Longer than any client id: the provider would build a KV key over the 512-byte limit from it.
	if (oversized(new URL(request.url).searchParams.get("client_id"))) {
		log("info", "authorize.request_rejected", { oauthError: "invalid_request", description: "client_id too long" });
		return renderErrorPage(400, "This sign-in link is not valid", `The app's client_id is not valid. ${AGAIN}`);
	}
	try {
		return await env.OAUTH_PROVIDER.parseAuthRequest(request);
	} catch (e) {
		if (e instanceof AuthorizationError) {
			if (e.redirectTo && opts.allowRedirect) return redirect(e.redirectTo);
			// The description can echo request parameters: bounded, and only for operators.
			log("info", "authorize.request_rejected", { oauthError: e.code, description: e.description.slice(0, 120) });
			return renderErrorPage(400, "This sign-in link is not valid", `${e.description}. ${AGAIN}`);
		}
		return clientLookupFailed(e);
	}
}

/** Runs `approveConsent()` / `denyConsent()`; a missing, foreign, expired or reused handle is shown locally. */
async function consume<T>(step: () => Promise<T>): Promise<T | Response> {
	try {
		return await step();
	} catch (e) {
		if (!(e instanceof AuthorizationError)) throw e; // a bug or a KV outage: let it surface as a 500
		log("info", "authorize.handle_rejected", { oauthError: e.code, description: e.description });
		return renderErrorPage(400, "This sign-in page has expired", `${e.description}. ${AGAIN}`);
	}
}

/** `describeConsent()`, with a client lookup failure rendered. */
async function describe(env: Env, authRequest: AuthRequest): Promise<ConsentDescription | Response> {
	try {
		return await env.OAUTH_PROVIDER.describeConsent(authRequest);
	} catch (e) {
		return clientLookupFailed(e);
	}
}

function clientLookupFailed(e: unknown): Response {
	if (e instanceof CimdFetchError) {
		// `detail` may quote the metadata document; keep it out of logs.
		log("warn", "authorize.client_metadata_unavailable", { reason: e.reason, metadataUrl: e.metadataUrl });
		return renderErrorPage(400, "This app could not be verified", `SMCP could not read the app's published details. ${AGAIN}`);
	}
	log("error", "authorize.request_failed", errorDetail(e));
	return renderErrorPage(400, "This sign-in link could not be read", AGAIN);
}

/** The scopes a request asks for; none means SMCP's defaults (RFC 6749 §3.3 "pre-defined default value"). */
function requestedScopes(scope: readonly string[]): string[] {
	return scope.length > 0 ? [...new Set(scope)] : [...SCOPES];
}

function isGrantable(scope: string): boolean {
	return (SCOPES as readonly string[]).includes(scope);
}

function originOf(value: string): string | null {
	try {
		return new URL(value).origin;
	} catch {
		return null;
	}
}

/**
 * An error's name and the start of its message, for logs. The provider's and KV's messages name
 * the failed check, not the request's values; CIMD errors go through {@link clientLookupFailed}.
 */
function errorDetail(e: unknown): { error: string; message?: string } {
	return e instanceof Error ? { error: e.name, message: e.message.slice(0, 200) } : { error: typeof e };
}
