/**
 * @module worker/account/page
 * HTML of the connected-apps page (`/account`): sign-in, then per workspace the connected apps
 * (grants) with revoke, API keys with create and revoke (owners), and recent activity. Server
 * rendered, no scripts, no external assets, every interpolated string escaped, strict CSP with
 * `form-action 'self'`, forms usable with a keyboard alone.
 */
import type { ApiKeyInfo } from "../../shared/rpc/kernel";
import type { AuditRow } from "../../shared/audit/store";
import { KEY_SCOPES } from "../../shared/rpc/principal";
import { describeScope, escapeHtml as e } from "../oauth/consent-page";

/** A connected app as the page shows it. */
export interface AppRow {
	grantId: string;
	userId: string;
	userEmail: string;
	clientName: string;
	scopes: string[];
	createdAt: number;
}

/** Everything the signed-in page shows. */
export interface AccountView {
	email: string;
	csrf: string;
	tenants: { id: string; name: string; role: string; status: string }[];
	tenant: { id: string; name: string; role: string };
	apps: AppRow[];
	keys: ApiKeyInfo[] | null;
	activity: AuditRow[];
	/** Owners: the hosted apps and secrets sections, already rendered (apps-section.ts). */
	appsSection?: string;
	/** A key just created: shown once, never again. */
	newKey?: { key: string; name: string };
	notice?: string;
	error?: string;
}

const when = (ms: number | null) => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "never");
const scopesText = (s: readonly string[]) => s.map((x) => e(describeScope(x) ? x : x)).join(", ");
const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${e(value)}">`;

/** The sign-in form of the page. */
export function renderSignIn(error?: string): Response {
	const body = `<main>
<h1>Sign in to SMCP</h1>
<p>Manage the apps and keys that can act in your name.</p>
${error ? `<p class="error" role="alert">${e(error)}</p>` : ""}
<form method="post" action="/account/sign-in">
<p><label for="email">Email</label><br><input type="email" id="email" name="email" autocomplete="username" required></p>
<p><label for="password">Password</label><br><input type="password" id="password" name="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
</main>`;
	return page(200, "Sign in", body);
}

/** The signed-in page. */
export function renderAccount(v: AccountView): Response {
	const t = v.tenant;
	const owner = t.role === "owner";
	const switcher =
		v.tenants.length > 1
			? `<nav aria-label="Workspaces"><h2>Workspaces</h2><ul>${v.tenants
					.map(
						(x) =>
							`<li>${x.id === t.id ? `<strong aria-current="page">${e(x.name)}</strong>` : `<a href="/account?tenant=${e(x.id)}">${e(x.name)}</a>`} (${e(x.role)}${x.status === "suspended" ? ", suspended" : ""})</li>`,
					)
					.join("")}</ul></nav>`
			: "";
	const apps = v.apps.length
		? `<table><caption>Apps that can use this workspace</caption><thead><tr><th scope="col">App</th><th scope="col">Person</th><th scope="col">Permissions</th><th scope="col">Connected</th><th scope="col"><span class="sr">Action</span></th></tr></thead><tbody>${v.apps
				.map(
					(
						a,
					) => `<tr><td>${e(a.clientName)}</td><td>${e(a.userEmail)}</td><td>${scopesText(a.scopes)}</td><td>${when(a.createdAt * 1000)}</td><td>
<form method="post" action="/account/grants/revoke">${hidden("csrf", v.csrf)}${hidden("tenant", t.id)}${hidden("grant", a.grantId)}${hidden("user", a.userId)}
<button type="submit" aria-label="Revoke ${e(a.clientName)}">Revoke</button></form></td></tr>`,
				)
				.join("")}</tbody></table>`
		: `<p>No apps are connected to this workspace.</p>`;
	const newKey = v.newKey
		? `<div class="notice" role="status"><p>New key <strong>${e(v.newKey.name)}</strong>. Copy it now: it will not be shown again.</p><p><label for="newkey">API key</label><br><input id="newkey" readonly value="${e(v.newKey.key)}" size="70"></p></div>`
		: "";
	const keys = !owner
		? `<p>Only owners of this workspace manage API keys.</p>`
		: `${newKey}${
				v.keys?.length
					? `<table><caption>API keys</caption><thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Permissions</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span class="sr">Action</span></th></tr></thead><tbody>${v.keys
							.map(
								(k) =>
									`<tr><td>${e(k.name)}</td><td><code>${e(k.prefix)}</code></td><td>${scopesText(k.scopes)}</td><td>${when(k.expiresAt)}</td><td>${when(k.lastUsedAt)}</td><td>${
										k.revokedAt
											? "revoked"
											: `<form method="post" action="/account/keys/revoke">${hidden("csrf", v.csrf)}${hidden("tenant", t.id)}${hidden("key", k.keyId)}<button type="submit" aria-label="Revoke key ${e(k.name)}">Revoke</button></form>`
									}</td></tr>`,
							)
							.join("")}</tbody></table>`
					: `<p>No API keys yet.</p>`
			}
<form method="post" action="/account/keys"><fieldset><legend>Create an API key</legend>
${hidden("csrf", v.csrf)}${hidden("tenant", t.id)}
<p><label for="key-name">Name</label><br><input id="key-name" name="name" required maxlength="100"></p>
${KEY_SCOPES.map((s) => `<p><input type="checkbox" id="key-${s}" name="scope" value="${s}"${s === "mcp:read" ? " checked" : ""}> <label for="key-${s}">${e(describeScope(s) ?? "Deploy apps and set secrets from CI")} (<code>${s}</code>)</label></p>`).join("")}
<p><label for="key-days">Expires after (days)</label><br><input id="key-days" name="days" type="number" min="1" max="365" value="30" required></p>
<p><button type="submit">Create key</button></p></fieldset></form>`;
	const activity = v.activity.length
		? `<table><caption>Recent activity</caption><thead><tr><th scope="col">Time</th><th scope="col">Client</th><th scope="col">Request</th><th scope="col">Decision</th></tr></thead><tbody>${v.activity
				.map(
					(r) =>
						`<tr><td>${when(r.ts)}</td><td><code>${e(r.client)}</code></td><td>${e(r.method)}${r.tool ? ` <code>${e(r.tool)}</code>` : ""}</td><td>${e(r.decision)}</td></tr>`,
				)
				.join("")}</tbody></table>`
		: `<p>No activity yet.</p>`;
	const body = `<header><p>Signed in as <strong>${e(v.email)}</strong></p>
<form method="post" action="/account/sign-out">${hidden("csrf", v.csrf)}<button type="submit">Sign out</button></form></header>
<main><h1>${e(t.name)}</h1>
${v.notice ? `<p class="notice" role="status">${e(v.notice)}</p>` : ""}${v.error ? `<p class="error" role="alert">${e(v.error)}</p>` : ""}
${switcher}
<section aria-labelledby="apps"><h2 id="apps">Connected apps</h2>${apps}</section>
<section aria-labelledby="keys"><h2 id="keys">API keys</h2>${keys}</section>
${v.appsSection ?? ""}
<section aria-labelledby="activity"><h2 id="activity">Recent activity</h2>${activity}</section>
</main>`;
	return page(200, `${t.name} — SMCP`, body);
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600}.error{color:#a00}.notice{background:#eef6ee;padding:.5rem}
button{font:inherit;padding:.3rem .8rem}button:focus,input:focus,a:focus{outline:3px solid #1a5fb4;outline-offset:2px}
.sr{position:absolute;left:-9999px}header{display:flex;gap:1rem;align-items:center;justify-content:space-between}`;

function page(status: number, title: string, body: string, headers?: Headers): Response {
	const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
	const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${e(title)}</title><style nonce="${nonce}">${STYLE}</style></head><body>${body}</body></html>`;
	const out = new Headers(headers);
	out.set("Content-Type", "text/html; charset=utf-8");
	out.set(
		"Content-Security-Policy",
		`default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
	);
	out.set("X-Frame-Options", "DENY");
	// same-origin: under no-referrer the page's own form POSTs carry `Origin: null`.
	out.set("Referrer-Policy", "same-origin");
	out.set("X-Content-Type-Options", "nosniff");
	out.set("Cache-Control", "no-store");
	return new Response(html, { status, headers: out });
}
