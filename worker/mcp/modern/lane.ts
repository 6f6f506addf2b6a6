/**
 * @module worker/mcp/modern/lane
 * The 2026-07-28 lane on `/mcp`: stateless, one SDK v2 server per request
 * (`createMcpHandler` with `legacy: 'reject'`; 2025-era traffic is routed to the sessionful lane
 * before it gets here). It publishes the same tool registry as the legacy lane and sends every call
 * to the same TenantObject, so a tenant's data is the same whichever revision a client speaks.
 *
 * Confirmation of destructive calls and a tool's own asks use the multi-round-trip pattern
 * (spec 2026-07-28 basic/patterns/mrtr, `worker/mcp/modern/mrtr.ts`): a round returns `input_required` with
 * the input requests and a `requestState` sealed with HMAC-SHA256 under a key derived from
 * `SMCP_SECRET`, bound to the principal, naming the tool and a digest of its arguments, expiring
 * after five minutes, and carrying a nonce the kernel spends exactly once. Tampered, expired,
 * cross-principal or replayed state is refused and audited.
 */
import {
	CLIENT_CAPABILITIES_META_KEY,
	LOG_LEVEL_META_KEY,
	createMcpHandler,
	createRequestStateCodec,
	ProtocolError,
	ProtocolErrorCode,
	ResourceNotFoundError,
	type McpHttpHandler,
	type RequestStateCodec,
	type ServerContext,
} from "@modelcontextprotocol/server";
import { toJsonRpcError, type Failure, type Result } from "../../../shared/errors";
import type { RequestRecord, TenantKernel, ToolOutcome } from "../../../shared/rpc/kernel";
import { log } from "../../../shared/log";
import { catalogFor } from "../../../shared/catalog/packs";
import { issuedPrincipal, type VerifiedPrincipal } from "../../../shared/rpc/principal";
import {
	completionValues,
	confirmationQuestion,
	promptGet,
	promptList,
	promptResult,
	resourceContents,
	resourceList,
	resourceRead,
	serverCapabilities,
	templateList,
	toolList,
	type KernelRead,
} from "../../../shared/mcp/publish";
import { logPasses, type Catalog } from "../../../shared/catalog/registry";
import { admissionError } from "../../../shared/mcp/admission";
import { INSTRUCTIONS, serverInfo } from "../../../shared/mcp/answers";
import type { Env } from "../../../shared/env";
import { tenantStub } from "../../../shared/rpc/stubs";
import { guardHandlers } from "../../../shared/mcp/handler-guard";
import { nextRound, ROUND_TTL_SECONDS, type Round, type RoundState } from "./mrtr";
import { parseHostedToolName } from "../../../shared/apps/manifest";
import { hostedCatalog, hostedToolList } from "../../../shared/mcp/hosted-catalog";
import type { HostedRunner } from "../../apps/lanes";
import { createTaskResult, declaresTasks, registerTaskMethods, tasksRequired, TaskServer } from "./tasks";

/** The modern protocol revision this lane serves. */
export const MODERN_REVISION = "2026-07-28";
/** Lists vary by the caller's scopes, so only the requesting client may cache them. */
const LIST_CACHE = { ttlMs: 60_000, cacheScope: "private" as const };
/**
 * The tool list also varies by tenant and changes when an app is deployed, rolled back or removed,
 * which this stateless lane cannot announce: clients re-list within 10 seconds (`private`, per caller).
 */
const TOOLS_CACHE = { ttlMs: 10_000, cacheScope: "private" as const };

const principalOf = (ctx: ServerContext): VerifiedPrincipal => issuedPrincipal(ctx.http?.authInfo?.extra?.principal);

let cached: { secret: string; catalog: Catalog; handler: Promise<McpHttpHandler> } | undefined;

/**
 * The modern-lane handler for this isolate (built once per secret and catalog).
 *
 * @example
 * ```ts
 * if (!(await isLegacyRequest(request))) return (await modernHandler(env, secret)).fetch(request, { authInfo });
 * ```
 */
export function modernHandler(env: Env, secret: string): Promise<McpHttpHandler> {
	const catalog = catalogFor(env);
	if (cached?.secret !== secret || cached.catalog !== catalog) cached = { secret, catalog, handler: build(env, secret, catalog) };
	return cached.handler;
}

/** The requestState key: HMAC(SMCP_SECRET, purpose), so no other use of the secret can forge it. */
async function stateKey(secret: string): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("smcp/request-state/v1")));
}

async function build(env: Env, secret: string, catalog: Catalog): Promise<McpHttpHandler> {
	const codec = createRequestStateCodec<RoundState>({
		key: await stateKey(secret),
		ttlSeconds: ROUND_TTL_SECONDS,
		// basic/patterns/mrtr: state that influences authorization MUST be bound to the user.
		bind: (ctx) => {
			const p = principalOf(ctx);
			return `${ctx.mcpReq.method}\0${p.tenantId}\0${p.userId}\0${p.clientId}`;
		},
	});
	const tenant = (p: VerifiedPrincipal) => tenantStub(env, p);
	return createMcpHandler(() => createModernServer(tenant, codec, catalog, env.SMCP_PUBLIC_ORIGIN), {
		legacy: "reject",
		responseMode: "auto",
		onerror: (e) => log("warn", "modern.rejected", { error: e.name, message: e.message.slice(0, 200) }),
	});
}

type TenantOf = (p: VerifiedPrincipal) => DurableObjectStub<TenantKernel & Rpc.DurableObjectBranded>;

/** One request's server: the catalog published on the SDK v2 low-level `Server`. */
function createModernServer(tenant: TenantOf, codec: RequestStateCodec<RoundState>, catalog: Catalog, origin?: string): TaskServer {
	const record = (p: VerifiedPrincipal, ctx: ServerContext, r: Omit<RequestRecord, "lane" | "protocolVersion" | "traceId">) =>
		tenant(p).record(p, { ...r, lane: "modern", protocolVersion: MODERN_REVISION, traceId: traceFrom(ctx) });
	/** Admits and audits a list; a refusal (revoked credential, spent budget) is its JSON-RPC error. */
	const listed = async (p: VerifiedPrincipal, ctx: ServerContext, method: string) => {
		const refused = admissionError(await record(p, ctx, { method, decision: "allowed", outcome: "ok", durationMs: 0 }));
		if (refused) throw new ProtocolError(refused.code, refused.message, refused.data);
	};
	const caps = serverCapabilities(catalog, "modern");

	/** Runs a resource read or prompt get in the kernel; any refusal or tool error is -32602. */
	const read = async (p: VerifiedPrincipal, ctx: ServerContext, call: KernelRead, message: string) => {
		const outcome = (await tenant(p).callTool(p, {
			...call,
			lane: "modern",
			protocolVersion: MODERN_REVISION,
			traceId: traceFrom(ctx),
		})) as Result<ToolOutcome, Failure>;
		if (!outcome.ok || outcome.value.result.isError) throw new ProtocolError(ProtocolErrorCode.InvalidParams, message);
		return outcome.value.result.structuredContent;
	};

	const server = new TaskServer(serverInfo(origin), {
		capabilities: caps,
		instructions: INSTRUCTIONS,
		cacheHints: {
			"tools/list": TOOLS_CACHE,
			"resources/list": LIST_CACHE,
			"resources/templates/list": LIST_CACHE,
			"prompts/list": LIST_CACHE,
			"server/discover": { ttlMs: 300_000, cacheScope: "public" },
		},
		requestState: {
			verify: async (state, ctx) => {
				try {
					return await codec.verify(state, ctx);
				} catch (e) {
					// Tampered, expired or another principal's state: the SDK answers -32602; we audit it.
					const p = principalOf(ctx);
					await record(p, ctx, {
						method: ctx.mcpReq.method,
						decision: "denied",
						outcome: `invalid_request_state:${e instanceof Error ? e.message : "unknown"}`,
						durationMs: 0,
					});
					throw e;
				}
			},
		},
	});

	// Two error planes: protocol errors pass, anything else is a generic -32603 (shared/mcp/handler-guard.ts).
	guardHandlers(server, {
		isProtocolError: (e) => e instanceof ProtocolError,
		internalError: () => new ProtocolError(ProtocolErrorCode.InternalError, "Internal error"),
		event: "modern.handler_failed",
	});

	server.setRequestHandler("tools/list", async (_req, ctx) => {
		const p = principalOf(ctx);
		await listed(p, ctx, "tools/list");
		// Deterministic order (by name, hosted tools among the built-in ones), as 2026-07-28 §tools/list recommends.
		const hosted = await hostedCatalog(p.tenantId, () => tenant(p).hostedTools());
		const tools = [...toolList(catalog, p.scopes), ...hostedToolList(hosted, p.scopes)].sort((a, b) =>
			a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
		);
		return { tools: tools as never };
	});

	/** Audits a round that ends the call without running it (declined, or state for another call). */
	const refused = async (p: VerifiedPrincipal, ctx: ServerContext, tool: string, round: Round, started: number) => {
		const outcome = round.kind === "declined" ? "confirmation_declined" : "request_state_mismatch";
		await record(p, ctx, { method: ctx.mcpReq.method, tool, decision: "denied", outcome, durationMs: Date.now() - started });
	};

	server.setRequestHandler("tools/call", async (req, ctx) => {
		const p = principalOf(ctx);
		const started = Date.now();
		const name = req.params.name;
		const args = (req.params.arguments ?? {}) as Record<string, unknown>;
		const hosted = ctx.http?.authInfo?.extra?.hosted as HostedRunner | undefined;
		if (hosted && parseHostedToolName(name)) {
			// A tenant's own tool: run from this Worker request (worker/apps/run.ts), audited by the kernel.
			// As a task when the manifest allows one and the request declared the extension (the kernel has the last word).
			const entry = (await hostedCatalog(p.tenantId, () => tenant(p).hostedTools())).tools.find((t) => t.name === name);
			const hostedTask = entry?.execution !== undefined && declaresTasks(ctx);
			if (entry?.execution?.taskSupport === "required" && !hostedTask) throw tasksRequired();
			const r = await hosted(p, {
				name,
				arguments: args,
				lane: "modern",
				protocolVersion: MODERN_REVISION,
				traceId: traceFrom(ctx),
				...(hostedTask ? { task: {} } : {}),
			});
			if (r.ok && r.value.task) return server.answerWithTask(ctx, createTaskResult(r.value.task)) as never;
			if (r.ok) return r.value.result as never;
			if (r.error.reason === "task_required") throw tasksRequired();
			if (r.error.reason === "unknown_tool") throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${r.error.tool}`);
			// Normally answered before this lane by the routes' 403 step-up; here only if a deploy changed the scope in between.
			if (r.error.reason === "insufficient_scope")
				throw new ProtocolError(ProtocolErrorCode.InvalidParams, toJsonRpcError(r.error).message);
			throw new ProtocolError(ProtocolErrorCode.InternalError, "Internal error");
		}
		const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
		const clientCaps = envelope[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: unknown } | undefined;
		// Ask the person, not the model, when the client can show a form; otherwise the kernel
		// refuses the unconfirmed call and tells the model to pass confirm: true.
		const question = clientCaps?.elicitation ? confirmationQuestion(catalog, name, args) : undefined;
		// Tasks (SEP-2663): the server decides; a client that did not declare the extension gets the
		// call inline, or -32021 for a tool that runs only as a task.
		const taskSupport = catalog.tools.callable(name)?.task?.support;
		const asTask = taskSupport !== undefined && declaresTasks(ctx);
		if (taskSupport === "required" && !asTask) throw tasksRequired();
		const round = await nextRound(ctx, codec, { subject: name, tool: catalog.tools.callable(name), args, question });
		if (round.kind === "ask") return round.result as never;
		if (round.kind !== "run") {
			await refused(p, ctx, name, round, started);
			if (round.kind === "mismatch") throw new ProtocolError(ProtocolErrorCode.InvalidParams, "Invalid or expired requestState");
			return { content: [{ type: "text", text: "Not done: the user did not confirm. Nothing was changed." }], isError: true };
		}
		const { answers, confirmation } = round;
		const outcome = (await tenant(p).callTool(p, {
			name,
			arguments: args,
			lane: "modern",
			protocolVersion: MODERN_REVISION,
			traceId: traceFrom(ctx),
			...(confirmation ? { confirmation } : {}),
			...(Object.keys(answers).length ? { answers } : {}),
			...(asTask ? { task: {} } : {}),
		})) as Result<ToolOutcome, Failure>;
		if (!outcome.ok) {
			const e = outcome.error;
			if (e.reason === "unknown_tool" || e.reason === "insufficient_scope")
				throw new ProtocolError(ProtocolErrorCode.InvalidParams, toJsonRpcError(e).message);
			throw new ProtocolError(ProtocolErrorCode.InternalError, "Internal error");
		}
		if (outcome.value.task) return server.answerWithTask(ctx, createTaskResult(outcome.value.task)) as never;
		const token = ctx.mcpReq._meta?.progressToken ?? req.params._meta?.progressToken;
		if (token !== undefined) {
			for (const pr of outcome.value.progress)
				await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: token, ...pr } });
		}
		// 2026-07-28: notifications/message only for requests that asked for a log level.
		const level = envelope[LOG_LEVEL_META_KEY];
		if (typeof level === "string") {
			for (const l of outcome.value.logs ?? []) if (logPasses(l.level, level)) await ctx.mcpReq.log(l.level, l.data, name);
		}
		if (level === "debug" || level === "info") {
			await ctx.mcpReq.log("info", { tool: name, ms: Date.now() - started, isError: outcome.value.result.isError === true });
		}
		return outcome.value.result as never;
	});

	server.setRequestHandler("resources/list", async (_req, ctx) => {
		const p = principalOf(ctx);
		await listed(p, ctx, "resources/list");
		return { resources: resourceList(catalog, p.scopes) };
	});

	server.setRequestHandler("resources/templates/list", async (_req, ctx) => {
		const p = principalOf(ctx);
		await listed(p, ctx, "resources/templates/list");
		return { resourceTemplates: templateList(catalog, p.scopes) };
	});

	server.setRequestHandler("resources/read", async (req, ctx) => {
		const p = principalOf(ctx);
		const target = resourceRead(catalog, req.params.uri);
		// 2026-07-28 §resources "Error Handling" (SEP-2164): a miss is -32602 with the URI in `data`.
		if (!target) throw new ResourceNotFoundError(req.params.uri, "Resource not found");
		const output = await read(p, ctx, target.call, "Invalid resource query");
		return { contents: resourceContents(target.def, output, req.params.uri) as never, ttlMs: 0, cacheScope: "private" };
	});

	if (caps.prompts) {
		server.setRequestHandler("prompts/list", async (_req, ctx) => {
			const p = principalOf(ctx);
			await listed(p, ctx, "prompts/list");
			return { prompts: promptList(catalog, p.scopes) };
		});
		server.setRequestHandler("prompts/get", async (req, ctx) => {
			const p = principalOf(ctx);
			const call = promptGet(catalog, req.params.name, req.params.arguments);
			if (!call) throw new ProtocolError(ProtocolErrorCode.InvalidParams, "Unknown prompt");
			// A prompt's renderer may ask the client first (input_required is allowed on prompts/get).
			const round = await nextRound(ctx, codec, { subject: req.params.name, tool: catalog.tools.get(call.name), args: call.arguments });
			if (round.kind === "ask") return round.result as never;
			if (round.kind !== "run") {
				await refused(p, ctx, req.params.name, round, Date.now());
				throw new ProtocolError(ProtocolErrorCode.InvalidParams, "Invalid or expired requestState");
			}
			const answers = Object.keys(round.answers).length ? { answers: round.answers } : {};
			return promptResult(await read(p, ctx, { ...call, ...answers }, "Invalid prompt arguments")) as never;
		});
	}

	if (caps.extensions) registerTaskMethods(server, (ctx) => ({ p: principalOf(ctx), kernel: tenant(principalOf(ctx)) }));

	if (caps.completions) {
		server.setRequestHandler("completion/complete", async (req, ctx) => {
			const p = principalOf(ctx);
			const completion = completionValues(catalog, req.params.ref, req.params.argument, p.scopes);
			if (!completion) throw new ProtocolError(ProtocolErrorCode.InvalidParams, "Unknown prompt or resource template");
			await listed(p, ctx, "completion/complete");
			return { completion };
		});
	}

	return server;
}

/** The trace id the front Worker put on the request (for logs and audit). */
function traceFrom(ctx: ServerContext): string {
	const t = ctx.http?.authInfo?.extra?.traceId;
	return typeof t === "string" ? t : "none";
}
