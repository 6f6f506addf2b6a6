/**
 * @module shared/env
 * The Worker's bindings and configuration. The bindings and the vars `wrangler.jsonc` lists are
 * generated from it by `npm run cf-typegen` (`worker-configuration.d.ts`, checked in CI); this
 * interface adds what the generated file cannot know: the settings that have a default in code
 * (optional here), the secrets (`wrangler secret put` / `.dev.vars`), and the Durable Object
 * namespaces typed by their RPC surfaces in `shared/rpc/`, so that nothing here names a class in
 * `objects/`. See the README's configuration table.
 */
import type { OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import type { TenantKernel } from "./rpc/kernel";
import type { SessionApi } from "./rpc/session";

/** Configuration (wrangler.jsonc vars) read by the kernel; every value has a documented default. */
export interface LimitsEnv {
	SMCP_RL_TENANT_CAPACITY?: string;
	SMCP_RL_TENANT_REFILL_PER_SEC?: string;
	SMCP_RL_READ_CAPACITY?: string;
	SMCP_RL_READ_REFILL_PER_SEC?: string;
	SMCP_RL_WRITE_CAPACITY?: string;
	SMCP_RL_WRITE_REFILL_PER_SEC?: string;
	SMCP_RL_REQUEST_CAPACITY?: string;
	SMCP_RL_REQUEST_REFILL_PER_SEC?: string;
	SMCP_MAX_SESSIONS_PER_USER?: string;
	SMCP_MAX_SESSIONS_PER_CLIENT?: string;
	SMCP_SESSION_TTL_SECONDS?: string;
	SMCP_AUDIT_RETENTION_DAYS?: string;
	/** Most unfinished tasks per tenant (default 100). */
	SMCP_MAX_LIVE_TASKS?: string;
	/** Most unfinished tasks per user (default 10). */
	SMCP_MAX_LIVE_TASKS_PER_USER?: string;
	/** How long a task and its result are kept, from its creation, in seconds (default 3600). */
	SMCP_TASK_TTL_SECONDS?: string;
}

/** Rate limits, the session cap and retention come from {@link LimitsEnv} (README "Configuration"). */
export interface Env extends Omit<Cloudflare.Env, keyof LimitsEnv | keyof Settings>, LimitsEnv, Settings {}

/** The settings and bindings typed here rather than by the generated file. */
interface Settings {
	SESSIONS: DurableObjectNamespace<SessionApi & Rpc.DurableObjectBranded>;
	TENANTS: DurableObjectNamespace<TenantKernel & Rpc.DurableObjectBranded>;
	/** Set by the OAuth provider for the default handler. */
	OAUTH_PROVIDER: OAuthHelpers;

	/** Extra allowed `Origin` values (comma-separated origins), for browser-based clients. */
	SMCP_ALLOWED_ORIGINS?: string;
	/** Maximum request body in bytes (default 4 MiB). */
	SMCP_MAX_BODY_BYTES?: string;
	/** Idle session lifetime in seconds (default 86400). */
	SMCP_SESSION_TTL_SECONDS?: string;
	/** Log level: debug, info (default), warn, error. */
	SMCP_LOG_LEVEL?: string;
	/** "true" drops the audit row of allowed tool calls: for `npm run bench` only, never in production. */
	SMCP_BENCH_NO_AUDIT?: string;
	/** How long a verified bearer token is remembered per isolate (default 10, 0 = off, max 60). */
	SMCP_TOKEN_CACHE_SECONDS?: string;

	/** Secret (≥ 32 chars): MACs session ids and signs consent state. */
	SMCP_SECRET?: string;
	/** Secret (≥ 32 chars) guarding the operator's admin API; unset = no admin API. */
	SMCP_ADMIN_TOKEN?: string;
	/** Workers Rate Limiting binding: per-IP limit before authentication. */
	PREAUTH_LIMITER?: RateLimit;
	/** `"true"` serves the MCP conformance-suite fixtures (`shared/catalog/packs/conformance`); default off. */
	SMCP_CONFORMANCE?: string;
	/** The operator's name on SMCP's pages (default "SMCP"). */
	SMCP_BRAND_NAME?: string;
	/** Accent colour of the pages, `#rgb` or `#rrggbb`. */
	SMCP_BRAND_ACCENT?: string;
	/** Logo on the pages: a path on this origin or a `data:image/…;base64` URL. */
	SMCP_BRAND_LOGO_URL?: string;
	/** Upstream sign-in (README "Upstream sign-in (OIDC)"): the OpenID provider's issuer URL; unset = off. */
	SMCP_OIDC_ISSUER?: string;
	/** SMCP's client id at that provider. */
	SMCP_OIDC_CLIENT_ID?: string;
	/** Secret: SMCP's client secret at that provider. */
	SMCP_OIDC_CLIENT_SECRET?: string;
	/** The button label on the consent page (default "Single sign-on"). */
	SMCP_OIDC_NAME?: string;
	/** Comma-separated email domains allowed to sign in upstream; empty = any verified email. */
	SMCP_OIDC_ALLOWED_DOMAINS?: string;
	/** Development only (`.dev.vars`): the seeded local account. */
	SMCP_DEV_EMAIL?: string;
	SMCP_DEV_PASSWORD?: string;
}
