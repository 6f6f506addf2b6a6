/**
 * Hosted versus built-in tool calls (`npm run bench` runs this after its cells; alone:
 * `node bench/apps.mjs`). Runs bench/workerd/apps-perf.test.ts in workerd through the Vitest
 * plugin: the whole Worker path (bearer check, lane, kernel, isolate, audit row) for the example
 * converter app next to the built-in `read_graph`, interleaved rounds, plus the first call after
 * each of three deploys (a cold isolate). Prints the figures and writes bench/.build/apps.json.
 * About a minute; sequential calls, so it measures latency-bound throughput on one connection.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Runs the measurement and returns its figures, or null when it failed.
 * @returns {{ hostedCallsPerSec: number, builtInCallsPerSec: number, ratio: number, coldFirstCallMs: number[], rounds: number, callsPerRound: number } | null}
 */
export function runAppsBench() {
	const r = spawnSync("npx", ["vitest", "run", "--project", "workers", "bench/workerd/apps-perf.test.ts"], {
		cwd: ROOT,
		env: { ...process.env, SMCP_TEST_LOGS: "1", SMCP_BENCH: "1" },
		encoding: "utf8",
		maxBuffer: 64 * 1024 * 1024,
	});
	const line = `${r.stdout}\n${r.stderr}`.split("\n").find((l) => l.includes("SMCP_APPS_BENCH "));
	if (!line) return null;
	const figures = JSON.parse(line.slice(line.indexOf("SMCP_APPS_BENCH ") + "SMCP_APPS_BENCH ".length));
	mkdirSync(join(ROOT, "bench/.build"), { recursive: true });
	writeFileSync(join(ROOT, "bench/.build/apps.json"), JSON.stringify({ date: new Date().toISOString(), ...figures }, null, 1));
	return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const f = runAppsBench();
	if (!f) {
		console.error(
			"apps bench: no figures (run `SMCP_BENCH=1 npx vitest run --project workers bench/workerd/apps-perf.test.ts` to see why)",
		);
		process.exit(1);
	}
	console.log(
		`hosted ${f.hostedCallsPerSec} calls/s, built-in ${f.builtInCallsPerSec} calls/s: ${f.ratio}x (target >= 0.7x); first call after a deploy ${f.coldFirstCallMs.join(", ")} ms`,
	);
}
