import { describe, expect, it } from "vitest";
import { errorBody, isNotification, isRequest, isResponse, parseBody, type RpcMessage } from "./jsonrpc";

const single = { allowBatch: false };
const batches = { allowBatch: true };

/** The failure code of a body that must not parse; fails the test if it parses. */
function failureCode(text: string, opts = single): number {
	const r = parseBody(text, opts);
	if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.messages).slice(0, 200)}`);
	return r.error.code;
}

describe("parseBody: well-formed messages", () => {
	it("accepts a request, a notification and a response", () => {
		const req = parseBody('{"jsonrpc":"2.0","id":1,"method":"ping"}', single);
		expect(req).toEqual({ ok: true, batch: false, messages: [{ jsonrpc: "2.0", id: 1, method: "ping" }] });

		const note = parseBody('{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}', single);
		expect(note.ok && note.messages[0]).toEqual({ jsonrpc: "2.0", method: "notifications/initialized", params: {} });

		const res = parseBody('{"jsonrpc":"2.0","id":"a","result":{}}', single);
		expect(res.ok && res.messages[0]).toEqual({ jsonrpc: "2.0", id: "a", result: {} });

		const err = parseBody('{"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"no"}}', single);
		expect(err.ok).toBe(true);
	});

	it("accepts a method of exactly 128 characters and a string id of exactly 256", () => {
		const r = parseBody(JSON.stringify({ jsonrpc: "2.0", id: "i".repeat(256), method: "m".repeat(128) }), single);
		expect(r.ok).toBe(true);
	});
});

describe("parseBody: invalid JSON → -32700", () => {
	it.each(["", "{", "not json", '{"jsonrpc":"2.0",}', "\uFEFF{}", "{'jsonrpc':'2.0'}"])("%j is a parse error", (text) => {
		expect(failureCode(text)).toBe(-32700);
	});
});

describe("parseBody: valid JSON that is not strict JSON-RPC → -32600", () => {
	const cases: [string, unknown][] = [
		["a bare string", "hello"],
		["null", null],
		["a number", 42],
		["missing jsonrpc", { id: 1, method: "ping" }],
		['jsonrpc "1.0"', { jsonrpc: "1.0", id: 1, method: "ping" }],
		["jsonrpc as a number", { jsonrpc: 2.0, id: 1, method: "ping" }],
		["object id", { jsonrpc: "2.0", id: { a: 1 }, method: "ping" }],
		["array id", { jsonrpc: "2.0", id: [1], method: "ping" }],
		["null id on a request", { jsonrpc: "2.0", id: null, method: "ping" }],
		["boolean id", { jsonrpc: "2.0", id: true, method: "ping" }],
		["fractional id", { jsonrpc: "2.0", id: 1.5, method: "ping" }],
		["unsafe integer id", { jsonrpc: "2.0", id: 2 ** 53, method: "ping" }],
		["unknown top-level key on a request", { jsonrpc: "2.0", id: 1, method: "ping", extra: 1 }],
		["unknown top-level key on a notification", { jsonrpc: "2.0", method: "x", meta: {} }],
		["params as an array", { jsonrpc: "2.0", id: 1, method: "ping", params: [1, 2] }],
		["params as null", { jsonrpc: "2.0", id: 1, method: "ping", params: null }],
		["params as a string", { jsonrpc: "2.0", id: 1, method: "ping", params: "x" }],
		["empty method", { jsonrpc: "2.0", id: 1, method: "" }],
		["method of 129 characters", { jsonrpc: "2.0", id: 1, method: "m".repeat(129) }],
		["non-string method", { jsonrpc: "2.0", id: 1, method: 7 }],
		["a request that also carries result", { jsonrpc: "2.0", id: 1, method: "ping", result: {} }],
		["response with both result and error", { jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "x" } }],
		["response with neither result nor error", { jsonrpc: "2.0", id: 1 }],
		["response without id", { jsonrpc: "2.0", result: {} }],
		["response with an array result", { jsonrpc: "2.0", id: 1, result: [] }],
		["response with a malformed error", { jsonrpc: "2.0", id: 1, error: { code: "x", message: "y" } }],
		["response with an error missing its message", { jsonrpc: "2.0", id: 1, error: { code: 1 } }],
		["unknown key on a response", { jsonrpc: "2.0", id: 1, result: {}, extra: true }],
	];
	it.each(cases)("rejects %s", (_label, value) => {
		expect(failureCode(JSON.stringify(value))).toBe(-32600);
	});

	it("rejects a __proto__ key instead of letting it through (prototype pollution)", () => {
		// JSON.parse makes "__proto__" an own key; the strict key check must see it.
		expect(failureCode('{"jsonrpc":"2.0","id":1,"method":"ping","__proto__":{"admin":true}}')).toBe(-32600);
	});

	it("rejects a 1 MB string id without echoing it (id amplification)", () => {
		const r = parseBody(JSON.stringify({ jsonrpc: "2.0", id: "x".repeat(1024 * 1024), method: "ping" }), single);
		expect(r.ok).toBe(false);
		if (!r.ok) {
			expect(r.error.code).toBe(-32600);
			expect(r.error.message.length).toBeLessThan(100);
		}
	});

	it("rejects a string id of 257 characters", () => {
		expect(failureCode(JSON.stringify({ jsonrpc: "2.0", id: "i".repeat(257), method: "ping" }))).toBe(-32600);
	});
});

describe("parseBody: batches", () => {
	const two = '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]';

	it("rejects a batch when batches are not allowed (protocol ≥ 2025-06-18)", () => {
		expect(failureCode(two, single)).toBe(-32600);
	});

	it("accepts a batch when allowed (2025-03-26)", () => {
		const r = parseBody(two, batches);
		expect(r.ok && r.batch).toBe(true);
		expect(r.ok && r.messages.length).toBe(2);
	});

	it("rejects an empty batch [] even when batches are allowed", () => {
		expect(failureCode("[]", batches)).toBe(-32600);
		expect(failureCode("[]", single)).toBe(-32600);
	});

	it("rejects a batched initialize even when batches are allowed (only one initialization request)", () => {
		const body = '[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}]';
		const r = parseBody(body, batches);
		expect(r.ok).toBe(false);
		if (!r.ok) {
			expect(r.error.code).toBe(-32600);
			expect(r.error.message).toMatch(/initialize/);
		}
	});

	it("rejects a batch with one invalid member", () => {
		expect(failureCode('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"1.0","id":2,"method":"ping"}]', batches)).toBe(-32600);
	});

	it("rejects a batch of more than 100 messages (batch amplification)", () => {
		const many = JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" })));
		expect(failureCode(many, batches)).toBe(-32600);
		const hundred = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" })));
		expect(parseBody(hundred, batches).ok).toBe(true);
	});

	it("rejects a nested batch", () => {
		expect(failureCode('[[{"jsonrpc":"2.0","id":1,"method":"ping"}]]', batches)).toBe(-32600);
	});
});

describe("parseBody: pathological payloads (bounded rejection)", () => {
	it.each([single, batches])("rejects 50,000-deep array nesting without throwing, quickly (allowBatch %o)", (opts) => {
		const text = "[".repeat(50_000) + "]".repeat(50_000);
		const started = performance.now();
		const r = parseBody(text, opts);
		expect(performance.now() - started).toBeLessThan(2_000);
		expect(r.ok).toBe(false);
		if (!r.ok) expect([-32700, -32600]).toContain(r.error.code);
	});

	it("rejects 50,000-deep object nesting inside params without throwing", () => {
		const text = `{"jsonrpc":"2.0","id":1,"method":"ping","params":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}, "x":1}`;
		const r = parseBody(text, single);
		expect(r.ok).toBe(false);
	});

	it("returns a result for 100k keys within params without throwing, quickly", () => {
		const params: Record<string, number> = {};
		for (let i = 0; i < 100_000; i++) params[`k${i}`] = i;
		const text = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params });
		const started = performance.now();
		const r = parseBody(text, single);
		expect(performance.now() - started).toBeLessThan(2_000);
		expect(typeof r.ok).toBe("boolean");
	});
});

describe("errorBody", () => {
	it("has id: null by default and no internal fields", () => {
		expect(JSON.parse(errorBody(-32700, "Parse error"))).toEqual({
			jsonrpc: "2.0",
			error: { code: -32700, message: "Parse error" },
			id: null,
		});
	});

	it("echoes a given id", () => {
		expect(JSON.parse(errorBody(-32600, "Invalid Request", 7)).id).toBe(7);
		expect(JSON.parse(errorBody(-32600, "Invalid Request", "a")).id).toBe("a");
	});
});

describe("isRequest / isNotification / isResponse", () => {
	const parse = (text: string): RpcMessage => {
		const r = parseBody(text, single);
		if (!r.ok) throw new Error("fixture did not parse");
		return r.messages[0]!;
	};
	const request = parse('{"jsonrpc":"2.0","id":0,"method":"ping"}');
	const notification = parse('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}');
	const response = parse('{"jsonrpc":"2.0","id":0,"result":{}}');

	it("classifies each kind exactly once", () => {
		expect([isRequest(request), isNotification(request), isResponse(request)]).toEqual([true, false, false]);
		expect([isRequest(notification), isNotification(notification), isResponse(notification)]).toEqual([false, true, false]);
		expect([isRequest(response), isNotification(response), isResponse(response)]).toEqual([false, false, true]);
	});

	it('treats id 0 and id "" as present (a request, not a notification)', () => {
		expect(isRequest(parse('{"jsonrpc":"2.0","id":"","method":"ping"}'))).toBe(true);
		expect(isNotification(request)).toBe(false);
	});
});
