/**
 * @module worker/account/apps-section
 * The owners' part of `/account` for tenant apps: each app with its versions (hash, when, who), its
 * declared capabilities (tools with scopes, egress hosts, secret names), promote / roll back /
 * remove, its recent log; and the workspace's secrets (set, rotate, delete; write-only, listed by
 * name and last change). Server-rendered like the rest of the page (no scripts, everything
 * escaped). Destructive actions sit behind the page's confirmation disclosure (`confirmForm`),
 * whose form carries `confirm=yes`; every action is a POST with the page's CSRF token, answered
 * with a redirect back to the page and a one-time notice (POST → redirect → GET, routes.ts).
 *
 *   POST /account/apps/activate     csrf, tenant, app, hash, confirm=yes
 *   POST /account/apps/remove       csrf, tenant, app, confirm=yes
 *   POST /account/secrets           csrf, tenant, name, value
 *   POST /account/secrets/delete    csrf, tenant, name, confirm=yes
 *
 * Hooks in routes.ts: {@link APPS_ACTIONS} joins `WORKSPACE_ACTIONS`, and for owners the page is
 * rendered with {@link withAppSections} over {@link loadAppsView}.
 */
import type { Env } from "../../shared/env";
import { tenantStub } from "../../shared/rpc/stubs";
import type { AppRefusal, AppSummary, AppVersionInfo, SecretInfo } from "../../shared/rpc/apps-deploy";
import type { AppLogLine } from "../../shared/rpc/apps";
import type { AuthSubject } from "../../shared/rpc/kernel";
import type { Role } from "../identity/tenants";
import { sealSecret } from "../apps/secrets";
import { escapeHtml as e } from "../ui/layout";
import type { Flash } from "./flash";
import { type AccountSection, activitySection, confirmForm, section } from "./page";

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
 * const html = renderAppsSection(await loadAppsView(env, { tenantId: tenant.id, userId, clientId: "account-page" }), csrf, tenant.id);
 * ```
 */
export async function loadAppsView(env: Env, viewer: AuthSubject): Promise<AppsView> {
	const kernel = tenantStub(env, viewer);
	const [apps, secrets] = await Promise.all([kernel.listApps(), kernel.listSecrets()]);
	const full = await Promise.all(
		(apps as AppSummary[]).map(async (a) => {
			const [versions, log] = await Promise.all([kernel.appVersions(a.app), kernel.readAppLogs(a.app, LOG_LINES)]);
			return { ...a, versionList: versions.ok ? (versions.value as AppVersionInfo[]) : [], log: log as AppLogLine[] };
		}),
	);
	return { apps: full, secrets: secrets as SecretInfo[] };
}

type Done = { to: string; flash: Flash } | Response;
type Workspace = { tenantId: string; role: Role };
type Action = (c: { env: Env; session: { userId: string }; form: URLSearchParams }, w: Workspace) => Promise<Done>;

const forbidden = () =>
	new Response("Only owners of this workspace manage apps and secrets.", {
		status: 403,
		headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
	});

/** An owner-only action: the actor, and the redirect back to the section with a one-time notice. */
function ownerAction(
	anchor: string,
	run: (kernel: ReturnType<Env["TENANTS"]["get"]>, actor: AuthSubject, form: URLSearchParams, env: Env) => Promise<Flash>,
): Action {
	return async (c, w) => {
		if (w.role !== "owner") return forbidden();
		const actor: AuthSubject = { tenantId: w.tenantId, userId: c.session.userId, clientId: "account-page" };
		const kernel = tenantStub(c.env, actor);
		return { to: `/account?tenant=${encodeURIComponent(w.tenantId)}#${anchor}`, flash: await run(kernel, actor, c.form, c.env) };
	};
}

const refused = (r: { ok: false; error: unknown }) => ({ error: `Not done: ${(r.error as AppRefusal).message}.` });
const unconfirmed = { error: "Not confirmed: nothing was changed." };

/** The account page's app and secret actions (owners only), for routes.ts `WORKSPACE_ACTIONS`. */
export const APPS_ACTIONS: Record<string, Action> = {
	"/account/apps/activate": ownerAction("hosted", async (kernel, actor, form) => {
		if (form.get("confirm") !== "yes") return unconfirmed;
		const r = await kernel.activateApp(actor, form.get("app") ?? "", form.get("hash") ?? "");
		return r.ok ? { notice: `${r.value.app} now runs version ${r.value.version}.` } : refused(r);
	}),
	"/account/apps/remove": ownerAction("hosted", async (kernel, actor, form) => {
		if (form.get("confirm") !== "yes") return unconfirmed;
		const r = await kernel.removeApp(actor, form.get("app") ?? "");
		return r.ok ? { notice: `Removed ${r.value.app} with its versions, storage and log.` } : refused(r);
	}),
	"/account/secrets": ownerAction("secrets", async (kernel, actor, form, env) => {
		const name = form.get("name") ?? "";
		const sealed = await sealSecret(env, actor.tenantId, name, form.get("value") ?? "");
		if (!sealed.ok) return { error: `Not saved: ${sealed.message}.` };
		const r = await kernel.setSecret(actor, name, sealed.sealed);
		return r.ok ? { notice: `Saved ${name}. Its value is encrypted and will not be shown again.` } : refused(r);
	}),
	"/account/secrets/delete": ownerAction("secrets", async (kernel, actor, form) => {
		if (form.get("confirm") !== "yes") return unconfirmed;
		const r = await kernel.deleteSecret(actor, form.get("name") ?? "");
		return r.ok ? { notice: `Deleted ${r.value.name}.` } : refused(r);
	}),
};

const when = (ms: number) => `${new Date(ms).toISOString().replace("T", " ").slice(0, 16)} UTC`;
const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${e(value)}">`;
const list = (xs: string[]) => (xs.length ? xs.map((x) => `<code>${e(x)}</code>`).join(", ") : "none");

/** Hosted apps: versions, capabilities, promote / roll back / remove, recent log (owners only). */
export const hostedAppsSection =
	(h: AppsView): AccountSection =>
	(v) => {
		const fields = (more: Record<string, string>) => ({ csrf: v.csrf, tenant: v.tenant.id, confirm: "yes", ...more });
		const apps = h.apps.length
			? h.apps
					.map((a, i) => {
						const activeAt = a.versionList.findIndex((x) => x.active);
						const versions = a.versionList
							.map((ver, j) => {
								const older = j > activeAt;
								const action = ver.active
									? `<span class="muted">Active</span>`
									: confirmForm({
											action: "/account/apps/activate",
											fields: fields({ app: a.app, hash: ver.hash }),
											label: `${older ? "Rollback" : "Promote"} ${a.app} to ${ver.version}`,
											question: `Switch ${a.app} to version ${ver.version} (${ver.hash.slice(0, 12)})? Calls use it from now on.`,
											confirm: older ? "Yes, roll back" : "Yes, promote",
										});
								return `<li><div class="grow"><h4>${e(ver.version)} <code title="${e(ver.hash)}">${e(ver.hash.slice(0, 12))}</code></h4><p class="muted">Deployed ${when(ver.deployedAt)} by ${e(ver.deployedBy)}</p></div>${action}</li>`;
							})
							.join("");
						const log = a.log.length
							? `<details><summary>Recent log (${a.log.length} lines)</summary><pre>${a.log.map((l) => `${when(l.ts)} ${e(l.level)} ${e(l.message)}`).join("\n")}</pre></details>`
							: `<p class="muted">No log lines yet.</p>`;
						const caps = a.capabilities;
						return `<article aria-labelledby="app-${i}"><h3 id="app-${i}">${e(a.app)} <span class="muted">${e(a.version)}</span></h3>
${a.description ? `<p>${e(a.description)}</p>` : ""}
<dl><dt>Tools</dt><dd>${list(caps.tools.map((t) => `${a.app}__${t.name} (${t.scope})`))}</dd><dt>May reach</dt><dd>${list(caps.egress)}</dd><dt>Secrets it uses</dt><dd>${list(caps.secrets)}</dd></dl>
<ul class="list" aria-label="Versions of ${e(a.app)}">${versions}</ul>
${log}
${confirmForm({
	action: "/account/apps/remove",
	fields: fields({ app: a.app }),
	label: `Remove ${a.app}`,
	question: `Remove ${a.app}? Every version, its storage and its log are deleted, and its tools disappear at once.`,
	confirm: "Yes, remove",
})}
</article>`;
					})
					.join("\n")
			: `<p>No apps are deployed in this workspace. Deploy one with <code>smcp apps deploy ./dir</code>.</p>`;
		return section("hosted", "Hosted apps", apps);
	};

/** Secrets: set, rotate, delete; write-only, listed by name and last change (owners only). */
export const secretsSection =
	(h: AppsView): AccountSection =>
	(v) => {
		const base = hidden("csrf", v.csrf) + hidden("tenant", v.tenant.id);
		const rows = h.secrets.length
			? `<ul class="list">${h.secrets
					.map(
						(s, i) => `<li><div class="grow"><h3><code>${e(s.name)}</code></h3><p class="muted">Last changed ${when(s.updatedAt)}</p>
<details><summary>Rotate</summary><form method="post" action="/account/secrets">${base}${hidden("name", s.name)}<label for="rot-${i}">New value for ${e(s.name)}</label><input type="password" id="rot-${i}" name="value" autocomplete="off" required><div class="actions"><button class="btn" type="submit">Save new value</button></div></form></details></div>${confirmForm(
							{
								action: "/account/secrets/delete",
								fields: { csrf: v.csrf, tenant: v.tenant.id, name: s.name, confirm: "yes" },
								label: `Delete ${s.name}`,
								question: `Delete ${s.name}? Apps that use it fail until it is set again.`,
								confirm: "Yes, delete",
							},
						)}</li>`,
					)
					.join("")}</ul>`
			: "<p>No secrets yet.</p>";
		return section(
			"secrets",
			"Secrets",
			`<p class="muted">Values are encrypted and never shown again; apps receive the ones their manifest names.</p>${rows}
<form method="post" action="/account/secrets"><fieldset><legend>Set a secret</legend>${base}
<label for="secret-name">Name</label><input id="secret-name" name="name" required pattern="[A-Z][A-Z0-9_]{0,63}" maxlength="64" autocomplete="off">
<label for="secret-value">Value</label><input type="password" id="secret-value" name="value" autocomplete="off" required>
<div class="actions"><button class="btn" type="submit">Save secret</button></div></fieldset></form>`,
		);
	};

/**
 * The page's sections with the hosted-apps and secrets sections before "Recent activity"; `hosted`
 * is null for members, who see neither.
 *
 * @example
 * ```ts
 * renderAccount(view, withAppSections(ACCOUNT_SECTIONS, role === "owner" ? await loadAppsView(env, viewer) : null));
 * ```
 */
export function withAppSections(sections: readonly AccountSection[], hosted: AppsView | null): AccountSection[] {
	if (!hosted) return [...sections];
	const at = sections.indexOf(activitySection);
	const i = at < 0 ? sections.length : at;
	return [...sections.slice(0, i), hostedAppsSection(hosted), secretsSection(hosted), ...sections.slice(i)];
}
