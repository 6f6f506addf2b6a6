/**
 * @module objects/tenant/limits
 * The tenant's rate limits: token buckets per tenant and per (user, client, rate class), with
 * capacities and refill rates from configuration, stored in the TenantObject's SQLite storage.
 * The live-session cap is in session-cap.ts.
 * Called inside the kernel's transaction, so check-and-take is atomic per tenant.
 */
import { positive, takeAll, type BucketPolicy, type BucketState } from "../../shared/rate-limit";
import type { LimitsEnv } from "../../shared/env";
import { sessionTtlMs } from "../../shared/rpc/liveness";
import type { VerifiedPrincipal } from "../../shared/rpc/principal";

/** Resolved limits. */
export interface Limits {
	tenant: BucketPolicy;
	read: BucketPolicy;
	write: BucketPolicy;
	/** Every other audited request (lists, reads of the catalog, refusals): objects/tenant/budget.ts. */
	request: BucketPolicy;
	maxSessionsPerUser: number;
	maxSessionsPerClient: number;
	sessionTtlMs: number;
	retentionMs: number;
}

/** Defaults, also listed in the README's configuration table. */
export function resolveLimits(env: LimitsEnv): Limits {
	return {
		tenant: { capacity: positive(env.SMCP_RL_TENANT_CAPACITY, 600), refillPerSecond: positive(env.SMCP_RL_TENANT_REFILL_PER_SEC, 10) },
		read: { capacity: positive(env.SMCP_RL_READ_CAPACITY, 120), refillPerSecond: positive(env.SMCP_RL_READ_REFILL_PER_SEC, 2) },
		write: { capacity: positive(env.SMCP_RL_WRITE_CAPACITY, 60), refillPerSecond: positive(env.SMCP_RL_WRITE_REFILL_PER_SEC, 1) },
		request: {
			capacity: positive(env.SMCP_RL_REQUEST_CAPACITY, 120),
			refillPerSecond: positive(env.SMCP_RL_REQUEST_REFILL_PER_SEC, 2),
		},
		maxSessionsPerUser: Math.max(1, Math.floor(positive(env.SMCP_MAX_SESSIONS_PER_USER, 100))),
		maxSessionsPerClient: Math.max(1, Math.floor(positive(env.SMCP_MAX_SESSIONS_PER_CLIENT, 20))),
		sessionTtlMs: sessionTtlMs(env),
		retentionMs: positive(env.SMCP_AUDIT_RETENTION_DAYS, 90) * 86_400_000,
	};
}

/** Schema for buckets and the live-session registry (never edit: add a new migration). */
export const LIMITS_SCHEMA_V1 = `
CREATE TABLE buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE live_sessions (session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX live_sessions_user ON live_sessions (user_id, created_at);
`;

/** Most buckets kept in memory per kernel instance; past that the copy starts afresh. */
const MAX_CACHED_BUCKETS = 4096;

/**
 * Checks and takes from the tenant bucket and the caller's class bucket together. `cache` is the
 * kernel's in-memory copy of the buckets it has read or written (it is their only writer, so the
 * copy is exact; the kernel clears it when a transaction fails): a call reads SQLite only for a
 * bucket it has not seen, and writes both buckets in one statement every time.
 */
export function takeCallBudget(
	sql: SqlStorage,
	limits: Limits,
	p: VerifiedPrincipal,
	rateClass: "read" | "write" | "request",
	now: number,
	cache: Map<string, BucketState>,
): { allowed: boolean; retryAfterSeconds: number } {
	const keys = ["tenant", `${rateClass}|${p.userId}|${p.clientId}`] as const;
	const policies = [limits.tenant, limits[rateClass]];
	if (!cache.has(keys[0]) || !cache.has(keys[1])) {
		if (cache.size >= MAX_CACHED_BUCKETS) cache.clear();
		for (const r of sql.exec<{ key: string; tokens: number; updated_at: number }>(
			"SELECT key, tokens, updated_at FROM buckets WHERE key IN (?, ?)",
			...keys,
		)) {
			cache.set(r.key, { tokens: r.tokens, updatedAt: r.updated_at });
		}
	}
	const r = takeAll(
		keys.map((k, i) => ({ policy: policies[i]!, state: cache.get(k) ?? null })),
		now,
	);
	const [a, b] = r.next;
	sql.exec(
		"INSERT OR REPLACE INTO buckets (key, tokens, updated_at) VALUES (?, ?, ?), (?, ?, ?)",
		keys[0],
		a!.tokens,
		a!.updatedAt,
		keys[1],
		b!.tokens,
		b!.updatedAt,
	);
	cache.set(keys[0], a!);
	cache.set(keys[1], b!);
	return { allowed: r.allowed, retryAfterSeconds: r.retryAfterSeconds };
}

/** Single-use confirmations of destructive calls (2026-07-28 `requestState` nonces). */
export const CONFIRMATIONS_SCHEMA_V1 = `
CREATE TABLE used_confirmations (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
`;

/** API key metadata (never the key) and the tenant's own state (suspension). */
export const KEYS_SCHEMA_V1 = `
CREATE TABLE api_keys (
  key_id TEXT PRIMARY KEY, name TEXT NOT NULL, prefix TEXT NOT NULL, scopes TEXT NOT NULL, created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER
);
CREATE TABLE tenant_state (k TEXT PRIMARY KEY, v TEXT NOT NULL);
`;
