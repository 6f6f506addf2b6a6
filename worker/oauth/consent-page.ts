/**
 * @module worker/oauth/consent-page
 * Server-rendered HTML for the authorization endpoint: one page that signs the person in and asks
 * for consent, and a local error page. No scripts, no external assets, and every interpolated
 * string is escaped: everything in a `ConsentDescription` may come from the client (dynamic
 * registration or a CIMD document), so a client name is attacker-controlled text.
 */
import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";
import { SCOPES, type Scope } from "../../shared/rpc/principal";

/** Plain-language descriptions of the scopes SMCP grants. */
const SCOPE_WORDS: Record<Scope, string> = {
	"mcp:read": "Read your memory graph and other SMCP data",
	"mcp:write": "Create, change and delete your SMCP data",
};

/** What {@link renderAuthorizePage} shows. */
export interface AuthorizePageOptions {
	/** From `describeConsent()`, with `scope` already defaulted when the client asked for none. */
	consent: ConsentDescription;
	/** The consent handle from `beginConsent()`, posted back unchanged. */
	handle: string;
	/** The original `/authorize` query string (without `?`), used only to redraw this page. */
	query: string;
	/** Prefills the email field when the page is shown again. Never pass the password back. */
	email?: string;
	/** A generic, user-facing error (e.g. "Email or password is incorrect."). */
	error?: string;
	/** The scopes to show ticked; defaults to every grantable requested scope. */
	checked?: readonly string[];
	/** The consent transaction's headers (binding cookie) from `beginConsent()`. */
	headers?: Headers;
	/** Where the form posts; defaults to `/authorize`. */
	action?: string;
	/**
	 * Set after a successful sign-in when the account belongs to several workspaces: the page then
	 * asks which workspace to connect instead of asking for the password again.
	 */
	workspaces?: { signedInAs: string; choices: { id: string; name: string; role: string }[] };
	/** Upstream sign-in (worker/identity/oidc/flow.ts): shows "Sign in with <name>" beside the password form. */
	sso?: { name: string };
}

/**
 * Escapes text for HTML element content and quoted attribute values (OWASP XSS Prevention Cheat
 * Sheet, rules 1 and 2). Every attribute on these pages is double-quoted, so these five suffice.
 *
 * @example
 * ```ts
 * escapeHtml('<script>alert(1)</script>'); // "&lt;script&gt;alert(1)&lt;/script&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** The plain-language description of a scope SMCP grants, or `undefined` for any other string. */
export function describeScope(scope: string): string | undefined {
	return (SCOPES as readonly string[]).includes(scope) ? SCOPE_WORDS[scope as Scope] : undefined;
}

/**
 * The combined sign-in and consent page (MCP security best practices, "Confused Deputy →
 * Mitigation": show the client, where the approval goes, and what it may do).
 *
 * @example
 * ```ts
 * const { handle, headers } = await env.OAUTH_PROVIDER.beginConsent(authRequest);
 * return renderAuthorizePage({ consent, handle, query: url.search.slice(1), headers });
 * ```
 */
export function renderAuthorizePage(opts: AuthorizePageOptions): Response {
	const c = opts.consent;
	const nonce = newNonce();
	const grantable = c.scope.filter((s) => describeScope(s) !== undefined);
	const other = c.scope.filter((s) => describeScope(s) === undefined);
	const checked = new Set(opts.checked ?? grantable);
	const name = escapeHtml(c.clientName);

	const identity = c.clientDomain
		? `<p>Verified domain: <strong>${escapeHtml(c.clientDomain)}</strong></p>`
		: `<p class="note">The app chose this name itself; SMCP has not verified it.</p>`;
	const loopback = c.redirectIsLoopback
		? `<p class="warn"><strong>Warning:</strong> the approval goes to a program on the computer you are using ` +
			`(<strong>${escapeHtml(c.redirectHost)}</strong>). Any program on that computer could receive the approval, ` +
			`whatever name it claims. Approve only if you just started this from an app you trust.</p>`
		: `<p>After you approve, you will be sent to <strong>${escapeHtml(c.redirectHost)}</strong>.</p>`;
	const boxes = grantable
		.map((s, i) => {
			const id = `scope-${i}`;
			const on = checked.has(s) ? " checked" : "";
			return `<li><input type="checkbox" id="${id}" name="scope" value="${escapeHtml(s)}"${on}> <label for="${id}">${escapeHtml(describeScope(s) ?? s)}</label></li>`;
		})
		.join("");
	const unoffered =
		other.length === 0
			? ""
			: `<p>The app also asked for permissions SMCP does not offer. They will not be granted:</p><ul>${other
					.map((s) => `<li><code>${escapeHtml(s)}</code></li>`)
					.join("")}</ul>`;
	const error = opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : "";
	// Honest about the order: choosing the provider approves the ticked permissions now, and the
	// app is connected only once the person has signed in there. `formnovalidate`: the email and
	// password fields are not needed for this button. It comes after "Sign in and approve" so that
	// Enter in the password field still submits the password form (HTML "implicit submission"
	// uses the form's first submit button).
	const sso = opts.sso
		? `<fieldset>
<legend>Sign in with ${escapeHtml(opts.sso.name)}</legend>
<p>Approve the permissions above and sign in at ${escapeHtml(opts.sso.name)}. ${name} is connected only after you have signed in there.</p>
<p><button type="submit" name="action" value="oidc" formnovalidate>Continue with ${escapeHtml(opts.sso.name)}</button></p>
</fieldset>`
		: "";

	const body = `<main>
<h1>Allow ${name} to use your SMCP account?</h1>
${identity}
${loopback}
${error}
<form method="post" action="${escapeHtml(opts.action ?? "/authorize")}">
<input type="hidden" name="handle" value="${escapeHtml(opts.handle)}">
<input type="hidden" name="q" value="${escapeHtml(opts.query)}">
<fieldset>
<legend>${name} is asking to</legend>
<ul class="scopes">${boxes}</ul>
${unoffered}
</fieldset>
${opts.workspaces ? workspaceChoice(opts.workspaces) : signIn(opts.email)}
<p><button type="submit" name="action" value="approve">${opts.workspaces ? "Approve" : "Sign in and approve"}</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button></p>
${opts.workspaces ? "" : sso}
</form>
</main>`;
	return htmlResponse(200, `Allow ${name}?`, body, nonce, opts.headers);
}

/** The email and password fields. */
function signIn(email: string | undefined): string {
	return `<fieldset>
<legend>Sign in to SMCP</legend>
<p><label for="email">Email</label><br><input type="email" id="email" name="email" autocomplete="username" required value="${escapeHtml(email ?? "")}"></p>
<p><label for="password">Password</label><br><input type="password" id="password" name="password" autocomplete="current-password" required></p>
</fieldset>`;
}

/** The workspace choice shown after sign-in to an account with several workspaces. */
function workspaceChoice(w: NonNullable<AuthorizePageOptions["workspaces"]>): string {
	const radios = w.choices
		.map(
			(c, i) =>
				`<li><input type="radio" id="ws-${i}" name="tenant" value="${escapeHtml(c.id)}"${i === 0 ? " checked" : ""} required> <label for="ws-${i}">${escapeHtml(c.name)} (${escapeHtml(c.role)})</label></li>`,
		)
		.join("");
	return `<fieldset>
<legend>Connect to which workspace?</legend>
<p>Signed in as <strong>${escapeHtml(w.signedInAs)}</strong>. The app will see only the workspace you choose.</p>
<ul class="scopes">${radios}</ul>
</fieldset>`;
}

/**
 * A local error page. Use it whenever a redirect back to the client is not known to be safe:
 * without a validated redirect URI, the error MUST be shown here (RFC 6749 §4.1.2.1).
 *
 * @example
 * ```ts
 * return renderErrorPage(400, "This sign-in link is not valid", "Go back to the app and start again.");
 * ```
 */
export function renderErrorPage(status: number, title: string, message: string): Response {
	const body = `<main>\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n</main>`;
	return htmlResponse(status, title, body, newNonce());
}

/** Wraps `body` in a document and sets the security headers every page carries. */
function htmlResponse(status: number, title: string, body: string, nonce: string, extra?: Headers): Response {
	const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)} · SMCP</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${body}
</body>
</html>`;
	const headers = new Headers({
		"Content-Type": "text/html; charset=utf-8",
		// Deliberately no `form-action`: approving answers the POST with a 302 to the client's
		// redirect URI, and Chrome and Safari check form-action against that redirect too, so
		// `form-action 'self'` would block the OAuth response itself (whether it should apply to
		// redirects is open: w3c/webappsec-csp#8). The form posts to this origin and every redirect
		// target comes from the provider's validated request, so nothing is lost.
		// No scripts at all: `default-src 'none'` and no `script-src`.
		"Content-Security-Policy": `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'`,
		// Clickjacking: a framed consent page could trick a signed-in person into approving
		// (RFC 6749 §10.13; RFC 9700 §4.16). X-Frame-Options covers browsers without CSP 2.
		"X-Frame-Options": "DENY",
		// The page URL carries the authorization request (state, PKCE challenge); keep it out of Referer.
		// same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on this page's
		// own form POSTs, which the Origin check must refuse. Other sites still get no Referer.
		"Referrer-Policy": "same-origin",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store",
	});
	mergeHeaders(headers, extra);
	return new Response(html, { status, headers });
}

/**
 * Adds `extra` to `headers`: every `Set-Cookie`, and other headers only where the page has not set
 * its own (the provider's `frame-ancestors`-only CSP must not replace the stricter one here).
 */
export function mergeHeaders(headers: Headers, extra: Headers | undefined): Headers {
	if (!extra) return headers;
	extra.forEach((value, key) => {
		if (key.toLowerCase() !== "set-cookie" && !headers.has(key)) headers.set(key, value);
	});
	for (const cookie of extra.getSetCookie()) headers.append("Set-Cookie", cookie);
	return headers;
}

/** 128 random bits for the style nonce (CSP Level 3, nonce-source: "at least 128 bits"). */
function newNonce(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return btoa(String.fromCharCode(...bytes));
}

const STYLE =
	"body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:1rem;color:#111;background:#fafafa}" +
	"main{max-width:34rem;margin:2rem auto;background:#fff;padding:1.5rem;border:1px solid #ddd;border-radius:8px}" +
	"h1{font-size:1.4rem;overflow-wrap:anywhere}fieldset{border:1px solid #ddd;margin:1rem 0}" +
	".scopes{list-style:none;padding-left:0}.note{color:#555}.warn{background:#fff4e5;border-left:4px solid #e8a000;padding:.5rem}" +
	".error{color:#a00;font-weight:600}input[type=email],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}" +
	"button{padding:.5rem 1rem;margin-right:.5rem;font:inherit}:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}";

/**
 * A 302 to `location` (which must come from the OAuth provider's validated request, never from
 * user input), with `headers` (cookies) merged.
 *
 * @example
 * ```ts
 * return redirect(completed.redirectTo, approved.headers);
 * ```
 */
export function redirect(location: string, headers?: Headers): Response {
	const h = new Headers(headers);
	h.set("Location", location);
	h.set("Cache-Control", "no-store");
	// The Location carries a code or state; keep it out of the next page's Referer.
	h.set("Referrer-Policy", "no-referrer");
	return new Response(null, { status: 302, headers: h });
}

/** Merges `extra` (cookies from the provider) into a page response and returns it. */
export function mergeHeadersInto(res: Response, extra: Headers): Response {
	mergeHeaders(res.headers, extra);
	return res;
}
