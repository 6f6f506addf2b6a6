/**
 * @module test/support/summary-reporter
 * Prints one closing line, `Tests: N passed, M failed[, K skipped]`, after Vitest's own summary,
 * so CI (and a person skimming a log) reads the result from the last line.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
	onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
		let passed = 0;
		let failed = 0;
		let skipped = 0;
		for (const m of modules) {
			if (m.state() === "failed" && [...m.children.allTests()].length === 0) failed++; // a file that failed to load
			for (const t of m.children.allTests()) {
				const state = t.result().state;
				if (state === "passed") passed++;
				else if (state === "failed") failed++;
				else skipped++;
			}
		}
		failed += errors.length;
		process.stdout.write(`\nTests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
	}
}
