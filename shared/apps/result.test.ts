import { describe, expect, it } from "vitest";
import { normaliseResult, toolErrorResult } from "./result";
import { AppError, defineApp } from "./sdk";

const MAX = 1024;

describe("normaliseResult", () => {
	it("turns a string into a text block and nothing into an empty result", () => {
		expect(normaliseResult("hi", MAX)).toMatchObject({ ok: true, result: { content: [{ type: "text", text: "hi" }] } });
		expect(normaliseResult(undefined, MAX)).toMatchObject({ ok: true, result: { content: [] } });
	});

	it("turns an object into structuredContent plus its JSON text, other JSON into text", () => {
		const r = normaliseResult({ celsius: 21.5, skip: undefined }, MAX);
		expect(r).toMatchObject({
			ok: true,
			result: { structuredContent: { celsius: 21.5 }, content: [{ type: "text", text: '{"celsius":21.5}' }] },
		});
		expect(normaliseResult([1, 2], MAX)).toMatchObject({ ok: true, result: { content: [{ text: "[1,2]" }] } });
		expect(normaliseResult(null, MAX)).toMatchObject({ ok: true, result: { content: [{ text: "null" }] } });
	});

	it("passes a full CallToolResult through, and checks it", () => {
		const full = { content: [{ type: "text", text: "x" }], structuredContent: { a: 1 }, isError: false };
		expect(normaliseResult(full, MAX)).toEqual({ ok: true, result: full, bytes: expect.any(Number) });
		expect(normaliseResult({ content: [{ type: "text" }] }, MAX)).toMatchObject({
			ok: false,
			error: { reason: "malformed" },
		});
		// Not a CallToolResult (an extra key): data that happens to have a "content" field.
		expect(normaliseResult({ content: [], title: "t" }, MAX)).toMatchObject({
			ok: true,
			result: { structuredContent: { content: [], title: "t" } },
		});
	});

	it.each([
		["a function", { f: () => 1 }, /a function at \$\.f/],
		["a BigInt", { n: 1n }, /BigInt at \$\.n/],
		["NaN", [Number.NaN], /non-finite number \(NaN\) at \$\[0\]/],
		["a Date", { when: new Date(0) }, /Date \(use toISOString\(\)\)/],
		["a Map", new Map(), /instance of Map/],
		["undefined in an array", [1, undefined], /undefined at \$\[1\]/],
	])("refuses %s with its path", (_label, value, message) => {
		const r = normaliseResult(value, MAX);
		expect(r).toMatchObject({ ok: false, error: { reason: "not_json" } });
		expect(!r.ok && r.error.message).toMatch(message);
	});

	it("refuses cycles but not shared references", () => {
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		expect(normaliseResult(cyclic, MAX)).toMatchObject({
			ok: false,
			error: { message: expect.stringMatching(/cycle at \$\.self/) },
		});
		const shared = { a: 1 };
		expect(normaliseResult({ x: shared, y: shared }, MAX).ok).toBe(true);
	});

	it("refuses a result over the limit, naming both sizes", () => {
		const r = normaliseResult("x".repeat(MAX), MAX);
		expect(r).toMatchObject({ ok: false, error: { reason: "too_large" } });
		expect(!r.ok && r.error.message).toMatch(/limit is 1024 \(limits\.maxResultBytes\)/);
	});
});

describe("toolErrorResult", () => {
	it("shows an AppError's message, hides anything else, names the guard's stop", () => {
		expect(toolErrorResult(new AppError("city not found")).content[0]!.text).toBe("city not found");
		expect(toolErrorResult(new Error("db password is hunter2")).content[0]!.text).not.toContain("hunter2");
		expect(toolErrorResult({ name: "SmcpDeadlineError", message: "x" }).content[0]!.text).toMatch(/stopped/);
		expect(toolErrorResult(undefined).isError).toBe(true);
	});
});

describe("defineApp", () => {
	it("freezes the tools map and refuses non-functions", () => {
		const app = defineApp({ tools: { a: () => "x" } });
		expect(app.smcp).toBe(1);
		expect(Object.isFrozen(app.tools)).toBe(true);
		expect(() => defineApp({ tools: { a: "nope" as never } })).toThrow(/tools\.a must be a function/);
	});
});
