/**
 * @module worker/apps/routes
 * The app-management API of one tenant, shared by the operator's admin API
 * (`/admin/tenants/{t}/…`, `worker/admin/routes.ts`) and the tenant's own API for CI
 * (`/api/…`, an owner's API key with the `apps:deploy` scope, {@link handleTenantApi}):
 *
 *   GET    …/apps                          the apps, active versions, declared capabilities
 *   PUT    …/apps/{app}                    {manifest, modules}: deploy (checks, guard, dry load, store, activate)
 *   GET    …/apps/{app}/versions           stored versions, newest first
 *   POST   …/apps/{app}/activate           {hash}: roll back or promote
 *   DELETE …/apps/{app}                    remove the app, its versions, storage and log
 *   GET    …/apps/{app}/logs?limit=N       the app's captured console lines (redacted), oldest first
 *   GET    …/secrets                       names and last change only
 *   PUT    …/secrets/{NAME}                {value}: set or rotate (sealed here, never returned)
 *   DELETE …/secrets/{NAME}
 *
 * Errors are JSON `{ error, error_description }` (OAuth style, as the rest of the admin API);
 * a refused deploy adds `refusals: [{ kind, file, line, column, message }]`.
 */
import { APP_NAME, SECRET_NAME } from "../../shared/apps/manifest";
import { tenantStub } from "../../shared/rpc/stubs";
import type { Env } from "../../shared/env";
import { log } from "../../shared/log";
import type { AppRefusal } from "../../shared/rpc/apps-deploy";
import type { AuthSubject } from "../../shared/rpc/kernel";
import { principalFrom, type VerifiedContext } from "../oauth/principal";
import { TenantDirectory } from "../identity/tenants";
import { deployBundle, fromKernel } from "./deploy";
import type { AppRunContext } from "./run";
import { sealSecret } from "./secrets";

/** The API-key scope that lets an owner's key manage apps and secrets from CI. */
export const APPS_DEPLOY_SCOPE = "apps:deploy";

const json = (status: number, body: unknown) =>
	new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
const fail = (status: number, error: string, error_description: string) => json(status, { error, error_description });

/** A path segment, percent-decoded; null when its escapes are malformed (`%E0%A4%A`, `%ZZ`). */
function decodeSegment(segment: string): string | null {
	try {
		return decodeURIComponent(segment);
	} catch {
		return null;
	}
}

async function readJson(request: Request): Promise<unknown> {
	try {
		return await request.json();
	} catch {
		return undefined;
	}
}

/**
 * Handles one app-management request for the tenant `actor.tenantId`; `rest` is the path after the
 * tenant prefix (`/apps/…` or `/secrets/…`). Null when the path is not one of these routes.
 */
export async function handleAppsApi(request: Request, run: AppRunContext, actor: AuthSubject, rest: string): Promise<Response | null> {
	const tenant = tenantStub(run.env, actor);
	const method = request.method;
	const kernelFail = (r: AppRefusal) => {
		const f = fromKernel(r);
		return fail(f.status, f.error, f.error_description);
	};
	let m: RegExpExecArray | null;
	if (rest === "/apps" && method === "GET") return json(200, { apps: await tenant.listApps() });
	if ((m = /^\/apps\/([^/]+)(\/versions|\/activate|\/logs)?$/.exec(rest))) {
		const app = decodeSegment(m[1]!);
		if (app === null || !APP_NAME.test(app))
			return fail(400, "invalid_request", "app names are lower-case slugs (a letter, then letters, digits or -)");
		const sub = m[2] ?? "";
		if (sub === "" && method === "PUT") {
			const body = await readJson(request);
			if (body === undefined) return fail(400, "invalid_request", "send the bundle as JSON: {manifest, modules}");
			const r = await deployBundle(run, actor, body, app);
			if (!r.ok) {
				const { status, ...rest } = r.refusal;
				return json(status, rest);
			}
			return json(r.value.created ? 201 : 200, r.value);
		}
		if (sub === "" && method === "DELETE") {
			const r = await tenant.removeApp(actor, app);
			return r.ok ? json(200, r.value) : kernelFail(r.error as AppRefusal);
		}
		if (sub === "/versions" && method === "GET") {
			const r = await tenant.appVersions(app);
			return r.ok ? json(200, { app, versions: r.value }) : kernelFail(r.error as AppRefusal);
		}
		if (sub === "/activate" && method === "POST") {
			const body = (await readJson(request)) as { hash?: unknown } | undefined;
			if (typeof body?.hash !== "string") return fail(400, "invalid_request", 'send {"hash": "<64 hex>"}: smcp apps versions lists them');
			const r = await tenant.activateApp(actor, app, body.hash);
			return r.ok ? json(200, r.value) : kernelFail(r.error as AppRefusal);
		}
		if (sub === "/logs" && method === "GET") {
			const limit = Math.min(1000, Math.max(1, Number(new URL(request.url).searchParams.get("limit") ?? 100) || 100));
			return json(200, { app, lines: await tenant.readAppLogs(app, limit) });
		}
		return fail(405, "invalid_request", "method not allowed on this path");
	}
	if (rest === "/secrets" && method === "GET") return json(200, { secrets: await tenant.listSecrets() });
	if ((m = /^\/secrets\/([^/]+)$/.exec(rest))) {
		const name = decodeSegment(m[1]!);
		if (name === null || !SECRET_NAME.test(name))
			return fail(400, "invalid_secret", "secret names are upper-case: a letter, then letters, digits or _");
		if (method === "PUT") {
			const body = (await readJson(request)) as { value?: unknown } | undefined;
			const sealed = await sealSecret(run.env, actor.tenantId, name, body?.value);
			if (!sealed.ok) return fail(sealed.status, sealed.error, sealed.message);
			const r = await tenant.setSecret(actor, name, sealed.sealed);
			return r.ok ? json(200, r.value) : kernelFail(r.error as AppRefusal);
		}
		if (method === "DELETE") {
			const r = await tenant.deleteSecret(actor, name);
			return r.ok ? json(200, r.value) : kernelFail(r.error as AppRefusal);
		}
		return fail(405, "invalid_request", "method not allowed on this path");
	}
	return null;
}

/**
 * The tenant's own API (`/api/apps…`, `/api/secrets…`), reached through the OAuth provider, which
 * has verified the bearer. Only an API key qualifies (OAuth grants never carry `apps:deploy`), with
 * the `apps:deploy` scope, of a user who is STILL an owner of the tenant (checked on every request,
 * so a demoted owner's key stops working), of an active tenant; the kernel re-checks that the key
 * is neither revoked nor expired.
 */
export async function handleTenantApi(request: Request, env: Env, ctx: ExecutionContext & VerifiedContext): Promise<Response> {
	const principal = principalFrom(ctx);
	const path = new URL(request.url).pathname;
	const isKey = (ctx.props as { kind?: unknown } | undefined)?.kind === "api_key";
	if (!principal || !isKey || !principal.scopes.includes(APPS_DEPLOY_SCOPE)) {
		log("warn", "apps.api_refused", { reason: !principal ? "principal" : !isKey ? "not_a_key" : "scope" });
		return new Response(
			JSON.stringify({ error: "insufficient_scope", error_description: `use an owner's API key with the ${APPS_DEPLOY_SCOPE} scope` }),
			{
				status: 403,
				headers: {
					"Content-Type": "application/json",
					"WWW-Authenticate": `Bearer error="insufficient_scope", scope="${APPS_DEPLOY_SCOPE}"`,
				},
			},
		);
	}
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	if (!(await dir.isActive(principal.tenantId))) return fail(403, "access_denied", "this workspace is suspended: contact the operator");
	if ((await dir.roleOf(principal.tenantId, principal.userId)) !== "owner")
		return fail(403, "access_denied", "only owners of the workspace deploy apps: ask an owner for a key");
	const actor: AuthSubject = { tenantId: principal.tenantId, userId: principal.userId, clientId: principal.clientId };
	const handled = await handleAppsApi(request, { env, exports: ctx.exports }, actor, path.slice("/api".length));
	return handled ?? fail(404, "not_found", 'no such route: see docs/apps.md "Deploy"');
}
