import { describe, expect, it } from "vitest";
import type { RpcMessage } from "../../shared/mcp/jsonrpc";
import { invalidParams } from "./params";

const req = (method: string, params: unknown, id = 1) => ({ jsonrpc: "2.0", id, method, params }) as unknown as RpcMessage;

describe("params checked against the method's schema", () => {
	it("a wrong type in a field of initialize or tools/call → -32602 naming the fields, never the values or a validator dump", async () => {
		const cases: [RpcMessage, RegExp][] = [
			[
				req("initialize", { protocolVersion: "2025-11-25", capabilities: { elicitation: 0 }, clientInfo: { name: "a", version: "1" } }),
				/params\.capabilities\.elicitation/,
			],
			[req("initialize", { protocolVersion: 5, capabilities: {}, clientInfo: { name: "a", version: "1" } }), /params\.protocolVersion/],
			[req("tools/call", { name: 5 }), /params\.name/],
			[req("tools/call", { name: "read_graph", arguments: "x" }), /params\.arguments/],
			[req("tools/call", { name: "read_graph", _meta: { progressToken: {} } }), /params\._meta/],
			[req("resources/read", { uri: ["secret-value"] }), /params\.uri/],
		];
		for (const [message, field] of cases) {
			const res = invalidParams([message]);
			expect(res, JSON.stringify(message)).not.toBeNull();
			const body = (await res!.json()) as { id: number; error: { code: number; message: string } };
			expect(body.id).toBe(1);
			expect(body.error.code).toBe(-32602);
			expect(body.error.message).toMatch(field);
			expect(body.error.message).not.toMatch(/secret-value|invalid_type|expected/);
		}
	});

	it("passes valid params, unknown methods, notifications and responses", () => {
		const ok: RpcMessage[] = [
			req("initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "a", version: "1" } }),
			req("tools/call", { name: "read_graph", arguments: {} }),
			req("no/such", { anything: 1 }),
			{ jsonrpc: "2.0", method: "notifications/initialized" } as RpcMessage,
			{ jsonrpc: "2.0", id: 3, result: {} } as RpcMessage,
		];
		expect(invalidParams(ok)).toBeNull();
	});
});
