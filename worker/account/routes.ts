/**
 * @module worker/account/routes
 * worker/account/ (entry: this module) owns the signed-in person's /account pages and their API
 * key service. It may import shared/, worker/identity/, worker/oauth/ and npm packages.
 *
 * The connected-apps page: a tenant manages, on one page, every client and key that can act in
 * their name and cuts any of them off at once.
 *
 *   GET  /account[?tenant=]        sign-in form, or the page for one workspace
 *   POST /account/sign-in          email + password → session cookie
 *   POST /account/sign-out
 *   POST /account/grants/revoke    csrf, tenant, grant, user   (yourself; owners: any member)
 *   POST /account/keys             csrf, tenant, name, scope…, days   (owners)
 *   POST /account/keys/revoke      csrf, tenant, key           (owners)
 *
 * Every POST needs the session cookie and its CSRF token, and a same-origin `Origin` when the
 * browser sends one. Revoking a grant deletes its tokens, so live MCP sessions get 401 on their
 * next request; revoking a key is refused by the kernel at once.
 */
import { log } from "../../shared/log";
import { tenantStub } from "../../shared/rpc/stubs";
import { AccountDirectory, ensureDevAccount } from "../identity/accounts";
import { renderAccount, renderSignIn, type AppRow } from "./page";
import { auditAuthEvent } from "../oauth/auth-events";
import { resolveConfig } from "../../shared/config";
import { TenantDirectory } from "../identity/tenants";
import type { Env } from "../../shared/env";
import { createApiKey, revokeApiKey } from "./key-service";
import { renderErrorPage } from "../oauth/consent-page";
import { checkCsrf, clearSession, csrfToken, issueSession, readSession, type WebSession } from "../identity/web-session";

const MAX_FORM_BYTES = 8 * 1024;
const see = (location: string, cookie?: string) =>
	new Response(null, {
		status: 303,
		headers: { Location: location, ...(cookie ? { "Set-Cookie": cookie } : {}), "Cache-Control": "no-store" },
	});

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
	if (request.method === "GET" && url.pathname === "/account") {
		const session = await readSession(secret, request);
		return session ? show(env, secret, session, url.searchParams.get("tenant")) : renderSignIn();
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
		const { account, attempted } = await new AccountDirectory(env.DIRECTORY_KV).signIn(form.get("email") ?? "", form.get("password") ?? "");
		if (attempted)
			await auditAuthEvent(
				env,
				{ tenantId: attempted.tenantId, userId: attempted.userId, clientId: "account-page" },
				"auth/sign_in",
				"denied",
				"wrong_password",
			);
		if (!account) return renderSignIn("Email or password is incorrect.");
		const { cookie } = await issueSession(secret, account.userId);
		return see("/account", cookie);
	}

	const session = await readSession(secret, request);
	if (!session || !(await checkCsrf(secret, session, form.get("csrf")))) {
		log("warn", "account.csrf_rejected", { path: url.pathname });
		return renderErrorPage(403, "Please sign in again", "Your session expired or the form is stale. Open /account and try again.");
	}
	if (url.pathname === "/account/sign-out") return see("/account", clearSession());

	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const tenantId = form.get("tenant") ?? "";
	const role = await dir.roleOf(tenantId, session.userId);
	if (!role) return renderErrorPage(404, "Workspace not found", "Open /account and pick one of your workspaces.");
	const actor = { tenantId, userId: session.userId, clientId: "account-page" };
	const back = `/account?tenant=${encodeURIComponent(tenantId)}`;

	if (url.pathname === "/account/grants/revoke") {
		const userId = form.get("user") ?? "";
		const grantId = form.get("grant") ?? "";
		// Members revoke their own grants; owners any member's in this workspace.
		if (userId !== session.userId && (role !== "owner" || !(await dir.roleOf(tenantId, userId))))
			return renderErrorPage(403, "Not allowed", "Only owners can disconnect other people's apps.");
		const grants = await env.OAUTH_PROVIDER.listUserGrants(userId);
		const grant = grants.items.find((g) => g.id === grantId && (g.metadata as { tenantId?: string } | null)?.tenantId === tenantId);
		if (!grant) return see(back);
		await env.OAUTH_PROVIDER.revokeGrant(grantId, userId);
		await auditAuthEvent(env, actor, "auth/revoke", "allowed", `grant of client ${grant.clientId.slice(0, 64)}`);
		return see(back);
	}
	if (role !== "owner") return renderErrorPage(403, "Not allowed", "Only owners of this workspace manage API keys.");
	if (url.pathname === "/account/keys") {
		const r = await createApiKey(env, actor, {
			tenantId,
			userId: session.userId,
			name: form.get("name") ?? "",
			scopes: form.getAll("scope"),
			days: Number(form.get("days") ?? 0),
		});
		// The key is shown in this response only, never in a URL or again.
		return r.ok
			? show(env, secret, session, tenantId, { newKey: { key: r.key, name: (form.get("name") ?? "").trim() } })
			: show(env, secret, session, tenantId, { error: r.error });
	}
	if (url.pathname === "/account/keys/revoke") {
		await revokeApiKey(env, actor, tenantId, form.get("key") ?? "");
		return see(back);
	}
	return renderErrorPage(404, "Not found", "Open /account.");
}

/** Renders the page for one workspace of the signed-in person. */
async function show(
	env: Env,
	secret: string,
	session: WebSession,
	wanted: string | null,
	extra: { newKey?: { key: string; name: string }; error?: string } = {},
): Promise<Response> {
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const me = await dir.account(session.userId);
	if (!me) return renderSignIn();
	const tenants = await dir.tenantsOf(me.userId);
	const tenant = tenants.find((t) => t.id === wanted) ?? tenants[0];
	if (!tenant) return renderErrorPage(404, "No workspace", "Your account has no workspace; ask the operator.");
	const kernel = tenantStub(env, { tenantId: tenant.id, userId: me.userId, clientId: "account-page" });
	const record = await dir.get(tenant.id, me);
	const people = tenant.role === "owner" ? Object.keys(record?.members ?? { [me.userId]: "owner" }) : [me.userId];
	const apps: AppRow[] = [];
	for (const userId of people) {
		const person = userId === me.userId ? me : await dir.account(userId);
		const grants = await env.OAUTH_PROVIDER.listUserGrants(userId);
		for (const g of grants.items) {
			if ((g.metadata as { tenantId?: string } | null)?.tenantId !== tenant.id) continue;
			const client = await env.OAUTH_PROVIDER.lookupClient(g.clientId).catch(() => null);
			apps.push({
				grantId: g.id,
				userId,
				userEmail: person?.email ?? userId,
				clientName: client?.clientName ?? g.clientId,
				scopes: g.scope,
				createdAt: g.createdAt,
			});
		}
	}
	const activity = (await kernel.recentAudit(20)).filter((r) => tenant.role === "owner" || r.user === me.userId);
	return renderAccount({
		email: me.email,
		csrf: await csrfToken(secret, session),
		tenants,
		tenant,
		apps,
		keys: tenant.role === "owner" ? await kernel.listApiKeys() : null,
		activity,
		...extra,
	});
}
