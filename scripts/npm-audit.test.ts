import { describe, expect, it } from "vitest";
import { auditVerdict } from "./npm-audit.mjs";

const report = (vulnerabilities: Record<string, number>, details: Record<string, unknown> = {}) =>
	JSON.stringify({
		auditReportVersion: 2,
		vulnerabilities: details,
		metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0, ...vulnerabilities } },
	});

describe("auditVerdict (CI npm audit step)", () => {
	it("passes a clean report and says so", () => {
		const v = auditVerdict(report({ low: 2, moderate: 1 }), 0);
		expect(v.exit).toBe(0);
		expect(v.lines[0]).toMatch(/no high or critical finding .*1 moderate, 2 low/);
	});

	it("fails on a high or a critical finding and names the package", () => {
		const v = auditVerdict(report({ high: 1 }, { "left-pad": { severity: "high", range: "<1.3.0", fixAvailable: true } }), 1);
		expect(v.exit).toBe(1);
		expect(v.lines.join("\n")).toMatch(/1 high or critical finding[\s\S]*high left-pad <1.3.0 \(fix available/);
		expect(auditVerdict(report({ critical: 1 }), 1).exit).toBe(1);
	});

	it("passes, saying the audit did not run, when the audit endpoint answers 405 (read-only mirror)", () => {
		const body = JSON.stringify({
			message: "405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk",
			statusCode: 405,
			body: "",
		});
		const v = auditVerdict(body, 1);
		expect(v.exit).toBe(0);
		expect(v.lines[0]).toMatch(/could not run .*HTTP 405.*NOT audited/);
	});

	it("passes, saying the audit did not run, when the endpoint is unreachable", () => {
		expect(auditVerdict(JSON.stringify({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND registry" }), 1)).toMatchObject({ exit: 0 });
	});

	it("fails when npm printed no JSON or an unknown shape (never a silent pass)", () => {
		expect(auditVerdict("npm ERR! something broke", 1).exit).toBe(1);
		expect(auditVerdict(JSON.stringify({ message: "EACCES: permission denied" }), 1).exit).toBe(1);
	});
});
