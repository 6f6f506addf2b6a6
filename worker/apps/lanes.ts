/**
 * @module worker/apps/lanes
 * Where hosted tool calls leave the lanes: the front Worker recognises a hosted name
 * (`<app>__<tool>`, `shared/apps/manifest.ts`) in a lone `tools/call` before routing, and runs the
 * call itself (`run.ts`), on every lane:
 * - `/mcp` 2025 revisions: the answer is the POST's JSON body. The session must be live: the
 *   kernel checks its registry (one hop); a session only its SessionObject knows is asked there.
 * - `/sse` (2024-11-05): the answer travels on the session's SSE stream, held by its
 *   SessionObject, so it is handed over with `SessionApi.deliver` and the POST gets 202.
 * - 2026-07-28: the modern lane's `tools/call` handler calls {@link hostedRunner}'s function.
 * Hosted calls never send anything before their result, so none needs a stream of its own.
 */
import { parseHostedToolName } from "../../shared/apps/manifest";
import { isRequest, type RpcMessage, type RpcRequest } from "../../shared/mcp/jsonrpc";
import type { ToolCall } from "../../shared/rpc/kernel";
import type { VerifiedPrincipal } from "../../shared/rpc/principal";
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

/** A lone hosted call of a Streamable HTTP session: its JSON answer, or 404 for a session that is not live. */
export async function hostedInSession(
	run: AppRunContext,
	principal: VerifiedPrincipal,
	sessionId: string,
	message: RpcRequest,
	traceId: string,
	protocolVersion: string | null,
): Promise<Response> {
	const headers = { "Content-Type": "application/json", "Mcp-Session-Id": sessionId };
	const base = { lane: "streamable-http" as const, traceId, sessionId, protocolVersion: protocolVersion ?? "2025-03-26" };
	let answer = await answerHostedCall(run, principal, message, { ...base, registered: true });
	if (answer.unknownSession) {
		// Not in the registry: a session its SessionObject alone holds (or none at all).
		const live = await run.env.SESSIONS.get(run.env.SESSIONS.idFromName(sessionId))
			.deliver(principal, sessionId, null)
			.catch(() => false);
		if (!live)
			return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }), {
				status: 404,
				headers,
			});
		answer = await answerHostedCall(run, principal, message, base);
	}
	const { unknownSession: _u, ...body } = answer;
	return new Response(JSON.stringify(body), { status: 200, headers });
}

/** A lone hosted call on a 2024-11-05 SSE session: run here, answered on the session's stream. */
export async function hostedOnSse(
	run: AppRunContext,
	principal: VerifiedPrincipal,
	sessionId: string,
	message: RpcRequest,
	traceId: string,
): Promise<Response> {
	const session = run.env.SESSIONS.get(run.env.SESSIONS.idFromName(sessionId));
	if (!(await session.deliver(principal, sessionId, null).catch(() => false))) {
		return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }), {
			status: 404,
			headers: { "Content-Type": "application/json" },
		});
	}
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
