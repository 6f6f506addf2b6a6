/**
 * @module worker/mcp/params
 * The params of every client request the 2025 lanes serve, checked at the front door against the
 * SDK's own schema for its method, before anything is sent to a Durable Object. The SDK v1 server
 * validates them too, but a failure there leaves as `-32603` with the validator's issue dump as
 * its message (its `setRequestHandler` parses outside the handler), which puts internals on the
 * wire and calls a client's mistake a server fault. Here it is `-32602 Invalid params` naming the
 * fields (paths only, never values: MCP basic §"Error Handling", JSON-RPC 2.0 §5.1).
 */
import { ClientRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { RpcCode } from "../../shared/errors";
import { errorBody, isRequest, type RpcMessage } from "../../shared/mcp/jsonrpc";

type Parser = { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[] }[] } } };

/** The SDK's request schema of each client method (`initialize`, `tools/call`, …), by method. */
const SCHEMAS = new Map<string, Parser>(
	(ClientRequestSchema as unknown as { options: { shape: { method: { value: string } } }[] }).options.map((s) => [
		s.shape.method.value,
		s as unknown as Parser,
	]),
);

/** The fields of a failed parse, as dotted paths (at most five), for the error message. */
function fields(issues: { path: PropertyKey[] }[]): string {
	const paths = [...new Set(issues.map((i) => i.path.map(String).join(".") || "params"))].slice(0, 5);
	return paths.join(", ");
}

/**
 * The answer to the first request whose params its method's schema refuses, or null. A
 * `tools/call` whose `name` is not a string or whose `arguments` is not an object is one of them
 * (schema §CallToolRequest). Unknown methods pass: the server answers them `-32601`.
 *
 * @example
 * ```ts
 * const bad = invalidParams(parsed.messages);
 * if (bad) return bad;
 * ```
 */
export function invalidParams(messages: RpcMessage[]): Response | null {
	for (const m of messages) {
		if (!isRequest(m)) continue;
		const schema = SCHEMAS.get(m.method);
		const parsed = schema?.safeParse(m);
		if (!parsed || parsed.success) continue;
		const message = `Invalid params for ${m.method.slice(0, 64)}: check ${fields(parsed.error?.issues ?? [])} (see the method's schema in the MCP specification)`;
		return new Response(errorBody(RpcCode.InvalidParams, message, m.id), { status: 200, headers: { "Content-Type": "application/json" } });
	}
	return null;
}
