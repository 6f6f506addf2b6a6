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
import { ApiKeyStore } from "./identity/api-keys";
import type { ApiKeyProps } from "./oauth/principal";
import { auditAuthEvent } from "./oauth/auth-events";
import { handleMcp, handleSse } from "./mcp/routes";
import { begin, traceOf, type RequestInfo } from "./edge/request-log";
import { guardTokenRequest } from "./oauth/token-guard";
import { bearerOf, cacheKey, forgetAll, generation, lookup, remember, ttlMs, type VerifiedAuth } from "./edge/token-cache";

export { SessionObject } from "../objects/session/session-object";
export { TenantObject } from "../objects/tenant/tenant-object";

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
				remember(await cacheKey(new URL(request.url).origin, token), { props: ctx.props, auth: ctx.auth }, ttl, since);
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
 * provider's CORS handling); anything else, or a miss, returns null.
 */
async function fromTokenCache(request: Request, env: Env, ctx: VerifiedCtx, url: URL): Promise<Response | null> {
	const path = url.pathname;
	const handle = path === "/mcp" ? handleMcp : path === "/sse" || path === "/sse/message" ? handleSse : null;
	if (!handle || request.method === "OPTIONS" || request.headers.has("Origin") || ttlMs(env) === 0) return null;
	const token = bearerOf(request);
	if (!token) return null;
	const hit = lookup(await cacheKey(url.origin, token), token);
	if (!hit) return null;
	// The same two fields the provider sets after its own check (handleApiRequest).
	Object.assign(ctx, hit);
	return handle(request, env, ctx, traceOf(request));
}

/** Requests that may change who is authorised: the cache is emptied after them (this isolate). */
const changesAuthorization = (request: Request, path: string) =>
	request.method !== "GET" &&
	request.method !== "HEAD" &&
	(path === "/token" || path.startsWith("/admin/") || path === "/account" || path.startsWith("/account/"));

const defaultHandler = {
	async fetch(request: Request, env: Env): Promise<Response> {
		const url = new URL(request.url);
		// Pages, sign-in (OIDC included) and the admin API are loaded on first use, not at start-up.
		if (url.pathname === "/authorize") return (await import("./oauth/authorize")).handleAuthorize(request, env);
		if (url.pathname === "/oidc/callback") return (await import("./identity/oidc/flow")).handleOidcCallback(request, env);
		if (url.pathname.startsWith("/admin/")) return (await import("./admin/routes")).handleAdmin(request, env, traceOf(request));
		if (url.pathname === "/account" || url.pathname.startsWith("/account/"))
			return (await import("./account/routes")).handleAccount(request, env);
		if (url.pathname === "/healthz") return Response.json({ ok: true });
		if (url.pathname === "/" && request.method === "GET") {
			return new Response(`SMCP is running. Connect an MCP client to ${url.origin}/mcp (or ${url.origin}/sse).\n`, {
				headers: { "Content-Type": "text/plain; charset=utf-8" },
			});
		}
		return new Response("Not Found", { status: 404 });
	},
};

let provider: { origin: string; instance: OAuthProvider<Env> } | undefined;

/** The OAuth provider for this deployment's origin, built once per isolate. */
function oauthProvider(config: Config): OAuthProvider<Env> {
	if (provider?.origin === config.origin) return provider.instance;
	const instance = new OAuthProvider<Env>({
		apiHandlers: { "/mcp": mcpApi, "/sse": sseApi },
		defaultHandler,
		authorizeEndpoint: "/authorize",
		tokenEndpoint: "/token",
		clientRegistrationEndpoint: "/register",
		scopesSupported: [...SCOPES],
		accessTokenTTL: 3600,
		refreshTokenTTL: 30 * 24 * 3600,
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
		tokenExchangeCallback: async ({ grantType, clientId, userId, props, env }) => {
			const tenantId = (props as { tenantId?: unknown } | undefined)?.tenantId;
			if (typeof tenantId !== "string") return;
			const method = grantType === "refresh_token" ? "auth/refresh" : "auth/token";
			await auditAuthEvent(env, { tenantId, userId, clientId }, method, "allowed", grantType);
		},
	});
	provider = { origin: config.origin, instance };
	return instance;
}

/**
 * Per-IP limit before authentication (Workers Rate Limiting binding): requests without a bearer
 * token and every OAuth endpoint. Authenticated MCP traffic is limited per tenant in the kernel.
 * Unauthenticated floods are answered here and never reach a Durable Object.
 */
async function preAuthAllowed(request: Request, env: Env): Promise<boolean> {
	if (!env.PREAUTH_LIMITER) return true;
	const path = new URL(request.url).pathname;
	// Only bearer-authenticated MCP traffic skips this limit (it is limited per tenant in the
	// kernel). Everything else — sign-in forms, the account page, OAuth endpoints, the admin API,
	// and any request with some other Authorization header — counts against the client's IP.
	const mcp = path === "/mcp" || path === "/sse" || path === "/sse/message";
	if (mcp && /^Bearer\s+\S/i.test(request.headers.get("Authorization") ?? "")) return true;
	const ip = request.headers.get("CF-Connecting-IP") ?? "unknown";
	const { success } = await env.PREAUTH_LIMITER.limit({ key: `ip:${ip}` });
	if (!success) log("warn", "http.preauth_limited", { path: path.slice(0, 64) });
	return success;
}

export default {
	async fetch(request: Request, env: Env, ctx: VerifiedCtx): Promise<Response> {
		configureLog(env);
		const started = Date.now();
		const trace = crypto.randomUUID();
		const url = new URL(request.url);
		let info: RequestInfo = { trace };
		let response: Response;
		try {
			const config = resolveConfig(env);
			const guarded = await guard(request, config);
			if ("stop" in guarded) {
				response = guarded.stop;
			} else if (!(await preAuthAllowed(guarded.request, env))) {
				response = new Response(JSON.stringify({ error: "rate_limited" }), {
					status: 429,
					headers: { "Content-Type": "application/json", "Retry-After": "60" },
				});
			} else {
				info = begin(guarded.request, trace);
				const forward = () => {
					verifiedAt.set(guarded.request, generation());
					return oauthProvider(config).fetch(guarded.request, env, ctx);
				};
				try {
					const cached = await fromTokenCache(guarded.request, env, ctx, url);
					response = cached ?? (url.pathname === "/token" ? await guardTokenRequest(guarded.request, env, forward) : await forward());
				} finally {
					// Also when the handler failed half-way: a revocation may already have happened.
					if (changesAuthorization(request, url.pathname)) forgetAll();
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
