/**
 * @module shared/errors
 * Two error planes. Internal failures are a tagged union with the detail operators need (logs,
 * audit); the wire carries only spec codes and generic text. {@link toJsonRpcError} is the one
 * exhaustive mapping between them.
 */

/** JSON-RPC 2.0 and MCP error codes used on the wire. */
export const RpcCode = {
	ParseError: -32700,
	InvalidRequest: -32600,
	MethodNotFound: -32601,
	InvalidParams: -32602,
	InternalError: -32603,
	/** SDK convention for transport-level failures (bad session header, etc.). */
	ConnectionClosed: -32000,
	/** SDK convention: session not found. */
	SessionNotFound: -32001,
	/** 2026-07-28 basic/transports: request headers disagree with the body (SEP-2243). */
	HeaderMismatch: -32020,
} as const;

/** The 2025-era error text for a tool that runs only as a task, called without `params.task`. */
export const TASK_REQUIRED_MESSAGE = "This tool runs only as a task: call it with params.task.";

/** Internal failure reasons. Never sent to the client as-is. */
export type Failure =
	| { reason: "unknown_tool"; tool: string }
	| { reason: "insufficient_scope"; tool: string; needed: string }
	| { reason: "tool_failed"; tool: string; message: string }
	| { reason: "internal"; where: string; detail: string }
	/** A tool that runs only as a task, called inline (the lanes answer it in their revision's terms). */
	| { reason: "task_required"; tool: string }
	/** A call for a registered session the kernel does not know (or no longer): 404 Session not found. */
	| { reason: "unknown_session" };

/** Result type used across Durable Object RPC: Workers RPC drops custom error fields. */
export type Result<T, E = Failure> = { ok: true; value: T } | { ok: false; error: E };

/** Shorthand constructors for {@link Result}. */
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/**
 * An error a tool handler throws on purpose, whose message is safe to show the user (for example
 * "Entity with name X not found"). Anything else a handler throws is a bug and is reported as a
 * generic internal error.
 */
export class ToolError extends Error {
	override readonly name = "ToolError";
}

/**
 * A `ToolError` that refuses access (someone else's handle, an expired one): shown like a tool
 * error, audited as `denied`.
 */
export class AccessDenied extends ToolError {
	override readonly name = "ToolError";
}

/** Maps an internal failure to its wire form: a spec code and generic text. */
export function toJsonRpcError(f: Failure): { code: number; message: string } {
	switch (f.reason) {
		case "unknown_tool":
			return { code: RpcCode.InvalidParams, message: `Unknown tool: ${f.tool}. Call tools/list for the tools this connection can call.` };
		case "insufficient_scope":
			// Says what is missing and how to get it; the scope name is public (scopes_supported).
			return {
				code: RpcCode.InvalidRequest,
				message: `Insufficient scope: ${f.tool} needs ${f.needed}, which this app or API key was not granted. Reconnect the app and approve write access, or ask a workspace owner for a key with ${f.needed} at /account.`,
			};
		case "tool_failed":
			return { code: RpcCode.InternalError, message: "Tool failed" };
		case "internal":
			return { code: RpcCode.InternalError, message: "Internal error" };
		case "unknown_session":
			return { code: RpcCode.SessionNotFound, message: "Session not found" };
		case "task_required":
			// The 2025-era answer (the 2026-07-28 lane answers -32021 with data.requiredCapabilities).
			return { code: RpcCode.MethodNotFound, message: TASK_REQUIRED_MESSAGE };
		default: {
			const never: never = f;
			return never;
		}
	}
}
