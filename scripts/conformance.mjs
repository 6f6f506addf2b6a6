#!/usr/bin/env node
/**
 * @module scripts/conformance
 * `npm run conformance`: the official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * pinned in package.json) against SMCP on loopback, as CI runs it.
 *
 * 1. `wrangler dev` on a free loopback port with `SMCP_CONFORMANCE=true` (the fixture pack,
 *    `shared/packs/conformance`) and fresh persisted state (test/e2e/wrangler.ts).
 * 2. A token through the real OAuth flow: registration, PKCE, sign-in and consent on SMCP's own
 *    page with the development account of `.dev.vars`, code exchange (test/support/oauth-flow.ts).
 * 3. A loopback proxy that adds the bearer and maps its Host/Origin to SMCP's
 *    (scripts/conformance/bearer-proxy.mjs).
 * 4. The suite's server scenarios per protocol revision the pinned suite knows (2025-11-25; the
 *    2026-07-28 run and the authorization-server suite start by themselves once a pinned version
 *    offers them), with `test/conformance/expected-failures.yml` as the baseline.
 *
 * Per-check results land in `test-results/conformance/` (`results.json`, the suite's own
 * `checks.json` per scenario, and its log per run). Exit 1 on any failure not in the baseline, a
 * stale baseline entry, any authorization warning, or a run that could not complete.
 *
 * Needs Node ≥ 22.18 (TypeScript type stripping for the two shared test helpers): run it through
 * `npm run conformance`, which puts the project's Node 22 first on PATH.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startBearerProxy } from "./conformance/bearer-proxy.mjs";
import { readResults, totals } from "./conformance/results.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(root, "test-results", "conformance");
const SUITE = join(root, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
const BASELINE = join(root, "test", "conformance", "expected-failures.yml");
/** The revisions SMCP serves on /mcp that a conformance suite may know, newest last. */
const REVISIONS = ["2025-11-25", "2026-07-28"];
/** One suite run may take this long before it is stopped (the whole step targets < 5 min). */
const RUN_TIMEOUT_MS = 180_000;

/**
 * The conformance configuration: the fixture pack on, and budgets sized for a suite that opens a
 * fresh session per scenario and never ends one (its SDK client does not send DELETE).
 */
const VARS = {
	SMCP_CONFORMANCE: "true",
	SMCP_MAX_SESSIONS_PER_USER: "500",
	SMCP_RL_READ_CAPACITY: "1000",
	SMCP_RL_READ_REFILL_PER_SEC: "100",
	SMCP_RL_TENANT_CAPACITY: "2000",
	SMCP_RL_TENANT_REFILL_PER_SEC: "100",
};

const say = (line) => console.log(`conformance: ${line}`);

/** The suite's version, from its package.json. */
function suiteVersion() {
	return JSON.parse(readFileSync(join(root, "node_modules", "@modelcontextprotocol", "conformance", "package.json"), "utf8")).version;
}

/** Runs the suite CLI synchronously (quick queries such as `list`, `--help`). */
function suiteQuery(args) {
	const r = spawnSync(process.execPath, [SUITE, ...args], { encoding: "utf8", timeout: 30_000 });
	return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** Whether the pinned suite has server scenarios for `revision` (an unknown revision exits 1). */
function suiteKnows(revision) {
	const r = suiteQuery(["list", "--server", "--spec-version", revision]);
	return r.status === 0 && /^\s+- /m.test(r.out);
}

/** The development account from the environment or `.dev.vars` (created by scripts/dev-vars.mjs). */
function devAccount() {
	const vars = existsSync(join(root, ".dev.vars")) ? readFileSync(join(root, ".dev.vars"), "utf8") : "";
	const read = (k) => process.env[k] ?? [...vars.matchAll(/^\s*([A-Z_]+)\s*=\s*"?([^"\n]*)"?\s*$/gm)].find((m) => m[1] === k)?.[2];
	const email = read("SMCP_DEV_EMAIL");
	const password = read("SMCP_DEV_PASSWORD");
	if (!email || !password) throw new Error("no development account: set SMCP_DEV_EMAIL and SMCP_DEV_PASSWORD in .dev.vars (npm run conformance creates it from .dev.vars.example)");
	return { email, password };
}

/** Runs the suite's server scenarios for one revision; its output goes to `<revision>.log`. */
function runServerSuite(revision, url) {
	const dir = join(OUT, revision);
	mkdirSync(dir, { recursive: true });
	const args = [SUITE, "server", "--url", url, "--spec-version", revision, "-o", dir];
	if (existsSync(BASELINE)) args.push("--expected-failures", BASELINE);
	const logFile = join(OUT, `${revision}.log`);
	return new Promise((resolve) => {
		const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
		let output = "";
		child.stdout.on("data", (d) => (output += d));
		child.stderr.on("data", (d) => (output += d));
		const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
		child.on("close", (code, signal) => {
			clearTimeout(timer);
			writeFileSync(logFile, output);
			resolve({ revision, exitCode: code, timedOut: signal === "SIGKILL", logFile, results: readResults(dir) });
		});
	});
}

/** Scenario names in the YAML baseline's `server:` list (one `- name` per line). */
function baselineScenarios() {
	if (!existsSync(BASELINE)) return new Set();
	const names = [];
	let inServer = false;
	for (const line of readFileSync(BASELINE, "utf8").split("\n")) {
		if (/^server:\s*(#.*)?$/.test(line)) inServer = true;
		else if (/^\S/.test(line) && !line.startsWith("#")) inServer = false;
		else if (inServer) {
			const m = /^\s+-\s+([\w./-]+)/.exec(line);
			if (m) names.push(m[1]);
		}
	}
	return new Set(names);
}

async function main() {
	const [major, minor] = process.versions.node.split(".").map(Number);
	if (major < 22 || (major === 22 && minor < 18)) throw new Error(`Node ${process.versions.node}: needs ≥ 22.18 (run it as npm run conformance)`);
	rmSync(OUT, { recursive: true, force: true });
	mkdirSync(OUT, { recursive: true });
	const version = suiteVersion();
	say(`suite @modelcontextprotocol/conformance ${version}`);

	const { startWrangler } = await import("../test/e2e/wrangler.ts");
	const { obtainTokens } = await import("../test/support/oauth-flow.ts");
	const persistDir = mkdtempSync(join(tmpdir(), "smcp-conformance-"));
	const started = Date.now();
	const dev = await startWrangler({ persistDir, vars: VARS });
	let proxy;
	const runs = [];
	try {
		say(`SMCP on ${dev.origin} (wrangler dev, SMCP_CONFORMANCE=true) after ${Math.round((Date.now() - started) / 1000)} s`);
		const tokens = await obtainTokens({ fetch, origin: dev.origin, ...devAccount() });
		say(`token obtained through the OAuth flow (client ${tokens.clientId.slice(0, 8)}…, scopes ${tokens.scope ?? "?"})`);
		proxy = await startBearerProxy({ target: dev.origin, token: tokens.access_token });
		for (const revision of REVISIONS) {
			if (!suiteKnows(revision)) {
				say(`${revision}: the pinned suite (${version}) has no server scenarios for this revision — not run`);
				continue;
			}
			say(`${revision}: running the active server suite against ${proxy.origin}/mcp …`);
			runs.push(await runServerSuite(revision, `${proxy.origin}/mcp`));
		}
	} finally {
		await proxy?.close();
		await dev.stop();
		rmSync(persistDir, { recursive: true, force: true });
	}

	// The suite's authorization-server checks: a separate command in the suites that have one.
	const hasAuthSuite = /^\s+authorization\b/m.test(suiteQuery(["--help"]).out);
	if (!hasAuthSuite) {
		say(`authorization: the pinned suite (${version}) has no authorization-server command (its auth/* scenarios test MCP clients against the suite's own mock server) — not run`);
	} else {
		say("authorization: the installed suite offers an authorization-server command, which this script does not drive yet: wire it up before upgrading the pin");
	}

	const expected = baselineScenarios();
	const summary = { suite: `@modelcontextprotocol/conformance@${version}`, runs: [], authorization: hasAuthSuite ? "not driven" : "not offered by the pinned suite" };
	let failed = hasAuthSuite;
	for (const run of runs) {
		const t = totals(run.results, expected);
		const problems = [];
		if (run.timedOut) problems.push(`timed out after ${RUN_TIMEOUT_MS / 1000} s`);
		if (run.results.length === 0) problems.push("no scenario results");
		if (t.unexpected.length) problems.push(`failed: ${t.unexpected.join(", ")}`);
		if (t.stale.length) problems.push(`passing but listed in the baseline (remove them): ${t.stale.join(", ")}`);
		if (run.exitCode !== 0 && problems.length === 0) problems.push(`suite exited ${run.exitCode} (see ${run.logFile})`);
		failed ||= problems.length > 0;
		summary.runs.push({ revision: run.revision, ...t, exitCode: run.exitCode, scenarios: run.results });
		for (const r of run.results) {
			const mark = r.failed > 0 ? (expected.has(r.scenario) ? "~" : "✗") : "✓";
			console.log(`  ${mark} ${r.scenario}: ${r.passed} passed, ${r.failed} failed${r.warnings ? `, ${r.warnings} warnings` : ""}`);
			for (const c of r.checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING")) console.log(`      ${c.status} ${c.id}: ${c.errorMessage ?? c.description ?? ""}`.slice(0, 300));
		}
		say(`${run.revision}: ${t.scenarios} scenarios${t.expectedFailed ? `, ${t.expectedFailed} failed checks in baseline scenarios` : ""}${problems.length ? ` — ${problems.join("; ")}` : ""}`);
		console.log(`Total (${run.revision}): ${t.passed} passed, ${t.failed} failed, ${t.warnings} warnings`);
	}
	writeFileSync(join(OUT, "results.json"), `${JSON.stringify(summary, null, 2)}\n`);
	say(`per-check results in ${join("test-results", "conformance", "results.json")}; ${failed ? "FAILED" : "passed"} in ${Math.round((Date.now() - started) / 1000)} s`);
	return failed ? 1 : 0;
}

main().then(
	(code) => process.exit(code),
	(e) => {
		console.error(`conformance: FAILED — ${e instanceof Error ? e.message : String(e)}`);
		process.exit(1);
	},
);
