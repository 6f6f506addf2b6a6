/** Types for results.mjs (see there). */
export interface Check {
	id: string;
	name: string;
	status: string;
	description?: string;
	errorMessage?: string;
}
export interface ScenarioResult {
	scenario: string;
	passed: number;
	failed: number;
	warnings: number;
	checks: Check[];
}
export declare function readResults(dir: string, kind?: string): ScenarioResult[];
export declare function totals(
	results: ScenarioResult[],
	expected?: ReadonlySet<string>,
): { scenarios: number; passed: number; failed: number; warnings: number; expectedFailed: number; unexpected: string[]; stale: string[] };
