/**
 * @module worker/mcp/one-hop
 * The one-hop path of a Streamable HTTP session (2025-03-26 … 2025-11-25). The requests that
 * need no protocol state of the session's own go from the front Worker straight to the tenant
 * kernel, where the session is registered (objects/tenant/sessions.ts):
 * - the opening `initialize` (a lone, valid request): the kernel counts it against the cap,
 *   registers the session and audits it in one transaction; the answer is the SDK server's;
 * - `notifications/initialized`, alone;
 * - a lone `tools/call` that sends nothing before its result (`sendsBeforeResult` is false).
 * Everything else goes to the session's SessionObject, which adopts the session from the
 * registry on its first request. A session the kernel does not know (opened by an earlier build,
 * ended, expired, someone else's) is handed to the SessionObject too, which answers as before
 * (404 when it has no such session): the same answers either way, one hop fewer when it can.
 */
import { InitializeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { answerPlainToolCall, initializeResponse, negotiatedVersion } from "../../shared/mcp/answers";
import { isRequest, type RpcMessage } from "../../shared/mcp/jsonrpc";
import { MAX_REGISTERED_INIT, type RequestRecord } from "../../shared/rpc/kernel";
import { log } from "../../shared/log";
import { catalogFor } from "../../shared/catalog/packs";
import { involvesTask } from "../../shared/mcp/publish";
import type { VerifiedPrincipal } from "../../shared/rpc/principal";
import type { Env } from "../../shared/env";
import { resolveConfig } from "../../shared/config";
import { sessionRefusalAnswer } from "../../shared/mcp/admission";

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

/**
 * Answers one lone message of a session in the tenant, or returns null: the SessionObject's to
 * answer. For an `initialize`, `sessionId` is the one just minted. The caller has checked that a
 * `tools/call` sends nothing before its result (`sendsBeforeResult`), and the scope.
 *
 * @example
 * ```ts
 * const direct = await answerInTenant(env, principal, sessionId, message, traceId);
 * if (direct) return direct; // else: the SessionObject answers
 * ```
 */
export async function answerInTenant(
	env: Env,
	principal: VerifiedPrincipal,
	sessionId: string,
	message: RpcMessage,
	traceId: string,
): Promise<Response | null> {
	const tenant = env.TENANTS.get(env.TENANTS.idFromName(principal.tenantId));
	if (!("method" in message)) return null;
	if (isRequest(message) && message.method === "initialize") {
		const init = JSON.stringify(message);
		if (init.length > MAX_REGISTERED_INIT || !InitializeRequestSchema.safeParse(message).success) return null;
		const protocolVersion = negotiatedVersion(message);
		const opened = await tenant.openSession(principal, sessionId, allowed("initialize", protocolVersion, traceId, sessionId), {
			protocolVersion,
			init,
			hasObject: false,
		});
		if (!opened.ok) {
			log("warn", opened.error.reason === "session_cap" ? "session.cap_reached" : "session.credential_refused", {
				trace: traceId,
				tenant: principal.tenantId,
				user: principal.userId,
			});
			const a = sessionRefusalAnswer(opened.error, resolveConfig(env).origin);
			return new Response(a.body, { status: a.status, headers: a.headers });
		}
		return answer(sessionId, initializeResponse(catalogFor(env), message, env.SMCP_PUBLIC_ORIGIN));
	}
	if (!isRequest(message) && message.method === "notifications/initialized") {
		// A kernel still on the build before the registry has no `sessionState`: the object answers.
		const live = await tenant.sessionState(principal, sessionId, "touch").catch(() => null);
		// A session held by its object may have built its SDK server already: deliver it there.
		return live && !live.hasObject ? new Response(null, { status: 202, headers: { "Mcp-Session-Id": sessionId } }) : null;
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
		return unknown ? null : answer(sessionId, response);
	}
	return null;
}
