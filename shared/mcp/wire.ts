/**
 * @module shared/mcp/wire
 * The HTTP answers of the MCP endpoints that carry a JSON-RPC error, written once for both halves:
 * a generic error response, the 404 of a session that does not exist (or is someone else's), the
 * 503 of a session that could not be reached this time, and the refusals of opening a session,
 * each mapped to the wire here and nowhere else.
 */
import { RpcCode } from "../errors";
import { errorBody } from "./jsonrpc";

const JSON_HEADERS = { "Content-Type": "application/json" };

/**
 * A JSON-RPC error (id null) as an HTTP response.
 *
 * @example
 * ```ts
 * return rpcError(405, RpcCode.ConnectionClosed, "Method Not Allowed", { Allow: "POST" });
 * ```
 */
export function rpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
	return new Response(errorBody(code, message), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** Unknown, ended, expired or someone else's session: the same 404 for all (no oracle for valid ids). */
export function sessionNotFound(): Response {
	return rpcError(404, RpcCode.SessionNotFound, "Session not found");
}

/**
 * A session that could not be reached this time (an overloaded or restarting object): 503 with a
 * retry hint, never the 404 that would tell the client its session is gone.
 */
export function sessionUnavailable(): Response {
	return rpcError(503, RpcCode.InternalError, "Session temporarily unavailable; retry the request", { "Retry-After": "1" });
}

/**
 * Bearer credentials refused after the OAuth provider accepted them (suspended tenant, revoked
 * API key): 401 `invalid_token`, as for any invalid token (RFC 6750 §3.1).
 */
export function invalidToken(origin: string, message = "Unauthorized"): Response {
	return rpcError(401, RpcCode.ConnectionClosed, message, {
		"WWW-Authenticate": `Bearer error="invalid_token", resource_metadata="${origin}/.well-known/oauth-protected-resource"`,
	});
}

/** Why the kernel did not open a session. */
export type SessionRefusal =
	/** The user is at the live-session cap. */
	| { reason: "session_cap"; retryAfterSeconds: number }
	/** The credential no longer stands: a revoked grant, a revoked or expired API key, a suspended tenant. */
	| { reason: "credential_inactive" }
	/** The principal does not belong to this kernel (a routing bug). */
	| { reason: "internal" };

/** The one wire form of each {@link SessionRefusal}. */
export function sessionRefusal(refusal: SessionRefusal, origin: string): Response {
	switch (refusal.reason) {
		case "session_cap":
			return rpcError(429, RpcCode.ConnectionClosed, "Too many open sessions; close one or retry later", {
				"Retry-After": String(refusal.retryAfterSeconds),
			});
		case "credential_inactive":
			return invalidToken(origin, "Unauthorized: this credential was revoked or its workspace suspended; sign in again");
		case "internal":
			return rpcError(500, RpcCode.InternalError, "Internal error");
		default: {
			const never: never = refusal;
			return never;
		}
	}
}
