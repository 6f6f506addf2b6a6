/**
 * @module worker/index
 * The front Worker. Request path (docs/architecture.md):
 *   guard (Host/Origin allow-list, body cap) → OAuthProvider (metadata, /token, /register,
 *   bearer check on /mcp and /sse) → MCP endpoints → SessionObject → TenantObject.
 * Non-API routes (the consent screen, health) are the provider's default handler.
 */
import { OAuthProvider } from "@cloudflare/workers-oauth-provider";
import { configureLog, log, logEnabled } from "../shared/log";
import { SCOPES } from "../shared/rpc/principal";
import { resolveConfig, type Config } from "../shared/config";
import type { Env } from "../shared/env";
import { guard } from "./edge/guard";
import { configurePages } from "./ui/layout";
import { renderLanding } from "./ui/landing";
import { ApiKeyStore } from "./identity/api-keys";
import type { ApiKeyProps } from "./oauth/principal";
import { auditAuthEvent } from "./oauth/auth-events";
import { handleMcp, handleSse } from "./mcp/routes";
import { begin, traceOf, type RequestInfo } from "./edge/request-log";
import { grantNamedByTokenRequest, guardTokenRequest } from "./oauth/token-guard";
import { malformedBearer } from "./oauth/identifiers";
import { preAuthLimiter } from "./edge/preauth";
import { refuseRevokedRefresh } from "./oauth/grant-revocation";
import { CLIENT_REGISTRATION_TTL_SECONDS, registrationEnv } from "./oauth/client-expiry";
import { limitCimdFetch } from "./oauth/cimd-limit";
import { bearerOf, cacheKey, forgetAll, forgetGrant, generation, lookup, remember, ttlMs, type VerifiedAuth } from "./edge/token-cache";

export { SessionObject } from "../objects/session/session-object";
export { TenantObject } from "../objects/tenant/tenant-object";
// Tenant apps: the isolate's policy gateway and its tail (worker/apps/), reached through ctx.exports.
export { Egress } from "./apps/egress";
export { AppTail } from "./apps/tail";

/**
 * Browser-based clients must read the session id and protocol version (streamable-http
 * §"Session Management"). The provider adds the origin (echoed, never `*`) and the OAuth headers.
 */
function exposeMcpHeaders(request: Request, response: Response): Response {
	if (!request.headers.has("Origin")) return response;
	const out = new Response(response.body, response);
	out.headers.set("Access-Control-Expose-Headers", "Mcp-Session-Id, MCP-Protocol-Version");
	return out;
}

/** The execution context as the provider leaves it for the API handlers. */
type VerifiedCtx = ExecutionContext & { props?: unknown; auth?: VerifiedAuth["auth"] };

/**
 * The API handlers run after the provider has verified the bearer token; they remember it for
 * the next request of the same client (worker/edge/token-cache.ts).
 */
function remembering(handle: typeof handleMcp) {
	return {
		fetch: async (request: Request, env: Env, ctx: VerifiedCtx) => {
			const ttl = ttlMs(env);
			const token = bearerOf(request);
			const since = verifiedAt.get(request);
			if (ttl > 0 && token && ctx.auth && since !== undefined)
				remember(cacheKey(new URL(request.url).origin, token), { props: ctx.props, auth: ctx.auth }, ttl, since);
			return exposeMcpHeaders(request, await handle(request, env, ctx, traceOf(request)));
		},
	};
}
/** The cache generation each request saw before the provider verified its token. */
const verifiedAt = new WeakMap<Request, number>();
const mcpApi = remembering(handleMcp);
const sseApi = remembering(handleSse);

/**
 * The cached path: a bearer token this isolate verified moments ago is not sent through the
 * provider again. Only for the MCP endpoints and requests without `Origin` (browsers get the
 * provider's CORS handling); anything else, or a miss, is null.
 */
async function tokenCacheHit(request: Request, env: Env, url: URL): Promise<VerifiedAuth | null> {
	const path = url.pathname;
	const handled = path === "/mcp" || path === "/sse" || path === "/sse/message";
	if (!handled || request.method === "OPTIONS" || request.headers.has("Origin") || ttlMs(env) === 0) return null;
	const token = bearerOf(request);
	return token ? lookup(cacheKey(url.origin, token), token) : null;
}

/** Serves a request whose bearer token was a {@link tokenCacheHit}. */
function fromTokenCache(request: Request, env: Env, ctx: VerifiedCtx, url: URL, hit: VerifiedAuth): Promise<Response> {
	const handle = url.pathname === "/mcp" ? handleMcp : handleSse;
	// The same two fields the provider sets after its own check (handleApiRequest).
	Object.assign(ctx, hit);
	return handle(request, env, ctx, traceOf(request));
}

/** The paths the provider guards with a bearer token: its API routes and everything under them (`matchApiRoute`). */
const isMcpPath = (path: string) => path === "/mcp" || path.startsWith("/mcp/") || path === "/sse" || path.startsWith("/sse/");

/**
 * Whether a request revoked something this isolate's token cache may hold, so the whole cache is
 * emptied after it: an admin-API change the admin token authorised, or a revoke on the
 * connected-apps page that went through (its 303). A `POST /token` forgets only the grant it
 * names (a revocation, or a code exchange that may be a replay: the provider then revokes the
 * grant), and a malformed or unauthenticated one, a sign-in form or a stale CSRF token flushes
 * nothing. A handler that failed half-way (`status` undefined) on one of these paths flushes.
 */
function revokedSomething(request: Request, path: string, status: number | undefined): boolean {
	if (request.method === "GET" || request.method === "HEAD") return false;
	if (path.startsWith("/admin/")) return status === undefined || status < 400;
	if (path === "/account/grants/revoke" || path === "/account/keys/revoke") return status === undefined || status === 303;
	return false;
}

const defaultHandler = {
	async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
		const url = new URL(request.url);
		// Pages, sign-in (OIDC included) and the admin API are loaded on first use, not at start-up.
		if (url.pathname === "/authorize") return (await import("./oauth/authorize")).handleAuthorize(request, env);
		if (url.pathname === "/oidc/callback") {
			// The account page's single sign-on shares the one redirect URI registered at the provider.
			const sso = await import("./identity/oidc/account-sign-in");
			return sso.isAccountSsoState(url.searchParams.get("state"))
				? sso.finishAccountSso(request, env)
				: (await import("./identity/oidc/flow")).handleOidcCallback(request, env);
		}
		if (url.pathname.startsWith("/admin/")) return (await import("./admin/routes")).handleAdmin(request, env, traceOf(request), ctx);
		if (url.pathname === "/account" || url.pathname.startsWith("/account/"))
			return (await import("./account/routes")).handleAccount(request, env);
		if (url.pathname === "/healthz") return Response.json({ ok: true });
		if (url.pathname === "/" && request.method === "GET") return renderLanding(request, resolveConfig(env).origin);
		return new Response("Not Found", { status: 404 });
	},
};

/** `/api` (the tenant's app-management API), loaded on its first request. */
async function tenantApi(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
	return (await import("./apps/routes")).handleTenantApi(
		request,
		env,
		ctx as Parameters<typeof import("./apps/routes").handleTenantApi>[2],
	);
}

let provider: { origin: string; instance: OAuthProvider<Env> } | undefined;

/** The OAuth provider for this deployment's origin, built once per isolate. */
function oauthProvider(config: Config): OAuthProvider<Env> {
	if (provider?.origin === config.origin) return provider.instance;
	const instance = new OAuthProvider<Env>({
		// `/api`: the tenant's own app-management API for CI (an owner's API key with apps:deploy).
		// Its deploy pipeline (parser, guard transform, checks) is imported on first use, not at start-up.
		apiHandlers: { "/mcp": mcpApi, "/sse": sseApi, "/api": { fetch: tenantApi } },
		defaultHandler,
		authorizeEndpoint: "/authorize",
		tokenEndpoint: "/token",
		clientRegistrationEndpoint: "/register",
		scopesSupported: [...SCOPES],
		accessTokenTTL: 3600,
		refreshTokenTTL: 30 * 24 * 3600,
		clientRegistrationTTL: CLIENT_REGISTRATION_TTL_SECONDS,
		clientIdMetadataDocumentEnabled: true,
		// RFC 8707 / RFC 9728: the resource is the deployment origin, covering /mcp and /sse.
		resourceMetadata: { resource: config.origin, resource_name: "SMCP" },
		onError: ({ code, status, internal }) => {
			log(status >= 500 ? "error" : "info", "oauth.error", { error_code: code, status, reason: internal?.reason });
		},
		// API keys: looked up by hash; bound to this deployment (the audience is our resource).
		resolveExternalToken: async ({ token, env }) => {
			const record = await new ApiKeyStore(env.DIRECTORY_KV).resolve(token);
			if (!record) return null;
			const props: ApiKeyProps = {
				kind: "api_key",
				tenantId: record.tenantId,
				userId: record.userId,
				keyId: record.keyId,
				scopes: record.scopes,
			};
			return { props, audience: config.origin };
		},
		// Token issued (code exchange) or refreshed: an auth event in the grant's tenant.
		// A refresh of a grant the tenant's kernel has as revoked fails and writes nothing back,
		// however stale this location's KV is (worker/oauth/grant-revocation.ts).
		tokenExchangeCallback: async ({ grantType, clientId, userId, grantId, props, env }) => {
			const tenantId = (props as { tenantId?: unknown } | undefined)?.tenantId;
			if (typeof tenantId !== "string") return;
			if (grantType === "refresh_token") await refuseRevokedRefresh(env, { tenantId, userId, clientId }, grantId);
			const method = grantType === "refresh_token" ? "auth/refresh" : "auth/token";
			await auditAuthEvent(env, { tenantId, userId, clientId }, method, "allowed", grantType);
		},
	});
	provider = { origin: config.origin, instance };
	return instance;
}

export default {
	async fetch(request: Request, env: Env, ctx: VerifiedCtx): Promise<Response> {
		configureLog(env);
		configurePages(env, (problem) => log("error", "pages.brand_invalid", { problem }));
		const started = Date.now();
		const trace = crypto.randomUUID();
		const url = new URL(request.url);
		let info: RequestInfo = { trace };
		let response: Response;
		// Per-IP limit before authentication: worker/edge/preauth.ts.
		const limiter = preAuthLimiter(env.PREAUTH_LIMITER);
		let hit: VerifiedAuth | null = null;
		try {
			const config = resolveConfig(env);
			const guarded = await guard(request, config);
			if ("stop" in guarded) {
				response = guarded.stop;
			} else if (!(await limiter.admit(guarded.request, (hit = await tokenCacheHit(guarded.request, env, url)) !== null))) {
				response = new Response(JSON.stringify({ error: "rate_limited" }), {
					status: 429,
					headers: { "Content-Type": "application/json", "Retry-After": "60" },
				});
			} else {
				info = begin(guarded.request, trace);
				const forward = () => {
					verifiedAt.set(guarded.request, generation());
					// A client registered and never used expires after a day (worker/oauth/client-expiry.ts).
					return oauthProvider(config).fetch(guarded.request, url.pathname === "/register" ? registrationEnv(env) : env, ctx);
				};
				const named = url.pathname === "/token" ? await grantNamedByTokenRequest(guarded.request) : null;
				let status: number | undefined;
				try {
					// A bearer no issued token can match is refused before any KV lookup (worker/oauth/identifiers.ts).
					const refused = isMcpPath(url.pathname)
						? malformedBearer(guarded.request, `${config.origin}/.well-known/oauth-protected-resource`)
						: null;
					// A client_id metadata URL is fetched at most so often per IP and per host (worker/oauth/cimd-limit.ts).
					const cimd =
						url.pathname === "/authorize" || url.pathname === "/token" ? await limitCimdFetch(guarded.request, url.pathname) : null;
					response =
						refused ??
						cimd ??
						(hit
							? await fromTokenCache(guarded.request, env, ctx, url, hit)
							: url.pathname === "/token"
								? await guardTokenRequest(guarded.request, env, forward)
								: await forward());
					status = response.status;
					await limiter.settle(guarded.request, hit !== null, response.status);
				} finally {
					// Also when the handler failed half-way: a revocation may already have happened.
					if (revokedSomething(request, url.pathname, status)) forgetAll();
					else if (named) forgetGrant(named);
				}
			}
		} catch (e) {
			log("error", "http.crash", { trace, error: e instanceof Error ? `${e.name}: ${e.message}` : "unknown" });
			response = new Response(JSON.stringify({ error: "server_error" }), { status: 500, headers: { "Content-Type": "application/json" } });
		}
		// Successful MCP traffic is a debug line: the audit trail has every call, and at the default
		// level steady traffic writes nothing (docs/operations.md §Logs). Everything else is info.
		const mcp = url.pathname === "/mcp" || url.pathname === "/sse" || url.pathname === "/sse/message";
		const level = response.status >= 500 ? "error" : mcp && response.status < 400 ? "debug" : "info";
		if (logEnabled(level)) {
			log(level, "http.request", {
				...info,
				http_method: request.method,
				path: url.pathname.slice(0, 64),
				status: response.status,
				ms: Date.now() - started,
			});
		}
		return response;
	},
};
