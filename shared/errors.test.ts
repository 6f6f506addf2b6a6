import { describe, expect, it } from "vitest";
import { err, ok, RpcCode, toJsonRpcError, ToolError, type Failure } from "./errors";

const SECRET_DETAIL = "SQLITE_CONSTRAINT at /srv/tenant.ts:42 token=eyJhbGciOi";

describe("toJsonRpcError", () => {
	const cases: [Failure, number][] = [
		[{ reason: "unknown_tool", tool: "nope" }, -32602],
		[{ reason: "insufficient_scope", tool: "delete_entities", needed: "mcp:write" }, -32600],
		[{ reason: "tool_failed", tool: "read_graph", message: SECRET_DETAIL }, -32603],
		[{ reason: "internal", where: "TenantObject.callTool", detail: SECRET_DETAIL }, -32603],
	];

	it.each(cases)("maps %o to code %d", (failure, code) => {
		expect(toJsonRpcError(failure).code).toBe(code);
	});

	it.each(cases)("never puts internal detail on the wire for %o (information disclosure)", (failure) => {
		const wire = toJsonRpcError(failure);
		expect(Object.keys(wire).sort()).toEqual(["code", "message"]);
		expect(wire.message).not.toContain("SQLITE");
		expect(wire.message).not.toContain("token=");
		expect(wire.message).not.toContain("TenantObject");
	});

	it("keeps generic text for internal and tool failures", () => {
		expect(toJsonRpcError({ reason: "internal", where: "x", detail: "y" }).message).toBe("Internal error");
		expect(toJsonRpcError({ reason: "tool_failed", tool: "t", message: "boom" }).message).toBe("Tool failed");
		expect(toJsonRpcError({ reason: "insufficient_scope", tool: "t", needed: "mcp:write" }).message).toMatch(
			/^Insufficient scope: t needs mcp:write, .* ask a workspace owner for a key with mcp:write at \/account\.$/,
		);
	});

	it("says what happened and what to do for an unknown tool, once (no 'MCP error' prefix of its own)", () => {
		const message = toJsonRpcError({ reason: "unknown_tool", tool: "nope" }).message;
		expect(message).toBe("Unknown tool: nope. Call tools/list for the tools this connection can call.");
		expect(message).not.toMatch(/MCP error/);
	});

	it("codes match the JSON-RPC 2.0 / SDK numbers", () => {
		expect(RpcCode).toEqual({
			ParseError: -32700,
			InvalidRequest: -32600,
			MethodNotFound: -32601,
			InvalidParams: -32602,
			InternalError: -32603,
			ConnectionClosed: -32000,
			SessionNotFound: -32001,
			HeaderMismatch: -32020,
		});
	});
});

describe("Result helpers and ToolError", () => {
	it("ok and err build the two Result arms", () => {
		expect(ok(3)).toEqual({ ok: true, value: 3 });
		expect(err({ reason: "unknown_tool", tool: "x" })).toEqual({ ok: false, error: { reason: "unknown_tool", tool: "x" } });
	});

	it("ToolError keeps its name (it survives Workers RPC by name)", () => {
		const e = new ToolError("Entity with name X not found");
		expect(e).toBeInstanceOf(Error);
		expect(e.name).toBe("ToolError");
		expect(e.message).toBe("Entity with name X not found");
	});
});
