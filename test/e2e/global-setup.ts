/**
 * @module test/e2e/global-setup
 * Runs once before the end-to-end tests: names, in one line at the start of the run, a missing
 * browser (the browser suite then fails, and the summary counts it), instead of leaving it to a
 * stack trace in the middle of the output.
 */
import { existsSync } from "node:fs";

export default async function setup(): Promise<void> {
	const chromium = process.env.SMCP_CHROMIUM ?? "/usr/bin/chromium";
	if (!existsSync(chromium))
		process.stderr.write(
			`smcp: Chromium not found at ${chromium}: the browser tests (test/e2e/account-browser.test.ts) will fail. Install it (apt-get install chromium) or set SMCP_CHROMIUM.\n`,
		);
}
