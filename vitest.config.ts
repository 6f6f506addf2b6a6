/**
 * Three test tiers (colocated unit tests, workerd integration tests, end-to-end tests against wrangler dev): colocated unit tests in Node, integration tests inside workerd
 * through the Workers Vitest plugin, and end-to-end tests that drive real MCP clients against
 * `wrangler dev` on loopback.
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { bundleAppDir } from "./shared/apps/bundler.node";

/** The example apps, bundled as `smcp apps deploy` bundles them, for the hosted-app integration tests (workerd has no esbuild). */
async function exampleBundles(): Promise<string> {
	const out: Record<string, unknown> = {};
	for (const app of ["unit-converter", "weather-proxy"]) {
		const r = await bundleAppDir(`examples/${app}`);
		if (r.ok) out[app] = r.bundle;
	}
	return JSON.stringify(out);
}

/** Secrets for the test runtime only (never a deployment's). */
const TEST_BINDINGS = {
	SMCP_SECRET: "test-secret-0123456789abcdef0123456789abcdef",
	SMCP_ADMIN_TOKEN: "test-admin-token-0123456789abcdef0123456789",
	SMCP_SECRETS_KEY: "test-secrets-key-0123456789abcdef0123456789abcdef",
	// Small write budget and session cap so the limit tests stay short; reads stay generous.
	SMCP_RL_WRITE_CAPACITY: "8",
	SMCP_RL_WRITE_REFILL_PER_SEC: "4",
	SMCP_MAX_SESSIONS_PER_USER: "6",
	SMCP_MAX_SESSIONS_PER_CLIENT: "5",
	// Every line is written (the log tests check what they contain); the default is "info".
	SMCP_LOG_LEVEL: "debug",
	SMCP_DEV_EMAIL: "dev@smcp.local",
	SMCP_DEV_PASSWORD: "smcp-dev-password",
	// Opt-in: `SMCP_TEST_AUDIT_ROWS=1000000` measures audit verify on a million rows (attacks-expensive.test.ts).
	SMCP_TEST_AUDIT_ROWS: process.env.SMCP_TEST_AUDIT_ROWS ?? "",
};

/** Structured logs are noise in test output; `SMCP_TEST_LOGS=1` shows them. */
const quiet = () => (process.env.SMCP_TEST_LOGS ? undefined : false);

export default defineConfig({
	test: {
		onConsoleLog: quiet,
		reporters: ["default", "./test/support/summary-reporter.ts"],
		projects: [
			{
				test: {
					name: "unit",
					environment: "node",
					include: ["shared/**/*.test.ts", "worker/**/*.test.ts", "objects/**/*.test.ts", "scripts/**/*.test.ts"],
				},
			},
			{
				plugins: [
					cloudflareTest({
						wrangler: { configPath: "./wrangler.jsonc" },
						miniflare: {
							bindings: { ...TEST_BINDINGS, TEST_APP_BUNDLES: await exampleBundles() },
							// The pre-auth limit is exercised end to end; here every test shares one "IP".
							ratelimits: { PREAUTH_LIMITER: { namespace_id: "1001", simple: { limit: 100_000, period: 60 } } },
						},
					}),
				],
				test: {
					name: "workers",
					// `npm run bench` adds the timed scenarios in bench/workerd (SMCP_BENCH=1); `npm test` never runs them.
					include: ["test/integration/**/*.test.ts", ...(process.env.SMCP_BENCH === "1" ? ["bench/workerd/**/*.test.ts"] : [])],
				},
			},
			{
				test: {
					name: "e2e",
					environment: "node",
					include: ["test/e2e/**/*.test.ts"],
					globalSetup: ["test/e2e/global-setup.ts"],
					testTimeout: 60_000,
					hookTimeout: 120_000,
					fileParallelism: false,
				},
			},
		],
	},
});
