/**
 * @module worker/mcp/one-hop
 * The Streamable HTTP session requests (2025-03-26 … 2025-11-25) that need nothing but the
 * tenant's session registry (objects/tenant/sessions.ts), answered here and nowhere else, in one
 * Durable Object hop from the front Worker to the tenant kernel:
 * - `initialize` (always lone: a batch may not carry it): the kernel counts it against the cap,
 *   registers the session and audits it in one transaction; the answer is what the SDK server
 *   would answer (shared/mcp/answers.ts). An `initialize` the SDK's schema refuses, or one too
 *   large to store, opens no session (-32602);
 * - `notifications/initialized`, alone;
 * - a lone `tools/call` that sends nothing before its result (`sendsBeforeResult` is false) and
 *   is not task-augmented (a task's methods and status notifications are the SessionObject's SDK
 *   server's); a tenant's hosted tool (`<app>__<tool>`) is such a call too, run by the front Worker
 *   itself (worker/apps/run.ts) once the kernel has found the session live;
 * - DELETE, which ends the session in the kernel once and clears its SessionObject if one holds it.
 * Opening a 2024-11-05 SSE session is counted here too ({@link openSseSession}).
 * Every other request of a session goes to its SessionObject (`toSession`), which adopts the
 * session from the registry on its first request. A session the kernel does not know is a 404;
 * a kernel or object that cannot be reached this time is a 503 (retry), never a 404.
 */
import { InitializeRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { answerPlainToolCall, initializeResponse, negotiatedVersion } from "../../shared/mcp/answers";
import { RpcCode } from "../../shared/errors";
import { errorBody, isRequest, type RpcMessage, type RpcRequest } from "../../shared/mcp/jsonrpc";
import { MAX_REGISTERED_INIT, type RequestRecord } from "../../shared/rpc/kernel";
import { log } from "../../shared/log";
import { catalogFor } from "../../shared/catalog/packs";
import { involvesTask } from "../../shared/mcp/publish";
import type { VerifiedPrincipal } from "../../shared/rpc/principal";
import { answerResponse, type SessionRequest } from "../../shared/rpc/session";
import { sessionStub, tenantStub } from "../../shared/rpc/stubs";
import { sessionNotFound, sessionRefusal, sessionUnavailable } from "../../shared/mcp/wire";
import type { Env } from "../../shared/env";
import { answerHostedCall, type AppRunContext } from "../apps/run";
import { isHostedCall } from "../apps/lanes";
import { hostedCatalog } from "../../shared/mcp/hosted-catalog";

const answer = (sessionId: string, body: unknown) =>
	new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json", "Mcp-Session-Id": sessionId } });

const allowed = (method: string, protocolVersion: string, traceId: string, sessionId: string): RequestRecord => ({
	method,
	lane: "streamable-http",
	protocolVersion,
	traceId,
	sessionId,
	decision: "allowed",
	outcome: "ok",
	durationMs: 0,
});

/** Hands one parsed exchange to the session's object; an object that cannot be reached is a 503. */
export async function toSession(env: Env, principal: VerifiedPrincipal, req: SessionRequest): Promise<Response> {
	let answered: Awaited<ReturnType<ReturnType<Env["SESSIONS"]["get"]>["handle"]>>;
	try {
		answered = await sessionStub(env, req.sessionId).handle(principal, req);
	} catch (e) {
		log("error", "session.unreachable", { trace: req.traceId, retryable: (e as { retryable?: boolean }).retryable === true });
		return sessionUnavailable();
	}
	return answerResponse(answered);
}

/**
 * Opens a session with its `initialize` (`sessionId` was just minted): -32602 for one the SDK's
 * schema refuses or too large to store; the refusal's wire form when the kernel opens none.
 *
 * @example
 * ```ts
 * if (isInit) return openSession(env, principal, await mintSessionId(secret, principal), message, traceId, origin);
 * ```
 */
export async function openSession(
	env: Env,
	principal: VerifiedPrincipal,
	sessionId: string,
	init: RpcRequest,
	traceId: string,
	origin: string,
): Promise<Response> {
	const text = JSON.stringify(init);
	if (text.length > MAX_REGISTERED_INIT || !InitializeRequestSchema.safeParse(init).success) {
		const reason = text.length > MAX_REGISTERED_INIT ? `initialize is larger than ${MAX_REGISTERED_INIT} characters` : "invalid initialize";
		return new Response(errorBody(RpcCode.InvalidParams, `Invalid params: ${reason}`, init.id), {
			status: 200,
			headers: { "Content-Type": "application/json" },
		});
	}
	const protocolVersion = negotiatedVersion(init);
	const opened = await tenantStub(env, principal).openSession(
		principal,
		sessionId,
		allowed("initialize", protocolVersion, traceId, sessionId),
		{
			protocolVersion,
			init: text,
		},
	);
	if (!opened.ok) {
		log("warn", `session.${opened.error.reason}`, { trace: traceId, tenant: principal.tenantId, user: principal.userId });
		return sessionRefusal(opened.error, origin);
	}
	return answer(sessionId, initializeResponse(catalogFor(env), init, env.SMCP_PUBLIC_ORIGIN));
}

/** Opens a 2024-11-05 SSE session: counted against the cap here, then its object opens the stream. */
export async function openSseSession(env: Env, principal: VerifiedPrincipal, sessionId: string, traceId: string, origin: string) {
	const opened = await tenantStub(env, principal).openSession(principal, sessionId);
	if (!opened.ok) {
		log("warn", `session.${opened.error.reason}`, { trace: traceId, tenant: principal.tenantId, user: principal.userId });
		return sessionRefusal(opened.error, origin);
	}
	return toSession(env, principal, { op: "sse-open", sessionId, endpoint: `/sse/message?sessionId=${sessionId}`, traceId });
}

/**
 * Answers a lone `notifications/initialized` or plain `tools/call` (built-in or hosted) of a
 * registered session, or returns null: the SessionObject's to answer. The caller has checked that
 * a `tools/call` sends nothing before its result (`sendsBeforeResult`), and the scope of a
 * built-in or hosted tool (the kernel checks a hosted tool's again).
 *
 * @example
 * ```ts
 * const direct = await answerInTenant({ env, exports: ctx.exports }, principal, sessionId, message, traceId);
 * if (direct) return direct; // else: the SessionObject answers
 * ```
 */
export async function answerInTenant(
	run: AppRunContext,
	principal: VerifiedPrincipal,
	sessionId: string,
	message: RpcMessage,
	traceId: string,
): Promise<Response | null> {
	if (!("method" in message)) return null;
	const env = run.env;
	const tenant = tenantStub(env, principal);
	if (!isRequest(message) && message.method === "notifications/initialized") {
		let live: Awaited<ReturnType<typeof tenant.sessionState>>;
		try {
			live = await tenant.sessionState(principal, sessionId, "touch");
		} catch (e) {
			log("error", "session.unreachable", { trace: traceId, retryable: (e as { retryable?: boolean }).retryable === true });
			return sessionUnavailable();
		}
		return live ? new Response(null, { status: 202, headers: { "Mcp-Session-Id": sessionId } }) : sessionNotFound();
	}
	if (isHostedCall(message)) {
		// 2025-11-25 `params.task`: only for a hosted tool whose manifest allows tasks, as for a built-in tool.
		const task = message.params?.task as { ttl?: unknown } | undefined;
		if (task !== undefined) {
			const name = String(message.params?.name);
			const hosted = await hostedCatalog(principal.tenantId, () => tenant.hostedTools());
			if (!hosted.tools.find((t) => t.name === name)?.execution)
				return answer(sessionId, {
					jsonrpc: "2.0",
					id: message.id,
					// The SDK server's wording for a built-in tool (McpError prefixes the code).
					error: {
						code: RpcCode.MethodNotFound,
						message: new McpError(RpcCode.MethodNotFound, "This tool does not run as a task.").message,
					},
				});
		}
		// The kernel checks the session (ToolCall.registered) and audits the revision it negotiated.
		const { unknownSession, ...response } = await answerHostedCall(run, principal, message, {
			lane: "streamable-http",
			protocolVersion: "-",
			traceId,
			sessionId,
			registered: true,
			...(task !== undefined ? { task: typeof task?.ttl === "number" ? { ttlMs: task.ttl } : {} } : {}),
		});
		return unknownSession ? sessionNotFound() : answer(sessionId, response);
	}
	if (isRequest(message) && message.method === "tools/call" && !involvesTask(catalogFor(env), message.params)) {
		let unknown = false;
		const response = await answerPlainToolCall(
			{
				lane: "streamable-http",
				sessionId,
				// The kernel audits the revision the session negotiated (ToolCall.registered).
				protocolVersion: () => "-",
				traceId: () => traceId,
				callTool: async (p, call) => {
					const r = await tenant.callTool(p, { ...call, registered: true });
					unknown = !r.ok && r.error.reason === "unknown_session";
					return r;
				},
			},
			principal,
			message,
		);
		return unknown ? sessionNotFound() : answer(sessionId, response);
	}
	return null;
}

/**
 * DELETE: the kernel ends (and audits) the session, once; its SessionObject, if one holds it, is
 * told to clear what it keeps. A session the kernel does not know is a 404.
 */
export async function endSession(env: Env, principal: VerifiedPrincipal, sessionId: string, traceId: string): Promise<Response> {
	let ended: { found: boolean; hasObject: boolean };
	try {
		ended = await tenantStub(env, principal).closeSession(principal, sessionId, allowed("session/delete", "-", traceId, sessionId));
	} catch (e) {
		log("error", "session.unreachable", { trace: traceId, retryable: (e as { retryable?: boolean }).retryable === true });
		return sessionUnavailable();
	}
	if (!ended.found) return sessionNotFound();
	if (!ended.hasObject) return new Response(null, { status: 200 });
	return toSession(env, principal, { op: "delete", sessionId, traceId });
}
