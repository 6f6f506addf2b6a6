/**
 * @module worker/env
 * The Worker's bindings and configuration, as declared in `wrangler.jsonc` (vars) and set with
 * `wrangler secret put` / `.dev.vars` (secrets). See the README's configuration table.
 */
import type { OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import type { SessionObject } from "../objects/session/session-object";
import type { LimitsEnv } from "../objects/tenant/limits";
import type { TenantObject } from "../objects/tenant/tenant-object";

/** Rate limits, the session cap and retention come from {@link LimitsEnv} (README "Configuration"). */
export interface Env extends LimitsEnv {
	/** OAuth provider storage (clients, grants, hashed tokens). */
	OAUTH_KV: KVNamespace;
	/** Local accounts: email → PBKDF2 hash, user → tenants. */
	DIRECTORY_KV: KVNamespace;
	SESSIONS: DurableObjectNamespace<SessionObject>;
	TENANTS: DurableObjectNamespace<TenantObject>;
	/** Set by the OAuth provider for the default handler. */
	OAUTH_PROVIDER: OAuthHelpers;

	/** The deployment's public origin, e.g. `https://mcp.example.com`. Also the OAuth resource. */
	SMCP_PUBLIC_ORIGIN: string;
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
	/** `"true"` serves the MCP conformance-suite fixtures (`shared/packs/conformance`); default off. */
	SMCP_CONFORMANCE?: string;
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
