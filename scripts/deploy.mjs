#!/usr/bin/env node
/**
 * @module scripts/deploy
 * Deploys one environment of `wrangler.jsonc` (`staging` or `production`) after checking what a
 * deploy cannot check by itself: that the required secrets are set on that Worker (wrangler
 * deploys happily without them, and the Worker then answers 500 on every request) and that the
 * public origin is a real https origin. KV namespaces need no ids: wrangler creates them on the
 * first deploy.
 *
 *   npm run deploy:staging -- --origin https://smcp-staging.example.workers.dev
 *   npm run deploy -- --origin https://mcp.example.com
 *
 * `--origin` (or `SMCP_PUBLIC_ORIGIN` in the environment) becomes the deployment's
 * `SMCP_PUBLIC_ORIGIN`. Exits 1 with the commands to run when something is missing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

/** Secrets without which the Worker cannot serve a request. */
export const REQUIRED_SECRETS = ["SMCP_SECRET", "SMCP_SECRETS_KEY"];
/** Secrets a deployment usually wants; their absence is reported, not refused. */
export const ADVISED_SECRETS = ["SMCP_ADMIN_TOKEN"];

/**
 * The origin to deploy under, or the reason it is not one.
 *
 * @param {string | undefined} value
 * @returns {{ ok: true, origin: string } | { ok: false, problem: string }}
 */
export function checkOrigin(value) {
	if (!value) return { ok: false, problem: "pass --origin https://your.host (the URL clients will use), or set SMCP_PUBLIC_ORIGIN" };
	let url;
	try {
		url = new URL(value);
	} catch {
		return { ok: false, problem: `--origin ${value} is not a URL; use e.g. https://mcp.example.com` };
	}
	if (url.protocol !== "https:") return { ok: false, problem: `--origin must use https (got ${url.protocol})` };
	if (url.origin !== value.replace(/\/$/, ""))
		return { ok: false, problem: `--origin must be a bare origin such as ${url.origin} (no path)` };
	return { ok: true, origin: url.origin };
}

/**
 * The required secrets missing from `present`.
 *
 * @param {string[]} present
 */
export function missingSecrets(present) {
	return REQUIRED_SECRETS.filter((s) => !present.includes(s));
}

function secretsOf(env) {
	try {
		const out = execFileSync("npx", ["wrangler", "secret", "list", "--env", env, "--format", "json"], {
			encoding: "utf8",
			stdio: ["ignore", "pipe", "pipe"],
		});
		return /** @type {{ name: string }[]} */ (JSON.parse(out)).map((s) => s.name);
	} catch {
		return []; // no Worker yet (first deploy), or not logged in: the check below names the fix
	}
}

function main() {
	const { values, positionals } = parseArgs({ options: { origin: { type: "string" } }, allowPositionals: true });
	const env = positionals[0];
	if (env !== "staging" && env !== "production") {
		console.error("usage: node scripts/deploy.mjs staging|production --origin https://your.host");
		process.exit(2);
	}
	const origin = checkOrigin(values.origin ?? process.env.SMCP_PUBLIC_ORIGIN);
	if (!origin.ok) {
		console.error(`smcp deploy: ${origin.problem}`);
		process.exit(1);
	}
	const present = secretsOf(env);
	const missing = missingSecrets(present);
	if (missing.length) {
		console.error(`smcp deploy: the ${env} Worker lacks the secret(s) ${missing.join(", ")}; nothing was deployed. Set each once with:`);
		for (const s of missing) console.error(`  openssl rand -base64 48 | npx wrangler secret put ${s} --env ${env}`);
		console.error("(run `npx wrangler login` first if wrangler is not signed in)");
		process.exit(1);
	}
	for (const s of ADVISED_SECRETS.filter((x) => !present.includes(x)))
		console.error(`smcp deploy: note: ${s} is not set on ${env}, so the admin API (smcp CLI) is off there.`);
	const r = spawnSync("npx", ["wrangler", "deploy", "--env", env, "--var", `SMCP_PUBLIC_ORIGIN:${origin.origin}`], { stdio: "inherit" });
	process.exit(r.status ?? 1);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
