#!/usr/bin/env node
/**
 * @module scripts/conformance
 * `npm run conformance`: the official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * pinned in package.json) against SMCP on loopback, as CI runs it.
 *
 * 1. `wrangler dev` on a free loopback port with `SMCP_CONFORMANCE=true` (the fixture pack,
 *    `shared/catalog/packs/conformance`) and fresh persisted state (test/e2e/wrangler.ts).
 * 2. A token through the real OAuth flow: registration, PKCE, sign-in and consent on SMCP's own
 *    page with the development account of `.dev.vars`, code exchange (test/support/oauth-flow.ts).
 * 3. A loopback proxy that adds the bearer and maps its Host/Origin to SMCP's
 *    (scripts/conformance/bearer-proxy.mjs).
 * 4. The suite's server scenarios per protocol revision, exactly as the revision's frozen
 *    requirement set names them (`--requirements 2025-11-25`, `--requirements 2026-07-28`: each at
 *    its own wire, stateful initialize or per-request `_meta`), with
 *    `test/conformance/expected-failures.yml` as the baseline.
 * 5. The suite's authorization-server scenarios against SMCP's own authorization server, the
 *    person's sign-in and consent played headlessly (scripts/conformance/authorization.mjs).
 *
 * Per-check results land in `test-results/conformance/` (`results.json`, the suite's own
 * `checks.json` per scenario, and its log per run). Exit 1 on any failure not in the baseline, a
 * stale baseline entry, any authorization failure or warning, or a run that could not complete.
 *
 * Needs Node ≥ 22.18 (TypeScript type stripping for the shared test helpers): run it through
 * `npm run conformance`, which puts the project's Node 22 first on PATH.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runAuthorizationSuite } from "./conformance/authorization.mjs";
import { startBearerProxy } from "./conformance/bearer-proxy.mjs";
import { readResults, totals } from "./conformance/results.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(root, "test-results", "conformance");
const SUITE = join(root, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
const BASELINE = join(root, "test", "conformance", "expected-failures.yml");
/** The revisions SMCP serves on /mcp that the suite has requirement sets for, oldest first. */
const REVISIONS = ["2025-11-25", "2026-07-28"];
/** One server run may take this long before it is stopped (the whole step targets < 5 min). */
const RUN_TIMEOUT_MS = 120_000;
/** The authorization run (metadata, then one headless sign-in and code exchange). */
const AUTH_TIMEOUT_MS = 60_000;

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
	// The Tasks scenarios start tasks in parallel and leave some to run out.
	SMCP_MAX_LIVE_TASKS_PER_USER: "200",
	SMCP_MAX_LIVE_TASKS: "500",
};

const say = (line) => console.log(`conformance: ${line}`);

/** The suite's version, from its package.json. */
function suiteVersion() {
	return JSON.parse(readFileSync(join(root, "node_modules", "@modelcontextprotocol", "conformance", "package.json"), "utf8")).version;
}

/** Whether the pinned suite has a requirement set for `revision` (an unknown one exits non-zero). */
function hasRequirements(revision) {
	const r = spawnSync(process.execPath, [SUITE, "list", "--requirements", revision, "--server"], { encoding: "utf8", timeout: 30_000 });
	return r.status === 0 && /^\s+- /m.test(r.stdout ?? "");
}

/** The development account from the environment or `.dev.vars` (created by scripts/dev-vars.mjs). */
function devAccount() {
	const vars = existsSync(join(root, ".dev.vars")) ? readFileSync(join(root, ".dev.vars"), "utf8") : "";
	const read = (k) => process.env[k] ?? [...vars.matchAll(/^\s*([A-Z_]+)\s*=\s*"?([^"\n]*)"?\s*$/gm)].find((m) => m[1] === k)?.[2];
	const email = read("SMCP_DEV_EMAIL");
	const password = read("SMCP_DEV_PASSWORD");
	if (!email || !password)
		throw new Error(
			"no development account: set SMCP_DEV_EMAIL and SMCP_DEV_PASSWORD in .dev.vars (npm run conformance creates it from .dev.vars.example)",
		);
	return { email, password };
}

/** Runs the server scenarios a revision requires; the suite's output goes to `<revision>.log`. */
function runServerSuite(revision, url) {
	const dir = join(OUT, revision);
	mkdirSync(dir, { recursive: true });
	const args = [SUITE, "server", "--url", url, "--requirements", revision, "-o", dir];
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

/** The entries of the YAML baseline's `server:` list (`scenario` or `scenario:check-id`, one per line). */
function baselineEntries() {
	if (!existsSync(BASELINE)) return new Set();
	const names = [];
	let inServer = false;
	for (const line of readFileSync(BASELINE, "utf8").split("\n")) {
		if (/^server:\s*(#.*)?$/.test(line)) inServer = true;
		else if (/^\S/.test(line) && !line.startsWith("#")) inServer = false;
		else if (inServer) {
			const m = /^\s+-\s+([^\s#]+)/.exec(line);
			if (m) names.push(m[1]);
		}
	}
	return new Set(names);
}

/** Prints one line per scenario, and every failed or warning check under it. */
function printScenarios(results, expected) {
	for (const r of results) {
		const mark = r.failed > 0 ? (expected.has(r.scenario) ? "~" : "✗") : r.warnings > 0 ? "!" : "✓";
		console.log(`  ${mark} ${r.scenario}: ${r.passed} passed, ${r.failed} failed${r.warnings ? `, ${r.warnings} warnings` : ""}`);
		// A baselined scenario's checks are in results.json; the others are worth reading here.
		if (expected.has(r.scenario)) continue;
		for (const c of r.checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING"))
			console.log(`      ${c.status} ${c.id}: ${c.errorMessage ?? c.description ?? ""}`.slice(0, 300));
	}
}

async function main() {
	const [major, minor] = process.versions.node.split(".").map(Number);
	if (major < 22 || (major === 22 && minor < 18))
		throw new Error(`Node ${process.versions.node}: needs ≥ 22.18 (run it as npm run conformance)`);
	rmSync(OUT, { recursive: true, force: true });
	mkdirSync(OUT, { recursive: true });
	const version = suiteVersion();
	say(`suite @modelcontextprotocol/conformance ${version}`);
	const missing = REVISIONS.filter((r) => !hasRequirements(r));
	if (missing.length)
		throw new Error(
			`the pinned suite (${version}) has no requirement set for ${missing.join(", ")}: pin a suite that has (npx conformance list --requirements <revision>)`,
		);

	const { startWrangler, freePort } = await import("../test/e2e/wrangler.ts");
	const oauth = await import("../test/support/oauth-flow.ts");
	const person = devAccount();
	const persistDir = mkdtempSync(join(tmpdir(), "smcp-conformance-"));
	const started = Date.now();
	const dev = await startWrangler({ persistDir, vars: VARS });
	let proxy;
	const runs = [];
	let auth;
	try {
		say(`SMCP on ${dev.origin} (wrangler dev, SMCP_CONFORMANCE=true) after ${Math.round((Date.now() - started) / 1000)} s`);
		const tokens = await oauth.obtainTokens({ fetch, origin: dev.origin, ...person });
		say(`token obtained through the OAuth flow (client ${tokens.clientId.slice(0, 8)}…, scopes ${tokens.scope ?? "?"})`);
		proxy = await startBearerProxy({ target: dev.origin, token: tokens.access_token });
		for (const revision of REVISIONS) {
			say(`${revision}: running the scenarios the revision requires (--requirements ${revision}) against ${proxy.origin}/mcp …`);
			runs.push(await runServerSuite(revision, `${proxy.origin}/mcp`));
		}
		say(
			`authorization: running the authorization-server scenarios against ${dev.origin} (client registered through /register, consent played headlessly) …`,
		);
		auth = await runAuthorizationSuite({
			suite: SUITE,
			origin: dev.origin,
			person,
			outDir: join(OUT, "authorization"),
			timeoutMs: AUTH_TIMEOUT_MS,
			port: await freePort(),
			oauth,
		});
		writeFileSync(join(OUT, "authorization.log"), auth.output);
	} finally {
		await proxy?.close();
		await dev.stop();
		rmSync(persistDir, { recursive: true, force: true });
	}

	const expected = baselineEntries();
	const summary = { suite: `@modelcontextprotocol/conformance@${version}`, runs: [], authorization: undefined };
	let failed = false;
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
		printScenarios(run.results, expected);
		say(
			`${run.revision}: ${t.scenarios} scenarios${t.expectedFailed ? `; ${t.expectedFailed} failed checks in baselined scenarios (expected-failures.yml)` : ""}${problems.length ? ` — ${problems.join("; ")}` : ""}`,
		);
		console.log(`Total (${run.revision}): ${t.passed} passed, ${t.failed} failed, ${t.warnings} warnings`);
	}

	// Authorization: no baseline; any failure or warning fails the run.
	const a = totals(auth?.results ?? []);
	const authProblems = [];
	if (!auth) authProblems.push("not run");
	else {
		if (auth.stopped) authProblems.push(auth.stopped);
		if (auth.results.length === 0) authProblems.push("no scenario results");
		if (a.failed) authProblems.push(`failed: ${a.unexpected.join(", ")}`);
		if (a.warnings) authProblems.push(`${a.warnings} warnings`);
		if (auth.exitCode !== 0 && authProblems.length === 0) authProblems.push(`suite exited ${auth.exitCode} (see authorization.log)`);
		printScenarios(auth.results, new Set());
	}
	failed ||= authProblems.length > 0;
	summary.authorization = { ...a, consent: auth?.consent, exitCode: auth?.exitCode, scenarios: auth?.results ?? [] };
	say(
		`authorization: ${a.scenarios} scenarios; consent: ${auth?.consent ?? "-"}${authProblems.length ? ` — ${authProblems.join("; ")}` : ""}`,
	);
	console.log(`Total (authorization): ${a.passed} passed, ${a.failed} failed, ${a.warnings} warnings`);

	writeFileSync(join(OUT, "results.json"), `${JSON.stringify(summary, null, 2)}\n`);
	say(
		`per-check results in ${join("test-results", "conformance", "results.json")}; ${failed ? "FAILED" : "passed"} in ${Math.round((Date.now() - started) / 1000)} s`,
	);
	return failed ? 1 : 0;
}

main().then(
	(code) => process.exit(code),
	(e) => {
		console.error(`conformance: FAILED — ${e instanceof Error ? e.message : String(e)}`);
		process.exit(1);
	},
);
