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
 *
 * A hosted call whose token lacks the tool's scope is refused before any of this, by the routes'
 * step-up challenge (403 `insufficient_scope`), exactly as a built-in tool is: {@link hostedToolNeedingScope}
 * tells the routes which scope the tool needs.
 */
import { parseHostedToolName } from "../../shared/apps/manifest";
import { forgetHostedCatalog, hostedCatalog } from "../../shared/mcp/hosted-catalog";
import { isRequest, type RpcMessage, type RpcRequest } from "../../shared/mcp/jsonrpc";
import type { ToolCall } from "../../shared/rpc/kernel";
import { hasScope, type VerifiedPrincipal } from "../../shared/rpc/principal";
import { sessionStub, tenantStub } from "../../shared/rpc/stubs";
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

/**
 * The hosted tool `name` of the principal's tenant when the principal lacks the scope it needs,
 * else null. Asks the kernel only for a hosted name and a principal without `mcp:write` (which
 * holds every scope a hosted tool can need), and then afresh, not from the isolate's copy of the
 * catalog: a tool's scope may have changed with a deploy moments ago. A name the tenant does not
 * have is null here and "Unknown tool" in the kernel.
 *
 * @example
 * ```ts
 * const tool = await hostedToolNeedingScope(env, principal, "notes__write"); // { name, scope: "mcp:write" }
 * ```
 */
export async function hostedToolNeedingScope(
	env: Env,
	principal: VerifiedPrincipal,
	name: string,
): Promise<{ name: string; scope: "mcp:read" | "mcp:write" } | null> {
	if (parseHostedToolName(name) === null || hasScope(principal.scopes, "mcp:write")) return null;
	forgetHostedCatalog(principal.tenantId);
	const catalog = await hostedCatalog(principal.tenantId, () => tenantStub(env, principal).hostedTools());
	const tool = catalog.tools.find((t) => t.name === name);
	return tool && !hasScope(principal.scopes, tool.scope) ? { name: tool.name, scope: tool.scope } : null;
}

/**
 * The published input schema of hosted tool `name`, for the 2026-07-28 lane's SEP-2243 header
 * check (a manifest may declare `x-mcp-header` parameters like any tool), or undefined when `name`
 * is no hosted tool of the caller's tenant. From the tenant's hosted catalog, cached in this
 * isolate as for lists and calls.
 *
 * @example
 * ```ts
 * const schema = await hostedInputSchema(env, principal, "geo__lookup"); // { type: "object", properties: … }
 * ```
 */
export async function hostedInputSchema(
	env: Env,
	principal: VerifiedPrincipal,
	name: string,
): Promise<Record<string, unknown> | undefined> {
	if (parseHostedToolName(name) === null) return undefined;
	const catalog = await hostedCatalog(principal.tenantId, () => tenantStub(env, principal).hostedTools());
	return catalog.tools.find((t) => t.name === name)?.inputSchema;
}

/** The run context of a request: its bindings and the main module's exports (`ctx.exports`). */
export function runContext(env: Env, ctx: ExecutionContext): AppRunContext {
	return { env, exports: ctx.exports, waitUntil: (work) => ctx.waitUntil(work) };
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
