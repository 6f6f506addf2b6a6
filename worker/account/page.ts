/**
 * @module worker/account/page
 * HTML of the account page (`/account`): the sign-in card, then per workspace a stack of
 * sections, each drawn by one small function of {@link AccountView}: connect a client, connected
 * apps (revoke with confirmation), API keys (owners), recent activity, and the person's own
 * account (password). Add a section by writing an {@link AccountSection} and listing it in
 * {@link ACCOUNT_SECTIONS}.
 *
 * Server rendered with the shared design system (`worker/ui/layout.ts`): no scripts, no external
 * assets, every interpolated string escaped, `form-action 'self'`, usable with a keyboard alone.
 * Confirmation without scripts: a `<details>` disclosure holds the form with the real button.
 */
import type { ApiKeyInfo } from "../../shared/rpc/kernel";
import { KEY_SCOPES } from "../../shared/rpc/principal";
import { describeScope } from "../oauth/consent-page";
import { escapeHtml as e, htmlPage } from "../ui/layout";
import { clientSetups } from "./connect";
import type { Flash } from "./flash";

/** A connected app as the page shows it. */
export interface AppRow {
	grantId: string;
	userId: string;
	userEmail: string;
	clientName: string;
	/** The domain SMCP verified for the client (a Client ID Metadata Document's host), if any. */
	clientDomain?: string;
	scopes: string[];
	createdAt: number;
}

/** One line of recent activity, with the app named in words. */
export interface ActivityRow {
	ts: number;
	/** "Claude (claude.ai)", "API key “CI”", "Account page"… */
	app: string;
	method: string;
	tool?: string;
	decision: string;
}

/** Everything the signed-in page shows. */
export interface AccountView {
	email: string;
	csrf: string;
	/** The MCP endpoint of this deployment. */
	mcpUrl: string;
	tenants: { id: string; name: string; role: string; status: string }[];
	tenant: { id: string; name: string; role: string };
	apps: AppRow[];
	keys: ApiKeyInfo[] | null;
	activity: ActivityRow[];
	/** The result of the last form, shown once (post/redirect/get). */
	flash?: Flash | null;
}

/** One section of the page: returns a `<section>` (use {@link section}) or "" to show nothing. */
export type AccountSection = (v: AccountView) => string;

const when = (ms: number | null) => (ms ? `${new Date(ms).toISOString().replace("T", " ").slice(0, 16)} UTC` : "never");
/** Permissions in words: "Read your memory graph…; Create, change and delete…". */
export const permissionsInWords = (scopes: readonly string[]) =>
	scopes.length ? scopes.map((s) => e(describeScope(s) ?? s)).join("; ") : "none";
const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${e(value)}">`;

/**
 * A card with a heading; `id` names the heading for `aria-labelledby` and in-page links.
 *
 * @example
 * ```ts
 * const secrets: AccountSection = (v) => section("secrets", "Secrets", `<p>…</p>`);
 * ```
 */
export function section(id: string, title: string, inner: string): string {
	return `<section class="card" aria-labelledby="${e(id)}"><h2 id="${e(id)}">${e(title)}</h2>\n${inner}\n</section>`;
}

/**
 * A revoke-style button behind a confirmation: "Revoke" opens a box that says what will happen,
 * and only its own button posts.
 */
export function confirmForm(o: {
	action: string;
	fields: Record<string, string>;
	label: string;
	question: string;
	confirm: string;
}): string {
	return `<details><summary class="btn danger small" aria-label="${e(o.label)}">${e(o.label.split(" ")[0] ?? "Revoke")}</summary>
<div class="confirm"><p>${e(o.question)}</p><form method="post" action="${e(o.action)}">${Object.entries(o.fields)
		.map(([k, v]) => hidden(k, v))
		.join("")}<button class="btn danger small" type="submit">${e(o.confirm)}</button></form></div></details>`;
}

/** How to connect a client: the MCP URL and a snippet per client. */
export const connectSection: AccountSection = (v) =>
	section(
		"connect",
		"Connect a client",
		`<p>MCP server URL:</p><pre>${e(v.mcpUrl)}</pre>
<p class="muted">Clients sign in here and ask for your approval; no key is needed. Older clients that speak only SSE use <code>${e(v.mcpUrl.replace(/\/mcp$/, "/sse"))}</code>.</p>
${clientSetups(v.mcpUrl)
	.map(
		(c) =>
			`<details id="setup-${c.id}"><summary>${e(c.name)}</summary><p class="muted">${e(c.where)}</p><pre>${e(c.snippet)}</pre></details>`,
	)
	.join("\n")}`,
	);

/** The apps (OAuth grants) that can use this workspace, each with revoke. */
export const appsSection: AccountSection = (v) =>
	section(
		"apps",
		"Connected apps",
		v.apps.length
			? `<ul class="list">${v.apps
					.map(
						(
							a,
						) => `<li><div class="grow"><h3>${e(a.clientName)}${a.clientDomain ? ` <span class="muted">(${e(a.clientDomain)})</span>` : ""}</h3>
<p class="muted">${e(a.userEmail)} · connected ${when(a.createdAt * 1000)}</p><p>May: ${permissionsInWords(a.scopes)}</p></div>
${confirmForm({
	action: "/account/grants/revoke",
	fields: { csrf: v.csrf, tenant: v.tenant.id, grant: a.grantId, user: a.userId },
	label: `Revoke ${a.clientName}`,
	question: `Disconnect ${a.clientName}? Its tokens stop working at once and its open sessions end; it must ask for approval again to reconnect.`,
	confirm: "Yes, revoke",
})}</li>`,
					)
					.join("")}</ul>`
			: `<p>No apps are connected to this workspace.</p>`,
	);

/** API keys: list, revoke, create (owners only). */
export const keysSection: AccountSection = (v) => {
	if (v.tenant.role !== "owner") return section("keys", "API keys", `<p>Only owners of this workspace manage API keys.</p>`);
	const fresh = v.flash?.newKey
		? `<div class="alert ok" role="status"><p>New key <strong>${e(v.flash.newKey.name)}</strong>. Copy it now: it will not be shown again.</p><label for="newkey">API key</label><input id="newkey" readonly value="${e(v.flash.newKey.key)}"></div>`
		: "";
	const list = v.keys?.length
		? `<ul class="list">${v.keys
				.map(
					(k) => `<li><div class="grow"><h3>${e(k.name)} <code>${e(k.prefix)}…</code></h3>
<p>May: ${permissionsInWords(k.scopes)}</p><p class="muted">Expires ${when(k.expiresAt)} · last used ${when(k.lastUsedAt)}</p></div>${
						k.revokedAt
							? `<span class="muted">Revoked</span>`
							: confirmForm({
									action: "/account/keys/revoke",
									fields: { csrf: v.csrf, tenant: v.tenant.id, key: k.keyId },
									label: `Revoke key ${k.name}`,
									question: `Revoke the key ${k.name}? Every program using it is refused from its next request.`,
									confirm: "Yes, revoke",
								})
					}</li>`,
				)
				.join("")}</ul>`
		: `<p>No API keys yet.</p>`;
	const create = `<form method="post" action="/account/keys"><fieldset><legend>Create an API key</legend>
${hidden("csrf", v.csrf)}${hidden("tenant", v.tenant.id)}
<label for="key-name">Name</label><input id="key-name" name="name" required maxlength="100" autocomplete="off">
${KEY_SCOPES.map((s) => `<div class="check"><input type="checkbox" id="key-${s}" name="scope" value="${s}"${s === "mcp:read" ? " checked" : ""}> <label for="key-${s}">${e(describeScope(s) ?? "Deploy apps and set secrets from CI (apps:deploy)")}</label></div>`).join("")}
<label for="key-days">Expires after (days)</label><input id="key-days" name="days" type="number" min="1" max="365" value="30" required>
<div class="actions"><button class="btn" type="submit">Create key</button></div></fieldset></form>`;
	return section("keys", "API keys", `${fresh}${list}${create}`);
};

/** What apps did recently in this workspace (members see their own). */
export const activitySection: AccountSection = (v) =>
	section(
		"activity",
		"Recent activity",
		v.activity.length
			? `<ul class="list">${v.activity
					.map(
						(r) =>
							`<li><div class="grow"><strong>${e(r.app)}</strong> · ${e(r.method)}${r.tool ? ` <code>${e(r.tool)}</code>` : ""}</div><span class="muted">${e(r.decision)} · ${when(r.ts)}</span></li>`,
					)
					.join("")}</ul>`
			: `<p>No activity yet.</p>`,
	);

/** The person's own account: password change (local accounts). */
export const yourAccountSection: AccountSection = (v) =>
	section(
		"you",
		"Your account",
		`<p>Signed in as <strong>${e(v.email)}</strong>. Changing the password signs you out everywhere else.</p>
<details><summary>Change password</summary><form method="post" action="/account/password">${hidden("csrf", v.csrf)}
<input type="email" name="email" value="${e(v.email)}" autocomplete="username" hidden>
<label for="pw-current">Current password</label><input type="password" id="pw-current" name="current" autocomplete="current-password" required>
<label for="pw-new">New password (at least 10 characters)</label><input type="password" id="pw-new" name="password" autocomplete="new-password" minlength="10" required>
<div class="actions"><button class="btn" type="submit">Change password</button></div>
<p class="muted">Signed in with single sign-on only? Your account has no password here; ask the operator to set one.</p></form></details>`,
	);

/** The sections of the page, top to bottom. */
export const ACCOUNT_SECTIONS: AccountSection[] = [connectSection, appsSection, keysSection, activitySection, yourAccountSection];

/** The sign-in card of the page, with single sign-on when it is configured. */
export function renderSignIn(o: { error?: string; notice?: string; sso?: { name: string } } = {}): Response {
	const sso = o.sso
		? `<form method="post" action="/account/sso"><div class="actions"><button class="btn secondary" type="submit">Continue with ${e(o.sso.name)}</button></div></form><p class="muted">or with your email and password:</p>`
		: "";
	const body = `<div class="card">
<h1>Sign in</h1>
<p class="muted">Manage the apps and keys that can act in your name.</p>
${o.error ? `<p class="alert error" role="alert">${e(o.error)}</p>` : ""}${o.notice ? `<p class="alert ok" role="status">${e(o.notice)}</p>` : ""}
${sso}
<form method="post" action="/account/sign-in">
<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="username" required>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions"><button class="btn" type="submit">Sign in</button></div>
</form>
</div>`;
	// With single sign-on, no `form-action 'self'`: Chrome checks form-action against the redirect
	// that answers the POST, which goes to the provider (w3c/webappsec-csp#8).
	return htmlPage({ title: "Sign in", body, formActionSelf: !o.sso });
}

/** The signed-in page; `sections` defaults to {@link ACCOUNT_SECTIONS}. */
export function renderAccount(v: AccountView, sections: readonly AccountSection[] = ACCOUNT_SECTIONS): Response {
	const t = v.tenant;
	const switcher =
		v.tenants.length > 1
			? `<nav aria-label="Workspaces"><ul class="tabs">${v.tenants
					.map(
						(x) =>
							`<li>${x.id === t.id ? `<strong aria-current="page">${e(x.name)}</strong>` : `<a href="/account?tenant=${e(x.id)}">${e(x.name)}</a>`} <span class="sr">(${e(x.role)})</span>${x.status === "suspended" ? " (suspended)" : ""}</li>`,
					)
					.join("")}</ul></nav>`
			: "";
	const f = v.flash;
	const headerRight = `<div class="who"><span>${e(v.email)}</span><form method="post" action="/account/sign-out">${hidden("csrf", v.csrf)}<button class="btn secondary small" type="submit">Sign out</button></form></div>`;
	const body = `<h1>${e(t.name)} <span class="muted">(${e(t.role)})</span></h1>
${f?.notice ? `<p class="alert ok" role="status">${e(f.notice)}</p>` : ""}${f?.error ? `<p class="alert error" role="alert">${e(f.error)}</p>` : ""}
${switcher}
${sections.map((s) => s(v)).join("\n")}`;
	return htmlPage({ title: t.name, body, headerRight, width: "wide", formActionSelf: true });
}
