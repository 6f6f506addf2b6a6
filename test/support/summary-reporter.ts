/**
 * @module test/support/summary-reporter
 * Prints one closing line, `Tests: N passed, M failed[, K skipped]`, after Vitest's own summary,
 * so CI (and a person skimming a log) reads the result from the last line. A file that failed as
 * a whole (it did not load, or a `beforeAll` threw so its tests were skipped) counts as a failure,
 * and the line says how many files failed so.
 */
import type { Reporter, TestModule } from "vitest/node";

/** Counts for the closing line. */
export function summarize(modules: ReadonlyArray<TestModule>, errors: number): string {
	let passed = 0;
	let failed = 0;
	let skipped = 0;
	let failedFiles = 0;
	for (const m of modules) {
		let testFailed = false;
		for (const t of m.children.allTests()) {
			const state = t.result().state;
			if (state === "passed") passed++;
			else if (state === "failed") {
				failed++;
				testFailed = true;
			} else skipped++;
		}
		// The file failed but none of its tests did: it failed to load or in a hook.
		if (m.state() === "failed" && !testFailed) failedFiles++;
	}
	failed += failedFiles + errors;
	const files = failedFiles ? ` (${failedFiles} file${failedFiles > 1 ? "s" : ""} failed before or around its tests)` : "";
	return `Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}${files}`;
}

export default class SummaryReporter implements Reporter {
	onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
		process.stdout.write(`\n${summarize(modules, errors.length)}\n`);
	}
}
