/**
 * @module shared/mcp/handler-guard
 * Two error planes on an SDK server: the SDK puts any thrown error's message on the wire, so every
 * request handler of a lane's server is registered through this guard. A protocol error (the
 * SDK's own error class) passes; anything else (a Durable Object RPC failure, a bug) becomes a
 * generic -32603 "Internal error", and only its kind goes to the log. Used by both SDK servers:
 * the legacy lane's (v1) and the 2026-07-28 lane's (v2).
 */
import { log } from "../log";

/** What the guard needs of a lane. */
export interface HandlerGuard {
	/** Whether a thrown value is a protocol error to pass through unchanged. */
	isProtocolError(e: unknown): boolean;
	/** The generic -32603 error of the lane's SDK. */
	internalError(): Error;
	/** The log event name, e.g. `mcp.handler_failed`. */
	event: string;
	/** The trace id of the request being handled, when the lane knows it. */
	traceId?: () => string;
}

/**
 * Wraps `server.setRequestHandler` so that every handler registered afterwards is guarded.
 *
 * @example
 * ```ts
 * guardHandlers(server, { isProtocolError: (e) => e instanceof McpError, internalError: () => new McpError(-32603, "Internal error"), event: "mcp.handler_failed" });
 * ```
 */
export function guardHandlers<S extends { setRequestHandler: (...args: never[]) => unknown }>(server: S, guard: HandlerGuard): void {
	const register = (server.setRequestHandler as (...args: unknown[]) => unknown).bind(server);
	const guarded =
		(handler: (...args: unknown[]) => unknown) =>
		async (...args: unknown[]) => {
			try {
				return await handler(...args);
			} catch (e) {
				if (guard.isProtocolError(e)) throw e;
				log("error", guard.event, { ...(guard.traceId ? { trace: guard.traceId() } : {}), error: e instanceof Error ? e.name : "unknown" });
				throw guard.internalError();
			}
		};
	// Spec methods pass (key, handler); the v2 SDK's extension methods (tasks/*) pass (method, schemas, handler).
	server.setRequestHandler = ((key: unknown, second: unknown, third?: unknown) =>
		typeof second === "function"
			? register(key, guarded(second as never))
			: register(key, second, guarded(third as never))) as unknown as S["setRequestHandler"];
}
