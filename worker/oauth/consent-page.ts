/**
 * @module worker/oauth/consent-page
 * Server-rendered HTML for the authorization endpoint: one page that signs the person in and asks
 * for consent, and a local error page. No scripts, no external assets, and every interpolated
 * string is escaped: everything in a `ConsentDescription` may come from the client (dynamic
 * registration or a CIMD document), so a client name is attacker-controlled text. Drawn with the
 * shared design system (`worker/ui/layout.ts`).
 */
import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";
import { SCOPES, type Scope } from "../../shared/rpc/principal";
import { escapeHtml, htmlPage } from "../ui/layout";

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
	/**
	 * A live web session: the page says who is signed in and posts `proof` (a MAC over the session
	 * and this handle) instead of asking for the password; "Use a different account" still can.
	 */
	session?: { email: string; proof: string };
	/** Upstream sign-in (worker/identity/oidc/flow.ts): shows "Sign in with <name>" beside the password form. */
	sso?: { name: string };
}

export { escapeHtml };

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
	const grantable = c.scope.filter((s) => describeScope(s) !== undefined);
	const other = c.scope.filter((s) => describeScope(s) === undefined);
	const checked = new Set(opts.checked ?? grantable);
	const name = escapeHtml(c.clientName);

	const identity = c.clientDomain
		? `<p>Verified domain: <strong>${escapeHtml(c.clientDomain)}</strong></p>`
		: `<p class="muted">The app chose this name itself; it has not been verified.</p>`;
	const loopback = c.redirectIsLoopback
		? `<p class="alert warn"><strong>Warning:</strong> the approval goes to a program on the computer you are using ` +
			`(<strong>${escapeHtml(c.redirectHost)}</strong>). Any program on that computer could receive the approval, ` +
			`whatever name it claims. Approve only if you just started this from an app you trust.</p>`
		: `<p>After you approve, you will be sent to <strong>${escapeHtml(c.redirectHost)}</strong>.</p>`;
	const boxes = grantable
		.map((s, i) => {
			const id = `scope-${i}`;
			const on = checked.has(s) ? " checked" : "";
			return `<li class="check"><input type="checkbox" id="${id}" name="scope" value="${escapeHtml(s)}"${on}> <label for="${id}">${escapeHtml(describeScope(s) ?? s)}</label></li>`;
		})
		.join("");
	const unoffered =
		other.length === 0
			? ""
			: `<p>The app also asked for permissions this server does not offer. They will not be granted:</p><ul>${other
					.map((s) => `<li><code>${escapeHtml(s)}</code></li>`)
					.join("")}</ul>`;
	const error = opts.error ? `<p class="alert error" role="alert">${escapeHtml(opts.error)}</p>` : "";
	// Honest about the order: choosing the provider approves the ticked permissions now, and the
	// app is connected only once the person has signed in there. `formnovalidate`: the email and
	// password fields are not needed for this button. It comes after "Sign in and approve" so that
	// Enter in the password field still submits the password form (HTML "implicit submission"
	// uses the form's first submit button).
	const sso = opts.sso
		? `<fieldset>
<legend>Sign in with ${escapeHtml(opts.sso.name)}</legend>
<p>Approve the permissions above and sign in at ${escapeHtml(opts.sso.name)}. ${name} is connected only after you have signed in there.</p>
<p><button class="btn secondary" type="submit" name="action" value="oidc" formnovalidate>Continue with ${escapeHtml(opts.sso.name)}</button></p>
</fieldset>`
		: "";
	// Signed in already (a live web session, or the first step of this page): the session stands
	// in for the password, for this handle only (the proof is a MAC over the session and handle).
	const signedIn = opts.session ?? (opts.workspaces ? { email: opts.workspaces.signedInAs } : undefined);
	const who = opts.session
		? `${hiddenField("proof", opts.session.proof)}${opts.workspaces ? "" : `<p>Signed in as <strong>${escapeHtml(opts.session.email)}</strong>.</p>`}
<details><summary>Use a different account</summary>${signInFields(opts.email, false)}</details>`
		: "";
	const choice = opts.workspaces ? workspaceChoice(opts.workspaces) : "";

	const body = `<div class="card">
<h1>Allow ${name} to use your account?</h1>
${identity}
${loopback}
${error}
<form method="post" action="${escapeHtml(opts.action ?? "/authorize")}">
${hiddenField("handle", opts.handle)}
${hiddenField("q", opts.query)}
<fieldset>
<legend>${name} is asking to</legend>
<ul class="plain">${boxes}</ul>
${unoffered}
</fieldset>
${signedIn ? `${who}${choice}` : signInFields(opts.email, true)}
<div class="actions"><button class="btn" type="submit" name="action" value="approve">${signedIn ? "Approve" : "Sign in and approve"}</button>
<button class="btn secondary" type="submit" name="action" value="deny" formnovalidate>Deny</button></div>
${signedIn ? "" : sso}
</form>
</div>`;
	return htmlPage({ title: `Allow ${c.clientName}?`, body, headers: opts.headers });
}

const hiddenField = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;

/** The email and password fields (`required` unless they are the optional "different account"). */
function signInFields(email: string | undefined, required: boolean): string {
	const req = required ? " required" : "";
	return `<fieldset>
<legend>Sign in</legend>
<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="username"${req} value="${escapeHtml(email ?? "")}">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password"${req}>
</fieldset>`;
}

/** The workspace choice shown to a signed-in account with several workspaces. */
function workspaceChoice(w: NonNullable<AuthorizePageOptions["workspaces"]>): string {
	const radios = w.choices
		.map(
			(c, i) =>
				`<li class="check"><input type="radio" id="ws-${i}" name="tenant" value="${escapeHtml(c.id)}"${i === 0 ? " checked" : ""} required> <label for="ws-${i}">${escapeHtml(c.name)} (${escapeHtml(c.role)})</label></li>`,
		)
		.join("");
	return `<fieldset>
<legend>Connect to which workspace?</legend>
<p>Signed in as <strong>${escapeHtml(w.signedInAs)}</strong>. The app will see only the workspace you choose.</p>
<ul class="plain">${radios}</ul>
</fieldset>`;
}

/**
 * A local error page. Use it whenever a redirect back to the client is not known to be safe:
 * without a validated redirect URI, the error MUST be shown here (RFC 6749 §4.1.2.1). Say what
 * happened in `title` and what to do in `message`.
 *
 * @example
 * ```ts
 * return renderErrorPage(400, "This sign-in link is not valid", "Go back to the app and start again.");
 * ```
 */
export function renderErrorPage(status: number, title: string, message: string): Response {
	const body = `<div class="card">\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n</div>`;
	return htmlPage({ status, title, body });
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
