import { describe, expect, it } from "vitest";
import { authorizationUrlIn } from "./authorization.mjs";
import { totals, type ScenarioResult } from "./results.mjs";

describe("authorizationUrlIn (the suite's authorization-code-grant output)", () => {
	const before =
		"Ensure http://127.0.0.1:4000/callback is registered as a redirect URI for client 'abc'.\nAccess the following URL in your browser and complete the authentication process.\n";

	it("is the first complete line after the prompt", () => {
		expect(authorizationUrlIn(`${before}http://127.0.0.1:8787/authorize?client_id=abc&state=s\n\nWaiting up to 5 minutes…\n`)).toBe(
			"http://127.0.0.1:8787/authorize?client_id=abc&state=s",
		);
	});

	it("waits for the prompt and for the whole line", () => {
		expect(authorizationUrlIn("Running test (2 scenarios)\n")).toBeUndefined();
		expect(authorizationUrlIn(`${before}http://127.0.0.1:8787/author`)).toBeUndefined();
	});
});

describe("totals against a baseline", () => {
	const check = (id: string, status: string) => ({ id, name: id, status });
	const result = (scenario: string, ...checks: { id: string; name: string; status: string }[]): ScenarioResult => ({
		scenario,
		passed: checks.filter((c) => c.status === "SUCCESS").length,
		failed: checks.filter((c) => c.status === "FAILURE").length,
		warnings: checks.filter((c) => c.status === "WARNING").length,
		checks,
	});

	it("counts failures of baselined scenarios or checks apart, and the rest as unexpected", () => {
		const results = [
			result("a", check("a1", "FAILURE"), check("a2", "SUCCESS")),
			result("b", check("b1", "FAILURE"), check("b2", "FAILURE")),
			result("c", check("c1", "FAILURE")),
		];
		const t = totals(results, new Set(["a", "b:b1"]));
		expect(t).toMatchObject({ passed: 1, failed: 2, expectedFailed: 2, unexpected: ["b", "c"], stale: [] });
	});

	it("reports baseline entries that pass again as stale", () => {
		const t = totals([result("a", check("a1", "SUCCESS")), result("b", check("b1", "SUCCESS"))], new Set(["a", "b:b1", "b:absent"]));
		expect(t.stale).toEqual(["a", "b:b1"]);
		expect(t.failed).toBe(0);
	});
});
