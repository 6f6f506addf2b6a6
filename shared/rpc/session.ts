/**
 * @module shared/rpc/session
 * The RPC surface of SessionObject, listed in one place (every public method of a Durable Object is callable over RPC, so the surface is listed in one interface).
 */
import type { RpcMessage } from "../mcp/jsonrpc";
import type { SessionOwner, VerifiedPrincipal } from "./principal";

/** One HTTP exchange of a 2025-era or 2024-11-05 session, already parsed by the front Worker. */
export type SessionRequest =
	| { op: "post"; sessionId: string; messages: RpcMessage[]; batch: boolean; sse: boolean; traceId: string }
	| { op: "get"; sessionId: string; lastEventId: string | null; traceId: string }
	/** `ended`: the kernel has already ended (and audited) this registered session. */
	| { op: "delete"; sessionId: string; traceId: string; ended?: boolean }
	| { op: "sse-open"; sessionId: string; endpoint: string; traceId: string }
	| { op: "sse-post"; sessionId: string; messages: RpcMessage[]; traceId: string };

/**
 * A session's answer. Streams (SSE) cross the RPC boundary as a `Response`; every other answer as
 * plain data, which costs the hop a fraction of a streamed body (docs/performance.md).
 */
export type SessionAnswer = Response | { status: number; headers: Record<string, string>; body: string | null };

/** The HTTP response for a session's answer. */
export function answerResponse(a: SessionAnswer): Response {
	return a instanceof Response ? a : new Response(a.body, { status: a.status, headers: a.headers });
}

/** SessionObject's RPC methods. */
export interface SessionApi {
	handle(principal: VerifiedPrincipal, request: SessionRequest): Promise<SessionAnswer>;
	/**
	 * Whether `principal` holds this live session; with `message`, sends it on the session's
	 * 2024-11-05 SSE stream (the answer to a hosted tool call the front Worker ran).
	 */
	deliver(principal: VerifiedPrincipal, sessionId: string, message: RpcMessage | null): Promise<boolean>;
	/** Sends `notifications/tools/list_changed` on the session's open stream; false when it has none. */
	toolsChanged(): Promise<boolean>;
	/**
	 * Called by the tenant kernel when the credential that opened this session is revoked: if the
	 * session belongs to `owner` (tenant, user, client), its open streams end and its state is
	 * deleted. False when the object holds no such session.
	 */
	end(owner: SessionOwner, sessionId: string): Promise<boolean>;
}
