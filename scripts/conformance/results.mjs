/**
 * @module scripts/conformance/results
 * Reads the per-scenario `checks.json` files the official suite writes (`-o DIR` →
 * `DIR/server-<scenario>-<timestamp>/checks.json`) and sums them up: per scenario and in total,
 * passed (SUCCESS), failed (FAILURE) and warnings (WARNING); INFO checks are kept but not counted,
 * as the suite itself does.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

/**
 * @typedef {{ id: string; name: string; status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | string; description?: string; errorMessage?: string }} Check
 * @typedef {{ scenario: string; passed: number; failed: number; warnings: number; checks: Check[] }} ScenarioResult
 */

/**
 * The results in `dir`, one entry per scenario (the newest run of each), sorted by name.
 *
 * @param {string} dir the suite's output directory
 * @param {string} kind the suite's directory prefix (`server`, `authorization-server`)
 * @returns {ScenarioResult[]}
 */
export function readResults(dir, kind = "server") {
	if (!existsSync(dir)) return [];
	/** @type {Map<string, { stamp: string; checks: Check[] }>} */
	const newest = new Map();
	const pattern = new RegExp(`^${kind}-(.+)-(\\d{4}-\\d{2}-\\d{2}T[\\d-]+Z)$`);
	for (const entry of readdirSync(dir)) {
		const m = pattern.exec(entry);
		const file = join(dir, entry, "checks.json");
		if (!m || !existsSync(file)) continue;
		const [, scenario, stamp] = m;
		if ((newest.get(scenario)?.stamp ?? "") > stamp) continue;
		newest.set(scenario, { stamp, checks: JSON.parse(readFileSync(file, "utf8")) });
	}
	return [...newest]
		.map(([scenario, { checks }]) => ({
			scenario,
			passed: checks.filter((c) => c.status === "SUCCESS").length,
			failed: checks.filter((c) => c.status === "FAILURE").length,
			warnings: checks.filter((c) => c.status === "WARNING").length,
			checks,
		}))
		.sort((a, b) => a.scenario.localeCompare(b.scenario));
}

/**
 * Totals over scenarios, counting failures the baseline expects apart. A baseline entry is a
 * scenario (every check of it may fail) or `<scenario>:<check-id>` (that check may fail), as in
 * the suite's `--expected-failures` format.
 *
 * @param {ScenarioResult[]} results
 * @param {ReadonlySet<string>} expected the baseline's entries
 */
export function totals(results, expected = new Set()) {
	const sum = {
		scenarios: results.length,
		passed: 0,
		failed: 0,
		warnings: 0,
		expectedFailed: 0,
		unexpected: /** @type {string[]} */ ([]),
		stale: /** @type {string[]} */ ([]),
	};
	for (const r of results) {
		sum.passed += r.passed;
		sum.warnings += r.warnings;
		const whole = expected.has(r.scenario);
		const failing = r.checks.filter((c) => c.status === "FAILURE");
		const excused = failing.filter((c) => whole || expected.has(`${r.scenario}:${c.id}`));
		sum.expectedFailed += excused.length;
		sum.failed += failing.length - excused.length;
		if (failing.length > excused.length) sum.unexpected.push(r.scenario);
		if (whole && failing.length === 0 && r.warnings === 0) sum.stale.push(r.scenario);
		// A per-check entry is stale once that check passes (absent or skipped is tolerated).
		const passing = new Set(r.checks.filter((c) => c.status === "SUCCESS").map((c) => c.id));
		for (const id of passing)
			if (expected.has(`${r.scenario}:${id}`) && !failing.some((c) => c.id === id)) sum.stale.push(`${r.scenario}:${id}`);
	}
	return sum;
}
