import { afterEach, describe, expect, it, vi } from "vitest";
import { configureLog, log, logEnabled } from "./log";

afterEach(() => {
	configureLog({});
	vi.restoreAllMocks();
});

function capture(): string[] {
	const lines: string[] = [];
	for (const level of ["log", "warn", "error"] as const)
		vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line)));
	return lines;
}

describe("structured log", () => {
	it("writes one JSON line with ts, level, event and the fields", () => {
		const lines = capture();
		log("info", "http.request", { trace: "t1", status: 200 });
		expect(lines).toHaveLength(1);
		expect(JSON.parse(lines[0]!)).toMatchObject({ level: "info", event: "http.request", trace: "t1", status: 200 });
	});

	it("a secret in a field named like one is redacted (token, password, arguments …)", () => {
		const lines = capture();
		log("warn", "x", { access_token: "abc", password: "pw", arguments: { q: 1 }, code: "c", tenant: "t" });
		const line = JSON.parse(lines[0]!);
		expect(line).toMatchObject({
			access_token: "[redacted]",
			password: "[redacted]",
			arguments: "[redacted]",
			code: "[redacted]",
			tenant: "t",
		});
	});

	it("SMCP_LOG_LEVEL: the default info drops debug lines; debug keeps them; warn drops info; nonsense means info", () => {
		const lines = capture();
		log("debug", "tool.call", {});
		expect(lines).toHaveLength(0);
		configureLog({ SMCP_LOG_LEVEL: "debug" });
		expect(logEnabled("debug")).toBe(true);
		log("debug", "tool.call", {});
		expect(lines).toHaveLength(1);
		configureLog({ SMCP_LOG_LEVEL: "warn" });
		log("info", "session.created", {});
		log("error", "http.crash", {});
		expect(lines.map((l) => JSON.parse(l).event)).toEqual(["tool.call", "http.crash"]);
		for (const nonsense of ["loud", "toString", "__proto__", "constructor"]) {
			configureLog({ SMCP_LOG_LEVEL: nonsense });
			expect(logEnabled("info"), nonsense).toBe(true);
			expect(logEnabled("debug"), nonsense).toBe(false);
		}
	});
});
