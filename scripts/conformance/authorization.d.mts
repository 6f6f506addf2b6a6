/** Types for authorization.mjs (see there). */
export declare function authorizationUrlIn(output: string): string | undefined;
export declare function runAuthorizationSuite(o: {
	suite: string;
	origin: string;
	person: { email: string; password: string };
	outDir: string;
	timeoutMs: number;
	port: number;
	oauth: { registerClient: (...args: never[]) => unknown; consentRedirect: (...args: never[]) => unknown };
}): Promise<{
	exitCode: number | null;
	stopped?: string;
	consent: string;
	output: string;
	results: import("./results.mjs").ScenarioResult[];
}>;
