/**
 * @module worker/apps/lanes
 * Where hosted tool calls leave the lanes: the front Worker recognises a hosted name
 * (`<app>__<tool>`, `shared/apps/manifest.ts`) in a lone `tools/call`, and runs the call itself
 * (`run.ts`), on every lane:
 * - `/mcp` 2025 revisions: a plain call of the one-hop path (worker/mcp/one-hop.ts): the kernel
 *   checks the session in its registry, and the answer is the POST's JSON body.
 * - `/sse` (2024-11-05): the answer travels on the session's SSE stream, held by its
 *   SessionObject, so it is handed over with `SessionApi.deliver` and the POST gets 202.
 * - 2026-07-28: the modern lane's `tools/call` handler calls {@link hostedRunner}'s function.
 * Hosted calls never send anything before their result, so none needs a stream of its own.
 */
import { parseHostedToolName } from "../../shared/apps/manifest";
import { isRequest, type RpcMessage, type RpcRequest } from "../../shared/mcp/jsonrpc";
import type { ToolCall } from "../../shared/rpc/kernel";
import type { VerifiedPrincipal } from "../../shared/rpc/principal";
import { sessionStub } from "../../shared/rpc/stubs";
import { sessionNotFound, sessionUnavailable } from "../../shared/mcp/wire";
import { log } from "../../shared/log";
import type { Env } from "../../shared/env";
import { answerHostedCall, runHostedCall, type AppRunContext } from "./run";

/** True for a `tools/call` request naming a hosted tool. */
export function isHostedCall(message: RpcMessage | undefined): message is RpcRequest {
	return (
		message !== undefined &&
		isRequest(message) &&
		message.method === "tools/call" &&
		parseHostedToolName(String(message.params?.name ?? "")) !== null
	);
}

/** The run context of a request: its bindings and the main module's exports (`ctx.exports`). */
export function runContext(env: Env, ctx: ExecutionContext): AppRunContext {
	return { env, exports: ctx.exports };
}

/** A lone hosted call on a 2024-11-05 SSE session: run here, answered on the session's stream. */
export async function hostedOnSse(
	run: AppRunContext,
	principal: VerifiedPrincipal,
	sessionId: string,
	message: RpcRequest,
	traceId: string,
): Promise<Response> {
	const session = sessionStub(run.env, sessionId);
	let live: boolean;
	try {
		live = await session.deliver(principal, sessionId, null);
	} catch (e) {
		// A session that cannot be reached this time is a 503 (retry), never the 404 of an ended one.
		log("error", "session.unreachable", { trace: traceId, retryable: (e as { retryable?: boolean }).retryable === true });
		return sessionUnavailable();
	}
	if (!live) return sessionNotFound();
	const { unknownSession: _u, ...answer } = await answerHostedCall(run, principal, message, {
		lane: "sse",
		traceId,
		sessionId,
		protocolVersion: "2024-11-05",
	});
	await session.deliver(principal, sessionId, answer);
	return new Response("Accepted", { status: 202 });
}

/** The modern lane's runner for one request (carried in the SDK handler's `authInfo.extra`). */
export type HostedRunner = (principal: VerifiedPrincipal, call: ToolCall) => ReturnType<typeof runHostedCall>;

/** Binds {@link runHostedCall} to the request's context. */
export function hostedRunner(run: AppRunContext): HostedRunner {
	return (principal, call) => runHostedCall(run, principal, call);
}
