/**
 * @module worker/account/apps-section
 * The owners' part of `/account` for tenant apps: each app with its versions (hash, when, who), its
 * declared capabilities (tools with scopes, egress hosts, secret names), promote / roll back /
 * remove, its recent log; and the workspace's secrets (set, rotate, delete; write-only, listed by
 * name and last change). Server-rendered like the rest of the page (no scripts, everything
 * escaped); each action is a POST with the page's CSRF token and an explicit confirmation
 * checkbox, answered with a redirect back to the page (POST → redirect → GET).
 *
 *   POST /account/apps/activate     csrf, tenant, app, hash, confirm=yes
 *   POST /account/apps/remove       csrf, tenant, app, confirm=yes
 *   POST /account/secrets           csrf, tenant, name, value
 *   POST /account/secrets/delete    csrf, tenant, name, confirm=yes
 */
import type { Env } from "../../shared/env";
import type { AppRefusal, AppSummary, AppVersionInfo, SecretInfo } from "../../shared/rpc/apps-deploy";
import type { AppLogLine } from "../../shared/rpc/apps";
import type { AuthSubject } from "../../shared/rpc/kernel";
import { sealSecret } from "../apps/secrets";
import { escapeHtml as e } from "../oauth/consent-page";

/** The paths this section answers (all POST, owners only). */
export const APPS_FORM_PATHS: ReadonlySet<string> = new Set([
	"/account/apps/activate",
	"/account/apps/remove",
	"/account/secrets",
	"/account/secrets/delete",
]);

/** What the page shows of the workspace's apps and secrets. */
export interface AppsView {
	apps: (AppSummary & { versionList: AppVersionInfo[]; log: AppLogLine[] })[];
	secrets: SecretInfo[];
}

/** Lines of each app's log shown on the page. */
const LOG_LINES = 20;

/**
 * Reads what the section shows (owners only: call it for them alone).
 *
 * @example
 * ```ts
 * const html = renderAppsSection(await loadAppsView(env, tenant.id), csrf, tenant.id);
 * ```
 */
export async function loadAppsView(env: Env, tenantId: string): Promise<AppsView> {
	const kernel = env.TENANTS.get(env.TENANTS.idFromName(tenantId));
	const [apps, secrets] = await Promise.all([kernel.listApps(), kernel.listSecrets()]);
	const full = await Promise.all(
		(apps as AppSummary[]).map(async (a) => {
			const [versions, log] = await Promise.all([kernel.appVersions(a.app), kernel.readAppLogs(a.app, LOG_LINES)]);
			return { ...a, versionList: versions.ok ? (versions.value as AppVersionInfo[]) : [], log: log as AppLogLine[] };
		}),
	);
	return { apps: full, secrets: secrets as SecretInfo[] };
}

/**
 * Handles one of {@link APPS_FORM_PATHS} for an owner. Returns the redirect back to the page on
 * success, or the error to show on the page.
 */
export async function handleAppsForm(
	path: string,
	form: URLSearchParams,
	env: Env,
	actor: AuthSubject,
	back: string,
): Promise<Response | { error: string }> {
	const kernel = env.TENANTS.get(env.TENANTS.idFromName(actor.tenantId));
	const confirmed = form.get("confirm") === "yes";
	const done = (r: { ok: true } | { ok: false; error: unknown }) =>
		r.ok ? see(back) : { error: `Not done: ${(r.error as AppRefusal).message}.` };
	if (path === "/account/apps/activate") {
		if (!confirmed) return { error: "Tick the confirmation box to switch versions. Nothing was changed." };
		return done(await kernel.activateApp(actor, form.get("app") ?? "", form.get("hash") ?? ""));
	}
	if (path === "/account/apps/remove") {
		if (!confirmed) return { error: "Tick the confirmation box to remove the app. Nothing was changed." };
		return done(await kernel.removeApp(actor, form.get("app") ?? ""));
	}
	if (path === "/account/secrets") {
		const sealed = await sealSecret(env, actor.tenantId, form.get("name") ?? "", form.get("value") ?? "");
		if (!sealed.ok) return { error: `Not saved: ${sealed.message}.` };
		return done(await kernel.setSecret(actor, form.get("name") ?? "", sealed.sealed));
	}
	if (path === "/account/secrets/delete") {
		if (!confirmed) return { error: "Tick the confirmation box to delete the secret. Nothing was changed." };
		return done(await kernel.deleteSecret(actor, form.get("name") ?? ""));
	}
	return { error: "Unknown action." };
}

const see = (location: string) => new Response(null, { status: 303, headers: { Location: location, "Cache-Control": "no-store" } });
const when = (ms: number) => `${new Date(ms).toISOString().replace("T", " ").slice(0, 16)} UTC`;
const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${e(value)}">`;
const list = (xs: string[]) => (xs.length ? xs.map((x) => `<code>${e(x)}</code>`).join(", ") : "none");

/** A form with one button and a required confirmation checkbox. */
function confirmForm(action: string, fields: string, id: string, label: string, button: string): string {
	return `<form method="post" action="${action}">${fields}<input type="checkbox" id="${id}" name="confirm" value="yes" required> <label for="${id}">${e(label)}</label> <button type="submit">${e(button)}</button></form>`;
}

/** The section's HTML (two `<section>`s): apps, then secrets. */
export function renderAppsSection(v: AppsView, csrf: string, tenantId: string): string {
	const base = hidden("csrf", csrf) + hidden("tenant", tenantId);
	const apps = v.apps.length
		? v.apps
				.map((a, i) => {
					const caps = a.capabilities;
					const versions = a.versionList
						.map((ver, j) => {
							const older = a.versionList.findIndex((x) => x.active) < j;
							const action = ver.active
								? "active"
								: confirmForm(
										"/account/apps/activate",
										base + hidden("app", a.app) + hidden("hash", ver.hash),
										`act-${i}-${j}`,
										`Confirm ${older ? "rollback" : "promotion"} to ${ver.version}`,
										older ? "Roll back" : "Promote",
									);
							return `<tr><td><code title="${e(ver.hash)}">${e(ver.hash.slice(0, 12))}</code></td><td>${e(ver.version)}</td><td>${when(ver.deployedAt)}</td><td>${e(ver.deployedBy)}</td><td>${list(ver.capabilities.tools.map((t) => `${t.name} (${t.scope})`))}</td><td>${action}</td></tr>`;
						})
						.join("");
					const log = a.log.length
						? `<details><summary>Recent log (${a.log.length} lines)</summary><pre>${a.log.map((l) => `${when(l.ts)} ${e(l.level)} ${e(l.message)}`).join("\n")}</pre></details>`
						: "<p>No log lines yet.</p>";
					return `<article aria-labelledby="app-${i}"><h3 id="app-${i}">${e(a.app)} <small>${e(a.version)}</small></h3>
${a.description ? `<p>${e(a.description)}</p>` : ""}
<dl><dt>Tools</dt><dd>${list(caps.tools.map((t) => `${a.app}__${t.name} (${t.scope})`))}</dd><dt>May reach</dt><dd>${list(caps.egress)}</dd><dt>Secrets it uses</dt><dd>${list(caps.secrets)}</dd></dl>
<table><caption>Versions of ${e(a.app)}</caption><thead><tr><th scope="col">Hash</th><th scope="col">Version</th><th scope="col">Deployed</th><th scope="col">By</th><th scope="col">Tools</th><th scope="col"><span class="sr">Action</span></th></tr></thead><tbody>${versions}</tbody></table>
${log}
${confirmForm("/account/apps/remove", base + hidden("app", a.app), `rm-${i}`, `Confirm removal of ${a.app}, its versions, storage and log`, "Remove app")}
</article>`;
				})
				.join("\n")
		: "<p>No apps are deployed in this workspace. Deploy one with <code>smcp apps deploy ./dir</code>.</p>";
	const secrets = v.secrets.length
		? `<table><caption>Secrets (values are never shown)</caption><thead><tr><th scope="col">Name</th><th scope="col">Last changed</th><th scope="col">Rotate</th><th scope="col"><span class="sr">Delete</span></th></tr></thead><tbody>${v.secrets
				.map(
					(s, i) =>
						`<tr><td><code>${e(s.name)}</code></td><td>${when(s.updatedAt)}</td><td><form method="post" action="/account/secrets">${base}${hidden("name", s.name)}<label for="rot-${i}" class="sr">New value for ${e(s.name)}</label><input type="password" id="rot-${i}" name="value" autocomplete="off" required> <button type="submit">Rotate</button></form></td><td>${confirmForm("/account/secrets/delete", base + hidden("name", s.name), `del-${i}`, `Confirm deletion of ${s.name}`, "Delete")}</td></tr>`,
				)
				.join("")}</tbody></table>`
		: "<p>No secrets yet.</p>";
	return `<section aria-labelledby="hosted"><h2 id="hosted">Hosted apps</h2>${apps}</section>
<section aria-labelledby="secrets"><h2 id="secrets">Secrets</h2>${secrets}
<form method="post" action="/account/secrets"><fieldset><legend>Set a secret</legend>${base}
<p><label for="secret-name">Name</label><br><input id="secret-name" name="name" required pattern="[A-Z][A-Z0-9_]{0,63}" maxlength="64"></p>
<p><label for="secret-value">Value (write-only: it is encrypted and never shown again)</label><br><input type="password" id="secret-value" name="value" autocomplete="off" required></p>
<p><button type="submit">Save secret</button></p></fieldset></form></section>`;
}
