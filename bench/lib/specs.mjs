/**
 * @module bench/lib/specs
 * The three servers of the benchmark and the settings SMCP runs with while measured.
 */

export const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
const SECRET = `bench-only-secret-${crypto.randomUUID()}`;
const HIGH = "1000000000";

/**
 * Raised for the benchmark only (wrangler.jsonc keeps the real defaults). The point is to measure
 * the cost of the full path, the rate-limit check and the audit row included, not to be refused.
 */
export const BENCH_LIMITS = {
	SMCP_RL_TENANT_CAPACITY: HIGH,
	SMCP_RL_TENANT_REFILL_PER_SEC: HIGH,
	SMCP_RL_READ_CAPACITY: HIGH,
	SMCP_RL_READ_REFILL_PER_SEC: HIGH,
	SMCP_RL_WRITE_CAPACITY: HIGH,
	SMCP_RL_WRITE_REFILL_PER_SEC: HIGH,
	SMCP_RL_REQUEST_CAPACITY: HIGH,
	SMCP_RL_REQUEST_REFILL_PER_SEC: HIGH,
	SMCP_MAX_SESSIONS_PER_USER: "10000000",
	SMCP_MAX_SESSIONS_PER_CLIENT: "10000000",
};

/** @type {import("./servers.mjs").ServerSpec[]} */
export const SPECS = [
	{ key: "static", config: "bench/fixtures/static-oauth/wrangler.jsonc", vars: (origin) => ({ BENCH_ORIGIN: origin }) },
	{ key: "agent", config: "bench/fixtures/mcp-agent/wrangler.jsonc", vars: (origin) => ({ BENCH_ORIGIN: origin }) },
	{
		key: "smcp",
		config: "wrangler.jsonc",
		// The pre-auth per-IP limit (Workers Rate Limiting binding) only sees the OAuth flows here.
		ratelimit: 1_000_000,
		vars: (origin) => ({
			SMCP_PUBLIC_ORIGIN: origin,
			SMCP_SECRET: SECRET,
			SMCP_DEV_EMAIL: DEV.email,
			SMCP_DEV_PASSWORD: DEV.password,
			...BENCH_LIMITS,
			SMCP_BENCH_NO_AUDIT: NO_AUDIT_TENANT,
		}),
	},
];

/** A tenant id as SMCP mints them (`t_` and 32 hex digits). */
export const newTenantId = () =>
	`t_${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")}`;

/**
 * The tenant whose allowed tool calls SMCP does not audit while benchmarked (`SMCP_BENCH_NO_AUDIT`
 * names it): the audit cell's "without the row" side, a tenant of the same process as the audited
 * one, so that the two differ only by the row (two processes differed by about 4 % with no
 * difference between them at all: an A/A run, docs/performance.md).
 */
export const NO_AUDIT_TENANT = newTenantId();
