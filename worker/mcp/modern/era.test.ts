import { isLegacyRequest } from "@modelcontextprotocol/server";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { knownEra } from "./era";

const META_KEYS = {
	progressToken: fc.integer(),
	"io.modelcontextprotocol/protocolVersion": fc.constantFrom("2026-07-28", "2025-11-25", "2099-01-01", 5 as unknown as string),
	"io.modelcontextprotocol/clientCapabilities": fc.constantFrom({}, { elicitation: {} }, "x" as unknown as object),
	"io.modelcontextprotocol/clientInfo": fc.constant({ name: "c", version: "1" }),
	"io.modelcontextprotocol/related-task": fc.constant({ taskId: "t" }),
	other: fc.string(),
};

const message = fc.record(
	{
		jsonrpc: fc.constantFrom("2.0", "1.0"),
		id: fc.oneof(fc.integer(), fc.string({ minLength: 1, maxLength: 4 }), fc.constant(null)),
		method: fc.constantFrom("initialize", "tools/call", "tools/list", "server/discover", "notifications/initialized", "resources/read"),
		params: fc.oneof(
			fc.constant(undefined),
			fc.constant("not an object" as unknown as Record<string, unknown>),
			fc.record(
				{ name: fc.constantFrom("read_graph", "x"), _meta: fc.oneof(fc.constant(undefined), fc.record(META_KEYS, { requiredKeys: [] })) },
				{ requiredKeys: [] },
			),
		),
	},
	{ requiredKeys: ["jsonrpc"] },
);
const header = fc.constantFrom(null, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2026-07-28", "2099-01-01", "garbage");

describe("era classification without the SDK", () => {
	it("whenever knownEra decides, it agrees with the SDK's isLegacyRequest (property test over envelopes, headers and shapes)", async () => {
		let decided = 0;
		await fc.assert(
			fc.asyncProperty(message, header, async (msg, version) => {
				const headers = new Headers({ "Content-Type": "application/json", Accept: "application/json, text/event-stream" });
				if (version) headers.set("MCP-Protocol-Version", version);
				if (msg.method) headers.set("Mcp-Method", String(msg.method));
				const body = JSON.parse(JSON.stringify(msg));
				const mine = knownEra(headers, body);
				if (mine === undefined) return;
				decided++;
				const request = new Request("http://127.0.0.1:8787/mcp", { method: "POST", headers, body: JSON.stringify(body) });
				expect(mine).toBe(await isLegacyRequest(request, body));
			}),
			{ numRuns: 1500 },
		);
		// The fast path must decide the common shapes, not defer everything to the SDK.
		expect(decided).toBeGreaterThan(100);
	});

	it("decides the two shapes almost every request has", () => {
		const legacy = new Headers({ "MCP-Protocol-Version": "2025-11-25" });
		const modern = new Headers({ "MCP-Protocol-Version": "2026-07-28" });
		const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "read_graph", arguments: {} } };
		expect(knownEra(legacy, call)).toBe(true);
		expect(knownEra(new Headers(), { jsonrpc: "2.0", id: 1, method: "initialize", params: {} })).toBe(true);
		const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
		expect(knownEra(modern, { ...call, params: { ...call.params, _meta: envelope } })).toBe(false);
		// A claim without the header, or a modern header without a claim: the SDK decides.
		expect(knownEra(new Headers(), { ...call, params: { ...call.params, _meta: envelope } })).toBeUndefined();
		expect(knownEra(modern, call)).toBeUndefined();
	});
});
