/**
 * @module worker/account/routes
 * worker/account/ (entry: this module) owns the signed-in person's /account pages and their API
 * key service. It may import shared/, worker/identity/, worker/oauth/, worker/apps/, worker/ui/ and npm
 * packages.
 *
 * The account page: a tenant manages, on one page, every client and key that can act in their
 * name and cuts any of them off at once.
 *
 *   GET  /account[?tenant=]        sign-in card, or the page for one workspace
 *   POST /account/sign-in          email + password → session cookie
 *   POST /account/sso              → the OpenID provider (worker/identity/oidc/account-sign-in.ts)
 *   POST /account/sign-out         csrf                        (ends every session of the account)
 *   POST /account/password         csrf, current, password     (ends every other session)
 *   POST /account/grants/revoke    csrf, tenant, grant, user   (yourself; owners: any member)
 *   POST /account/keys             csrf, tenant, name, scope…, days   (owners)
 *   POST /account/keys/revoke      csrf, tenant, key           (owners)
 *
 * Post/redirect/get: every POST answers `303 See Other` and leaves its result in a one-time,
 * encrypted flash cookie (worker/account/flash.ts), so a reload neither repeats the action nor
 * shows its result (a new key's secret) again. Every POST but sign-in needs the session cookie
 * and its CSRF token, and a same-origin `Origin` when the browser sends one. Revoking a grant
 * deletes its tokens, so live MCP sessions get 401 on their next request; revoking a key is
 * refused by the kernel at once.
 */
import { tenantStub } from "../../shared/rpc/stubs";
import { resolveConfig } from "../../shared/config";
import type { Env } from "../../shared/env";
import { log } from "../../shared/log";
import { ensureDevAccount, MIN_PASSWORD_LENGTH } from "../identity/accounts";
import { oidcSignInOption } from "../identity/oidc/flow";
import { startAccountSso } from "../identity/oidc/account-sign-in";
import { type Role, TenantDirectory } from "../identity/tenants";
import { checkCsrf, clearSession, csrfToken, endAllSessions, issueSession, readSession, type WebSession } from "../identity/web-session";
import { auditAuthEvent } from "../oauth/auth-events";
import { renderErrorPage } from "../oauth/consent-page";
import { clearFlash, type Flash, flashCookie, readFlash } from "./flash";
import { LOCKED_MESSAGE, signInThrottled } from "../identity/sign-in-throttle";
import { revokeGrantEverywhere } from "../oauth/grant-revocation";
import { createApiKey, revokeApiKey } from "./key-service";
import { APPS_ACTIONS, loadAppsView, withAppSections } from "./apps-section";
import { ACCOUNT_SECTIONS, type ActivityRow, type AppRow, renderAccount, renderSignIn } from "./page";

/** Room for a secret of 4 KiB, percent-encoded, on the secrets form. */
const MAX_FORM_BYTES = 16 * 1024;
const see = (location: string, ...cookies: string[]) => {
	const headers = new Headers({ Location: location, "Cache-Control": "no-store" });
	for (const c of cookies) headers.append("Set-Cookie", c);
	return new Response(null, { status: 303, headers });
};

/** What a signed-in action gets. */
export interface ActionContext {
	env: Env;
	secret: string;
	session: WebSession;
	form: URLSearchParams;
}

/** A signed-in action: does its work and says where to go and what to show once. */
export type AccountAction = (c: ActionContext) => Promise<{ to?: string; flash: Flash; cookies?: string[] } | Response>;

/**
 * Workspace actions run with the caller's role in the posted `tenant` (404 when not a member).
 * Add a route by adding an entry here (or to {@link PERSONAL_ACTIONS} for actions on oneself).
 */
export const WORKSPACE_ACTIONS: Record<string, (c: ActionContext, w: { tenantId: string; role: Role }) => ReturnType<AccountAction>> = {
	"/account/grants/revoke": revokeGrant,
	"/account/keys": createKey,
	"/account/keys/revoke": revokeKey,
	// Hosted apps and secrets (owners): apps-section.ts.
	...APPS_ACTIONS,
};

/** Actions on the signed-in person's own account. */
export const PERSONAL_ACTIONS: Record<string, AccountAction> = {
	"/account/sign-out": signOut,
	"/account/password": changePassword,
};

/**
 * Handles `/account` and `/account/*`.
 *
 * @example
 * ```ts
 * if (url.pathname === "/account" || url.pathname.startsWith("/account/")) return handleAccount(request, env);
 * ```
 */
export async function handleAccount(request: Request, env: Env): Promise<Response> {
	const secret = resolveConfig(env).secret;
	const url = new URL(request.url);
	const kv = env.DIRECTORY_KV;
	if (request.method === "GET" && url.pathname === "/account") {
		const session = await readSession(secret, kv, request);
		if (!session) return renderSignIn({ sso: oidcSignInOption(env) });
		const flash = await readFlash(secret, session, request);
		const res = await show(env, secret, session, url.searchParams.get("tenant"), flash);
		if (flash) res.headers.append("Set-Cookie", clearFlash());
		return res;
	}
	if (request.method !== "POST") return renderErrorPage(405, "Method not allowed", "Use the buttons on the page.");
	const origin = request.headers.get("Origin");
	if (origin !== null && origin !== url.origin)
		return renderErrorPage(403, "This form came from another site", "Open /account on this server and try again.");
	if (!(request.headers.get("Content-Type") ?? "").startsWith("application/x-www-form-urlencoded"))
		return renderErrorPage(415, "Unsupported form", "Use the form on the page.");
	const raw = await request.arrayBuffer();
	if (raw.byteLength > MAX_FORM_BYTES) return renderErrorPage(413, "Form too large", "Use the form on the page.");
	const form = new URLSearchParams(new TextDecoder().decode(raw));

	if (url.pathname === "/account/sign-in") {
		// wrangler dev: the seeded development account exists from the first sign-in on either page.
		await ensureDevAccount(env, url);
		// Counted per account (worker/identity/sign-in-throttle.ts), which also audits failures.
		const { account, retryAfterSeconds } = await signInThrottled(env, form.get("email") ?? "", form.get("password") ?? "", "account-page");
		if (retryAfterSeconds) return renderSignIn({ error: LOCKED_MESSAGE(retryAfterSeconds), sso: oidcSignInOption(env) });
		if (!account) return renderSignIn({ error: "Email or password is incorrect.", sso: oidcSignInOption(env) });
		const { cookie } = await issueSession(secret, kv, account.userId);
		return see("/account", cookie);
	}
	if (url.pathname === "/account/sso") return startAccountSso(env);

	const session = await readSession(secret, kv, request);
	if (!session || !(await checkCsrf(secret, session, form.get("csrf")))) {
		log("warn", "account.csrf_rejected", { path: url.pathname.slice(0, 64) });
		return renderErrorPage(403, "Please sign in again", "Your session ended or the form is stale. Open /account and try again.");
	}
	const ctx: ActionContext = { env, secret, session, form };
	const personal = PERSONAL_ACTIONS[url.pathname];
	const workspace = WORKSPACE_ACTIONS[url.pathname];
	let done: Awaited<ReturnType<AccountAction>>;
	if (personal) done = await personal(ctx);
	else if (workspace) {
		const tenantId = form.get("tenant") ?? "";
		const role = await new TenantDirectory(kv).roleOf(tenantId, session.userId);
		if (!role) return renderErrorPage(404, "Workspace not found", "Open /account and pick one of your workspaces.");
		done = await workspace(ctx, { tenantId, role });
	} else return renderErrorPage(404, "Not found", "Open /account.");
	if (done instanceof Response) return done;
	return see(done.to ?? "/account", ...(done.cookies ?? []), await flashCookie(secret, session, done.flash));
}

const back = (tenantId: string) => `/account?tenant=${encodeURIComponent(tenantId)}`;
const actorOf = (tenantId: string, userId: string) => ({ tenantId, userId, clientId: "account-page" });

async function signOut(c: ActionContext): ReturnType<AccountAction> {
	// Every session of the account ends, not just this cookie (a copied cookie dies with it).
	await endAllSessions(c.env.DIRECTORY_KV, c.session.userId);
	return see("/account", clearSession(), clearFlash());
}

async function changePassword(c: ActionContext): ReturnType<AccountAction> {
	const kv = c.env.DIRECTORY_KV;
	const me = await new TenantDirectory(kv).account(c.session.userId);
	if (!me) return see("/account", clearSession());
	const next = c.form.get("password") ?? "";
	if (next.length < MIN_PASSWORD_LENGTH)
		return { to: "/account#you", flash: { error: `The new password is too short: use at least ${MIN_PASSWORD_LENGTH} characters.` } };
	const { account, retryAfterSeconds } = await signInThrottled(c.env, me.email, c.form.get("current") ?? "", "account-page");
	if (retryAfterSeconds) return { to: "/account#you", flash: { error: LOCKED_MESSAGE(retryAfterSeconds) } };
	if (!account || account.userId !== me.userId) {
		await auditAuthEvent(c.env, actorOf(me.tenantId, me.userId), "auth/password_change", "denied", "wrong_password");
		return { to: "/account#you", flash: { error: "The current password is not right. Nothing was changed." } };
	}
	await new TenantDirectory(kv).resetPassword(me.userId, next);
	// Every other browser is signed out; this one gets a fresh session at the new epoch.
	await endAllSessions(kv, me.userId);
	const { cookie, session } = await issueSession(c.secret, kv, me.userId);
	await auditAuthEvent(c.env, actorOf(me.tenantId, me.userId), "auth/password_change", "allowed", "self");
	return see("/account", cookie, await flashCookie(c.secret, session, { notice: "Password changed. Other browsers were signed out." }));
}

async function revokeGrant(c: ActionContext, w: { tenantId: string; role: Role }): ReturnType<AccountAction> {
	const userId = c.form.get("user") ?? "";
	const grantId = c.form.get("grant") ?? "";
	const dir = new TenantDirectory(c.env.DIRECTORY_KV);
	// Members revoke their own grants; owners any member's in this workspace.
	if (userId !== c.session.userId && (w.role !== "owner" || !(await dir.roleOf(w.tenantId, userId))))
		return renderErrorPage(403, "Not allowed", "Only owners can disconnect other people's apps.");
	const grants = await c.env.OAUTH_PROVIDER.listUserGrants(userId);
	const grant = grants.items.find((g) => g.id === grantId && (g.metadata as { tenantId?: string } | null)?.tenantId === w.tenantId);
	if (!grant) return { to: back(w.tenantId), flash: { notice: "That app was already disconnected." } };
	const client = await c.env.OAUTH_PROVIDER.lookupClient(grant.clientId).catch(() => null);
	// The kernel first (it audits and closes the grant's streams), then KV.
	await revokeGrantEverywhere(c.env, actorOf(w.tenantId, c.session.userId), {
		tenantId: w.tenantId,
		userId,
		grantId,
		clientId: grant.clientId,
	});
	const name = client?.clientName ?? "The app";
	return { to: back(w.tenantId), flash: { notice: `Revoked ${name}: its tokens no longer work and its sessions are closed.` } };
}

async function createKey(c: ActionContext, w: { tenantId: string; role: Role }): ReturnType<AccountAction> {
	if (w.role !== "owner") return renderErrorPage(403, "Not allowed", "Only owners of this workspace manage API keys.");
	const name = (c.form.get("name") ?? "").trim();
	const r = await createApiKey(c.env, actorOf(w.tenantId, c.session.userId), {
		tenantId: w.tenantId,
		userId: c.session.userId,
		name,
		scopes: c.form.getAll("scope"),
		days: Number(c.form.get("days") ?? 0),
	});
	// The key travels to the next page view in the encrypted flash only: never in a URL, never stored.
	return r.ok
		? { to: `${back(w.tenantId)}#keys`, flash: { newKey: { key: r.key, name } } }
		: { to: `${back(w.tenantId)}#keys`, flash: { error: r.error } };
}

async function revokeKey(c: ActionContext, w: { tenantId: string; role: Role }): ReturnType<AccountAction> {
	if (w.role !== "owner") return renderErrorPage(403, "Not allowed", "Only owners of this workspace manage API keys.");
	const keyId = c.form.get("key") ?? "";
	const revoked = await revokeApiKey(c.env, actorOf(w.tenantId, c.session.userId), w.tenantId, keyId);
	return {
		to: `${back(w.tenantId)}#keys`,
		flash: revoked
			? { notice: "Key revoked: programs using it are refused from their next request." }
			: { notice: "That key was already revoked." },
	};
}

/** Renders the page for one workspace of the signed-in person. */
async function show(env: Env, secret: string, session: WebSession, wanted: string | null, flash: Flash | null): Promise<Response> {
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const me = await dir.account(session.userId);
	if (!me) return renderSignIn({ sso: oidcSignInOption(env) });
	const tenants = await dir.tenantsOf(me.userId);
	const tenant = tenants.find((t) => t.id === wanted) ?? tenants[0];
	if (!tenant) return renderErrorPage(404, "No workspace", "Your account has no workspace; ask the operator.");
	const kernel = tenantStub(env, { tenantId: tenant.id, userId: me.userId, clientId: "account-page" });
	const record = await dir.get(tenant.id, me);
	const people = tenant.role === "owner" ? Object.keys(record?.members ?? { [me.userId]: "owner" }) : [me.userId];
	const clients = new Map<string, { name: string; domain?: string }>();
	const clientOf = async (clientId: string) => {
		let c = clients.get(clientId);
		if (!c) {
			const found = await env.OAUTH_PROVIDER.lookupClient(clientId).catch(() => null);
			c = { name: found?.clientName ?? "Unnamed app", domain: verifiedDomain(clientId) };
			clients.set(clientId, c);
		}
		return c;
	};
	const apps: AppRow[] = [];
	for (const userId of people) {
		const person = userId === me.userId ? me : await dir.account(userId);
		const grants = await env.OAUTH_PROVIDER.listUserGrants(userId);
		for (const g of grants.items) {
			if ((g.metadata as { tenantId?: string } | null)?.tenantId !== tenant.id) continue;
			const c = await clientOf(g.clientId);
			apps.push({
				grantId: g.id,
				userId,
				userEmail: person?.email ?? userId,
				clientName: c.name,
				clientDomain: c.domain,
				scopes: g.scope,
				createdAt: g.createdAt,
			});
		}
	}
	const keys = tenant.role === "owner" ? await kernel.listApiKeys() : null;
	const rows = (await kernel.recentAudit(20)).filter((r) => tenant.role === "owner" || r.user === me.userId);
	const activity: ActivityRow[] = [];
	for (const r of rows)
		activity.push({
			ts: r.ts,
			app: await appLabel(r.client, keys, clientOf),
			method: r.method,
			tool: r.tool || undefined,
			decision: r.decision,
		});
	return renderAccount(
		{
			email: me.email,
			csrf: await csrfToken(secret, session),
			mcpUrl: `${resolveConfig(env).origin}/mcp`,
			tenants,
			tenant,
			apps,
			keys,
			activity,
			flash,
		},
		withAppSections(
			ACCOUNT_SECTIONS,
			tenant.role === "owner" ? await loadAppsView(env, { tenantId: tenant.id, userId: me.userId, clientId: "account-page" }) : null,
		),
	);
}

/** The app behind an audit row's client id, in words. */
async function appLabel(
	clientId: string,
	keys: { keyId: string; name: string }[] | null,
	clientOf: (id: string) => Promise<{ name: string; domain?: string }>,
): Promise<string> {
	if (clientId === "account-page") return "Account page";
	if (clientId === "admin-api") return "Operator";
	if (clientId === "-" || clientId === "") return "Sign-in page";
	const key = /^key_([0-9a-f]{8})$/.exec(clientId);
	if (key) {
		const named = keys?.find((k) => k.keyId === key[1]);
		return named ? `API key “${named.name}”` : "An API key";
	}
	const c = await clientOf(clientId);
	return c.domain ? `${c.name} (${c.domain})` : c.name;
}

/** A Client ID Metadata Document client's id is its https URL: the host is verified by the fetch. */
function verifiedDomain(clientId: string): string | undefined {
	if (!clientId.startsWith("https://")) return undefined;
	try {
		return new URL(clientId).hostname;
	} catch {
		return undefined;
	}
}
