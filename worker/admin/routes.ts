/**
 * @module worker/admin/routes
 * worker/admin/ (entry: this module) owns the operator's admin API. It may import shared/,
 * worker/identity/, worker/oauth/, worker/account/, worker/apps/ and npm packages.
 *
 * The operator's admin API, guarded by the `SMCP_ADMIN_TOKEN` secret (compared in constant time).
 * Without the secret the API does not exist (404). Used by the `smcp` CLI (`bin/smcp.mjs`).
 *
 *   GET    /admin/tenants?cursor=C&limit=N             every tenant (personal and team) with its owners, paged
 *   POST   /admin/tenants                 {name, ownerUserId}
 *   POST   /admin/tenants/{t}/suspend | /reactivate
 *   DELETE /admin/tenants/{t}?confirm={t}          deletes a team tenant and all its data (worker/admin/deletion.ts)
 *   POST   /admin/tenants/{t}/members     {userId, role}       DELETE …/members/{u}
 *   GET    /admin/tenants/{t}/keys        POST {userId, name, scopes, days}   DELETE …/keys/{keyId}
 *   GET    /admin/tenants/{t}/audit?after=SEQ&limit=N   NDJSON: {"anchor":…} then rows
 *   GET    /admin/tenants/{t}/audit/verify
 *   POST   /admin/users                   {email, password}
 *   GET    /admin/users?email=E           the account with that email (404 if none)
 *   POST   /admin/users/{u}/password      {password}
 *   DELETE /admin/users/{u}?confirm={u}            deletes a user, their personal tenant, memberships, grants, keys
 *   GET    /admin/users/{u}/grants        DELETE …/grants/{grantId}
 *   …      /admin/tenants/{t}/apps…, /admin/tenants/{t}/secrets…   app management (worker/apps/routes.ts)
 */
import { log } from "../../shared/log";
import { AccountDirectory } from "../identity/accounts";
import { auditAuthEvent } from "../oauth/auth-events";
import { TenantDirectory } from "../identity/tenants";
import type { Env } from "../../shared/env";
import { createApiKey, revokeApiKey } from "../account/key-service";
import { tenantStub } from "../../shared/rpc/stubs";
import { handleAppsApi } from "../apps/routes";
import { revokeGrantEverywhere } from "../oauth/grant-revocation";
import { cutOffMember } from "./member-removal";
import { deleteTenant, deleteUser, type DeletionRefusal } from "./deletion";
import { endAllSessions } from "../identity/web-session";
import { verifyInChunks } from "./audit-verify";

const T = "(t_[0-9a-f]{32})";
const U = "(u_[0-9a-f]{32})";
const OPERATOR = (tenantId: string) => ({ tenantId, userId: "operator", clientId: "admin-api" });

/** Constant-time equality of two strings via their SHA-256 digests (equal length by construction). */
async function sameSecret(a: string, b: string): Promise<boolean> {
	const enc = new TextEncoder();
	const [x, y] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(a)), crypto.subtle.digest("SHA-256", enc.encode(b))]);
	const p = new Uint8Array(x);
	const q = new Uint8Array(y);
	let diff = 0;
	for (let i = 0; i < p.length; i++) diff |= p[i]! ^ q[i]!;
	return diff === 0;
}

const json = (status: number, body: unknown) =>
	new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
const notFound = () => json(404, { error: "not_found" });

async function body(request: Request): Promise<Record<string, unknown>> {
	try {
		const v = await request.json();
		return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
	} catch {
		return {};
	}
}

/**
 * A deletion names its target twice (`?confirm=<id>`): a mistyped or replayed path alone deletes
 * nothing. The CLI asks the operator first (`--yes` or an interactive prompt).
 */
const confirmed = (request: Request, id: string) => new URL(request.url).searchParams.get("confirm") === id;
const unconfirmed = (id: string) =>
	json(400, { error: "invalid_request", error_description: `Deletion cannot be undone: repeat the id as ?confirm=${id} to confirm.` });

/** The answer to a refused deletion, saying what to do. */
function refused(e: DeletionRefusal): Response {
	if (e.reason === "not_found") return notFound();
	return json(409, {
		error: "conflict",
		error_description:
			e.reason === "personal_tenant"
				? `A personal workspace is deleted with its account: delete its user (smcp users delete --user ${e.ownerUserId ?? "U"}${e.ownerUserId ? "" : "; smcp users find --email E shows whose tenantId it is"}).`
				: `The user is the last owner of ${e.tenants.join(", ")}: make another member an owner (smcp tenants add-member --tenant T --user U --role owner) or delete the tenant (smcp tenants delete --tenant T) first.`,
		...(e.reason === "last_owner" ? { tenants: e.tenants } : {}),
	});
}

/**
 * Handles `/admin/*` (reached through the OAuth provider's default handler, so
 * `env.OAUTH_PROVIDER` is available for grants).
 *
 * @example
 * ```ts
 * if (url.pathname.startsWith("/admin/")) return handleAdmin(request, env, trace, ctx);
 * ```
 */
export async function handleAdmin(request: Request, env: Env, traceId: string, ctx: ExecutionContext): Promise<Response> {
	const secret = env.SMCP_ADMIN_TOKEN ?? "";
	if (secret.length < 32) return new Response("Not Found", { status: 404 });
	const header = request.headers.get("Authorization") ?? "";
	if (!(await sameSecret(header.startsWith("Bearer ") ? header.slice(7) : "", secret))) {
		log("warn", "admin.unauthorized", { trace: traceId });
		return json(401, { error: "unauthorized" });
	}
	const path = new URL(request.url).pathname;
	const route = (method: string, pattern: string) => (request.method === method ? new RegExp(`^/admin${pattern}$`).exec(path) : null);
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const tenant = (id: string) => tenantStub(env, OPERATOR(id));
	let m: RegExpExecArray | null;
	log("info", "admin.request", { trace: traceId, method: request.method, path: path.replace(/[tu]_[0-9a-f]{32}/g, (x) => x.slice(0, 10)) });

	if ((m = new RegExp(`^/admin/tenants/${T}(/(?:apps|secrets)(?:/.*)?)$`).exec(path))) {
		const handled = await handleAppsApi(request, { env, exports: ctx.exports }, OPERATOR(m[1]!), m[2]!);
		if (handled) return handled;
	}
	if ((m = route("GET", `/tenants/${T}/audit/verify`))) return json(200, await verifyInChunks(tenant(m[1]!)));
	if ((m = route("GET", `/tenants/${T}/audit`))) {
		const url = new URL(request.url);
		const after = Math.max(0, Number(url.searchParams.get("after") ?? 0) || 0);
		const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get("limit") ?? 500) || 500));
		await auditAuthEvent(env, OPERATOR(m[1]!), "admin/audit_exported", "allowed", `after ${after} limit ${limit}`);
		const page = await tenant(m[1]!).exportAudit(after, limit);
		const lines = [JSON.stringify({ anchor: page.anchor }), ...page.rows.map((r) => JSON.stringify(r))];
		return new Response(`${lines.join("\n")}\n`, { headers: { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" } });
	}
	if (route("GET", "/tenants")) {
		const q = new URL(request.url).searchParams;
		const cursor = q.get("cursor") ?? undefined;
		const page = await dir.list(cursor, Number(q.get("limit") ?? 100) || 100);
		return page
			? json(200, page)
			: json(400, {
					error: "invalid_request",
					error_description: "cursor: pass the cursor of the previous page unchanged, or none to start",
				});
	}
	if (route("POST", "/tenants")) {
		const b = await body(request);
		const created = typeof b.name === "string" && typeof b.ownerUserId === "string" ? await dir.create(b.name, b.ownerUserId) : null;
		if (created)
			await auditAuthEvent(env, OPERATOR(created.id), "admin/tenant_created", "allowed", `owner ${String(b.ownerUserId).slice(0, 40)}`);
		return created
			? json(201, created)
			: json(400, { error: "invalid_request", error_description: "name and an existing ownerUserId are required" });
	}
	if ((m = route("POST", `/tenants/${T}/(suspend|reactivate)`))) {
		const suspend = m[2] === "suspend";
		if (!(await dir.setStatus(m[1]!, suspend ? "suspended" : "active"))) return notFound();
		await tenant(m[1]!).setSuspended(OPERATOR(m[1]!), suspend);
		return json(200, { tenantId: m[1], status: suspend ? "suspended" : "active" });
	}
	if ((m = route("DELETE", `/tenants/${T}`))) {
		if (!confirmed(request, m[1]!)) return unconfirmed(m[1]!);
		const r = await deleteTenant(env, m[1]!, traceId);
		return r.ok ? json(200, { deleted: true, ...r.value }) : refused(r.error);
	}
	if ((m = route("DELETE", `/users/${U}`))) {
		if (!confirmed(request, m[1]!)) return unconfirmed(m[1]!);
		const r = await deleteUser(env, m[1]!, traceId);
		return r.ok ? json(200, { deleted: true, ...r.value }) : refused(r.error);
	}
	if ((m = route("POST", `/tenants/${T}/members`))) {
		const b = await body(request);
		const role = b.role === "owner" ? "owner" : "member";
		const ok = typeof b.userId === "string" && (await dir.addMember(m[1]!, b.userId, role));
		if (ok) await auditAuthEvent(env, OPERATOR(m[1]!), "admin/member_added", "allowed", `${String(b.userId).slice(0, 40)} as ${role}`);
		return ok
			? json(200, { tenantId: m[1], userId: b.userId, role })
			: json(400, { error: "invalid_request", error_description: "an existing userId is required" });
	}
	if ((m = route("DELETE", `/tenants/${T}/members/${U}`))) {
		const r = await dir.removeMember(m[1]!, m[2]!);
		if (r === "not_member") return notFound();
		if (r !== "ok")
			return json(409, {
				error: "conflict",
				error_description:
					r === "personal_tenant" ? "A personal workspace keeps its owner." : "Add another owner before removing the last one.",
			});
		// The removed member's apps and keys in this tenant stop at once (worker/admin/member-removal.ts).
		const cut = await cutOffMember(env, OPERATOR(m[1]!), m[1]!, m[2]!);
		await auditAuthEvent(
			env,
			OPERATOR(m[1]!),
			"admin/member_removed",
			"allowed",
			`${m[2]!} (${cut.grants} grants, ${cut.keys} keys revoked)`,
		);
		return json(200, { tenantId: m[1], userId: m[2], removed: true, ...cut });
	}
	if ((m = route("GET", `/tenants/${T}/keys`))) {
		await auditAuthEvent(env, OPERATOR(m[1]!), "admin/keys_listed", "allowed", "ok");
		return json(200, { keys: await tenant(m[1]!).listApiKeys() });
	}
	if ((m = route("POST", `/tenants/${T}/keys`))) {
		const b = await body(request);
		if (typeof b.userId !== "string" || !(await dir.roleOf(m[1]!, b.userId)))
			return json(400, { error: "invalid_request", error_description: "userId must be a member of the tenant" });
		const r = await createApiKey(env, OPERATOR(m[1]!), {
			tenantId: m[1]!,
			userId: b.userId,
			name: String(b.name ?? ""),
			scopes: Array.isArray(b.scopes) ? b.scopes.map(String) : [],
			days: Number(b.days ?? 90),
		});
		return r.ok
			? json(201, { key: r.key, keyId: r.keyId, expiresAt: r.expiresAt })
			: json(400, { error: "invalid_request", error_description: r.error });
	}
	if ((m = route("DELETE", `/tenants/${T}/keys/([0-9a-f]{8})`)))
		return (await revokeApiKey(env, OPERATOR(m[1]!), m[1]!, m[2]!)) ? json(200, { revoked: m[2] }) : notFound();
	if (route("GET", "/users")) {
		const found = await new AccountDirectory(env.DIRECTORY_KV).findByEmail(new URL(request.url).searchParams.get("email") ?? "");
		if (!found) return json(404, { error: "not_found", error_description: "no account has this email" });
		return json(200, { userId: found.userId, email: found.email, tenantId: found.tenantId, tenants: await dir.tenantsOf(found.userId) });
	}
	if (route("POST", "/users")) {
		const b = await body(request);
		const r = await new AccountDirectory(env.DIRECTORY_KV).create(String(b.email ?? ""), String(b.password ?? ""));
		if (r.ok) await auditAuthEvent(env, OPERATOR(r.value.tenantId), "admin/user_created", "allowed", r.value.userId);
		return r.ok
			? json(201, { userId: r.value.userId, tenantId: r.value.tenantId, email: r.value.email })
			: json(400, { error: "invalid_request", error_description: r.error.reason });
	}
	if ((m = route("POST", `/users/${U}/password`))) {
		const r = await dir.resetPassword(m[1]!, String((await body(request)).password ?? ""));
		// A reset ends every web session of the account (whoever knew the old password is out).
		if (r === "ok") await endAllSessions(env.DIRECTORY_KV, m[1]!);
		const owner = r === "ok" ? await dir.account(m[1]!) : null;
		if (owner) await auditAuthEvent(env, { ...OPERATOR(owner.tenantId) }, "admin/password_reset", "allowed", m[1]!);
		return r === "ok"
			? json(200, { userId: m[1] })
			: r === "unknown_user"
				? notFound()
				: json(400, { error: "invalid_request", error_description: r });
	}
	if ((m = route("GET", `/users/${U}/grants`))) return json(200, await env.OAUTH_PROVIDER.listUserGrants(m[1]!));
	if ((m = route("DELETE", `/users/${U}/grants/([A-Za-z0-9_-]{1,128})`))) {
		const grant = (await env.OAUTH_PROVIDER.listUserGrants(m[1]!)).items.find((g) => g.id === m![2]);
		const tenantId = (grant?.metadata as { tenantId?: string } | null)?.tenantId;
		// The kernel first (it audits), then KV: worker/oauth/grant-revocation.ts.
		if (grant && tenantId)
			await revokeGrantEverywhere(env, OPERATOR(tenantId), { tenantId, userId: m[1]!, grantId: m[2]!, clientId: grant.clientId });
		else await env.OAUTH_PROVIDER.revokeGrant(m[2]!, m[1]!);
		return json(200, { revoked: m[2] });
	}
	return notFound();
}
