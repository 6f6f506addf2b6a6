/**
 * @module objects/session/legacy-server
 * The legacy-lane adapter: publishes the deployment's catalog (tools, resources, resource
 * templates, prompts; `shared/catalog/registry`) on an MCP SDK v1 `Server` and forwards every call, read
 * and prompt to the tenant kernel, which authorises, rate-limits, runs and audits it. Everything is
 * declared once (`shared/catalog/packs`); this file only translates between the catalog and the SDK.
 *
 * Client interactions a tool declares (confirmation, `asks`: elicitation, sampling, roots) are
 * pushed to the client on the request's own stream before the kernel runs the call (or renders
 * the prompt); the kernel then runs synchronously with the answers. Progress and log messages the
 * tool reported travel on the same stream before the result.
 *
 * A little over the ~300-line guide: one short handler per MCP method around the one SDK `Server`
 * they share; the policy they apply lives in `shared/mcp/publish.ts` and `shared/mcp/asks.ts`.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
	CallToolRequestSchema,
	CompleteRequestSchema,
	ErrorCode,
	GetPromptRequestSchema,
	ListPromptsRequestSchema,
	ListResourcesRequestSchema,
	ListResourceTemplatesRequestSchema,
	ListToolsRequestSchema,
	McpError,
	ReadResourceRequestSchema,
	SetLevelRequestSchema,
	SubscribeRequestSchema,
	UnsubscribeRequestSchema,
	type CallToolResult,
	type CreateMessageRequestParamsBase,
	type ElicitRequestFormParams,
	type GetPromptResult,
	type ReadResourceResult,
} from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { parseHostedToolName } from "../../shared/apps/manifest";
import { TASK_REQUIRED_MESSAGE, toJsonRpcError, type Failure, type Result } from "../../shared/errors";
import type { Admission, Lane, RequestRecord, ToolCall, ToolOutcome } from "../../shared/rpc/kernel";
import { admissionError } from "../../shared/mcp/admission";
import { log } from "../../shared/log";
import { hasScope, type VerifiedPrincipal } from "../../shared/rpc/principal";
import { CONFIRM_SCHEMA, INSTRUCTIONS, runInKernel, serverInfo, type KernelCall } from "../../shared/mcp/answers";
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
} from "../../shared/mcp/publish";
import { canAnswer, wantedAsks } from "../../shared/mcp/asks";
import { guardHandlers } from "../../shared/mcp/handler-guard";
import { logPasses, type Catalog, type ToolDefinition } from "../../shared/catalog/registry";
import { legacyTask, registerLegacyTasks, type TaskKernel } from "./legacy-tasks";

/** What the adapter needs from its host: the caller of each request, the catalog and the kernel. */
export interface LaneHost {
	lane: Lane;
	/** The deployment's catalog (`catalogFor(env)`): only enabled packs. */
	catalog: Catalog;
	protocolVersion(): string;
	principalOf(extra: { authInfo?: { extra?: Record<string, unknown> } }): VerifiedPrincipal;
	callTool(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>>;
	record(principal: VerifiedPrincipal, request: RequestRecord): Promise<Admission | undefined | void>;
	traceId(): string;
	sessionId: string;
	/** The tenant's hosted tools as `tools/list` shows them to `principal` (run by the front Worker, listed here). */
	hostedTools?(principal: VerifiedPrincipal): Promise<object[]>;
	/** The tenant kernel's task methods (2025-11-25 experimental tasks, `./legacy-tasks.ts`). */
	tasks?(principal: VerifiedPrincipal): TaskKernel;
	/** The deployment's origin (`SMCP_PUBLIC_ORIGIN`), for `serverInfo.websiteUrl`. */
	origin?: string;
}

/** How long the client may take to answer a pushed request (a person may be reading a form). */
const ASK_TIMEOUT_MS = 600_000;
/** Most rounds of asks one call may take (each round may depend on the previous answers). */
const MAX_ASK_ROUNDS = 8;

/**
 * Builds the SDK server for one session.
 *
 * @example
 * ```ts
 * const server = createLegacyServer(host);
 * await server.connect(transport);
 * ```
 */
export function createLegacyServer(host: LaneHost): Server {
	const catalog = host.catalog;
	const caps = serverCapabilities(catalog, "legacy");
	const server = new Server(serverInfo(host.origin), {
		capabilities: caps,
		instructions: INSTRUCTIONS,
		// workerd forbids code generation, so Ajv's compiled validators cannot run here.
		jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
	});
	// Two error planes: protocol errors pass, anything else is a generic -32603 (shared/mcp/handler-guard.ts).
	guardHandlers(server, {
		isProtocolError: (e) => e instanceof McpError,
		internalError: () => new McpError(ErrorCode.InternalError, "Internal error"),
		event: "mcp.handler_failed",
		traceId: host.traceId,
	});
	/** The session's minimum log level (spec §utilities/logging); in memory, reset by eviction. */
	let logLevel: string | undefined;
	/**
	 * URIs this session subscribed to (spec §resources "Subscriptions"); in memory like the server.
	 * No served resource changes yet, so no `notifications/resources/updated` is ever due.
	 */
	const subscriptions = new Set<string>();

	/** Records a request of this session with the kernel: its lane, protocol version, trace and id added. */
	const record = (principal: VerifiedPrincipal, r: Pick<RequestRecord, "method" | "tool" | "decision" | "outcome" | "durationMs">) =>
		host.record(principal, {
			...r,
			lane: host.lane,
			protocolVersion: host.protocolVersion(),
			traceId: host.traceId(),
			sessionId: host.sessionId,
		});

	/** Admits and audits a request the kernel does not run as a tool; a refusal is thrown as its JSON-RPC error. */
	const audit = async (principal: VerifiedPrincipal, method: string, started: number, outcome = "ok") => {
		const refused = admissionError(await record(principal, { method, decision: "allowed", outcome, durationMs: Date.now() - started }));
		if (refused) throw new McpError(refused.code, refused.message, refused.data);
	};

	const run = (principal: VerifiedPrincipal, call: KernelCall) => runInKernel(host, principal, call);

	/**
	 * Puts a call's asks to the client on the request's stream, round by round (a later ask may
	 * depend on an earlier answer), and returns the answers. A client without the capability, or
	 * one that fails to answer, leaves the answer out; the tool reports it.
	 */
	const askClient = async (
		tool: ToolDefinition | undefined,
		args: Record<string, unknown>,
		requestId: string | number,
	): Promise<Record<string, unknown>> => {
		const can = canAnswer(server.getClientCapabilities());
		const answers: Record<string, unknown> = {};
		const unanswered = new Set<string>();
		const options = { relatedRequestId: requestId, timeout: ASK_TIMEOUT_MS };
		for (let round = 0; round < MAX_ASK_ROUNDS; round++) {
			const wanted = Object.entries(wantedAsks(tool, args, answers, can)).filter(([key]) => !unanswered.has(key));
			if (wanted.length === 0) break;
			for (const [key, ask] of wanted) {
				try {
					if (ask.method === "elicitation/create") answers[key] = await server.elicitInput(ask.params as ElicitRequestFormParams, options);
					else if (ask.method === "sampling/createMessage")
						answers[key] = await server.createMessage(ask.params as CreateMessageRequestParamsBase, options);
					else answers[key] = await server.listRoots(undefined, options);
				} catch (e) {
					unanswered.add(key);
					log("warn", "tool.ask_failed", {
						trace: host.traceId(),
						tool: (tool?.name ?? "").slice(0, 64),
						ask: ask.method,
						error: e instanceof Error ? e.name : "unknown",
					});
				}
			}
		}
		return answers;
	};

	/** Runs a resource read or prompt get in the kernel; a tool error becomes -32602 with its text. */
	const read = async (principal: VerifiedPrincipal, call: KernelRead, fallback: string) => {
		const outcome = await run(principal, call);
		if (!outcome.ok) {
			const wire = toJsonRpcError(outcome.error);
			throw new McpError(wire.code, wire.message);
		}
		const r = outcome.value.result;
		if (r.isError) throw new McpError(ErrorCode.InvalidParams, r.content[0]?.text ?? fallback);
		return r.structuredContent;
	};

	server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => {
		const principal = host.principalOf(extra);
		await audit(principal, "tools/list", Date.now());
		// tools/list shows the tools this token may call: the built-in ones, then the tenant's hosted tools.
		const hosted = (await host.hostedTools?.(principal)) ?? [];
		return { tools: [...toolList(catalog, principal.scopes), ...hosted] as never };
	});

	const tasks =
		caps.tasks && host.tasks
			? registerLegacyTasks(server, { kernel: (p) => host.tasks!(p), principalOf: (extra) => host.principalOf(extra as never) })
			: undefined;

	server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
		const principal = host.principalOf(extra);
		// A tenant's own tool runs in the front Worker, which takes a lone call only (worker/apps/lanes.ts):
		// one that reaches the session came inside a 2025-03-26 batch. Refused on its own, never dropped.
		if (parseHostedToolName(req.params.name) !== null) {
			const refused = admissionError(
				await record(principal, {
					method: "tools/call",
					tool: req.params.name,
					decision: "denied",
					outcome: "batched_hosted_call",
					durationMs: 0,
				}),
			);
			if (refused) throw new McpError(refused.code, refused.message, refused.data);
			throw new McpError(
				ErrorCode.InvalidRequest,
				`Hosted tool ${req.params.name} cannot run inside a JSON-RPC batch: send this tools/call as a request of its own.`,
			);
		}
		const args = (req.params.arguments ?? {}) as Record<string, unknown>;
		// 2025-11-25 tasks: `params.task` asks for a task; `execution.taskSupport` says which tools allow it.
		const taskSupport = catalog.tools.callable(req.params.name)?.task?.support;
		const taskWanted = req.params.task !== undefined;
		if (taskWanted && (!tasks || !taskSupport)) throw new McpError(ErrorCode.MethodNotFound, "This tool does not run as a task.");
		if (!taskWanted && taskSupport === "required") throw new McpError(ErrorCode.MethodNotFound, TASK_REQUIRED_MESSAGE);
		const clientCaps = server.getClientCapabilities();
		let confirmation: ToolCall["confirmation"];
		const question = confirmationQuestion(catalog, req.params.name, args);
		// Ask the person, not the model, whenever the client can show a form (MCP 2025-06-18+
		// elicitation). Without that capability the kernel asks the model to pass confirm: true.
		if (question && clientCaps?.elicitation) {
			const started = Date.now();
			const answer = await server.elicitInput(
				{ message: question, requestedSchema: CONFIRM_SCHEMA },
				{ relatedRequestId: extra.requestId, timeout: ASK_TIMEOUT_MS },
			);
			if (answer.action !== "accept" || answer.content?.confirm !== true) {
				await record(principal, {
					method: "tools/call",
					tool: req.params.name,
					decision: "denied",
					outcome: `confirmation_${answer.action === "accept" ? "declined" : answer.action}`,
					durationMs: Date.now() - started,
				});
				return { content: [{ type: "text", text: "Not done: the user did not confirm. Nothing was changed." }], isError: true };
			}
			confirmation = { via: "elicitation" };
		}
		// The tool's own requests to the client, pushed on this request's stream.
		const tool = catalog.tools.callable(req.params.name);
		const answers = await askClient(tool, args, extra.requestId);
		// SEP-1699 polling: the result waits in the event log for the client's Last-Event-ID GET.
		if (tool?.releasesStream) extra.closeSSEStream?.();
		const outcome = await run(principal, {
			name: req.params.name,
			arguments: args,
			...(confirmation ? { confirmation } : {}),
			...(Object.keys(answers).length ? { answers } : {}),
			...(taskWanted ? { task: typeof req.params.task?.ttl === "number" ? { ttlMs: req.params.task.ttl } : {} } : {}),
		});
		if (!outcome.ok) {
			const wire = toJsonRpcError(outcome.error);
			throw new McpError(wire.code, wire.message);
		}
		if (outcome.value.task) {
			tasks?.watch(principal, outcome.value.task);
			return { task: legacyTask(outcome.value.task) } as never;
		}
		// Refused before a task existed (rate limit, ceiling, invalid arguments): no task to return.
		if (taskWanted) throw new McpError(ErrorCode.InvalidRequest, outcome.value.result.content[0]?.text ?? "The task was not started.");
		const token = req.params._meta?.progressToken;
		if (token !== undefined) {
			for (const p of outcome.value.progress) {
				await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, ...p } });
			}
		}
		if (caps.logging) {
			for (const l of outcome.value.logs ?? []) {
				if (logPasses(l.level, logLevel))
					await extra.sendNotification({
						method: "notifications/message",
						params: { level: l.level, logger: req.params.name, data: l.data },
					});
			}
		}
		return outcome.value.result as CallToolResult;
	});

	server.setRequestHandler(ListResourcesRequestSchema, async (_req, extra) => {
		const principal = host.principalOf(extra);
		await audit(principal, "resources/list", Date.now());
		return { resources: resourceList(catalog, principal.scopes) };
	});

	server.setRequestHandler(ListResourceTemplatesRequestSchema, async (_req, extra) => {
		const principal = host.principalOf(extra);
		await audit(principal, "resources/templates/list", Date.now());
		return { resourceTemplates: templateList(catalog, principal.scopes) };
	});

	server.setRequestHandler(ReadResourceRequestSchema, async (req, extra) => {
		const principal = host.principalOf(extra);
		const target = resourceRead(catalog, req.params.uri);
		// MCP 2025-11-25 §resources "Error Handling": resource not found → -32002.
		if (!target) throw new McpError(-32002, "Resource not found");
		const output = await read(principal, target.call, "Invalid resource query");
		return { contents: resourceContents(target.def, output, req.params.uri) } as ReadResourceResult;
	});

	if (caps.resources && "subscribe" in caps.resources) {
		const subscribable = (uri: string, principal: VerifiedPrincipal) => {
			const def = catalog.resource(uri);
			if (!def?.subscribable || !hasScope(principal.scopes, def.scope)) throw new McpError(-32002, "Resource not found");
		};
		server.setRequestHandler(SubscribeRequestSchema, async (req, extra) => {
			const principal = host.principalOf(extra);
			subscribable(req.params.uri, principal);
			subscriptions.add(req.params.uri);
			await audit(principal, "resources/subscribe", Date.now());
			return {};
		});
		server.setRequestHandler(UnsubscribeRequestSchema, async (req, extra) => {
			const principal = host.principalOf(extra);
			subscribable(req.params.uri, principal);
			subscriptions.delete(req.params.uri);
			await audit(principal, "resources/unsubscribe", Date.now());
			return {};
		});
	}

	if (caps.prompts) {
		server.setRequestHandler(ListPromptsRequestSchema, async (_req, extra) => {
			const principal = host.principalOf(extra);
			await audit(principal, "prompts/list", Date.now());
			return { prompts: promptList(catalog, principal.scopes) };
		});
		server.setRequestHandler(GetPromptRequestSchema, async (req, extra) => {
			const principal = host.principalOf(extra);
			const call = promptGet(catalog, req.params.name, req.params.arguments);
			// MCP 2025-11-25 §prompts "Error Handling": invalid prompt name → -32602.
			if (!call) throw new McpError(ErrorCode.InvalidParams, "Unknown prompt");
			// A prompt's renderer may ask the client too (its asks, as for a tool).
			const answers = await askClient(catalog.tools.get(call.name), call.arguments, extra.requestId);
			return promptResult(
				await read(principal, { ...call, ...(Object.keys(answers).length ? { answers } : {}) }, "Invalid prompt arguments"),
			) as GetPromptResult;
		});
	}

	if (caps.completions) {
		server.setRequestHandler(CompleteRequestSchema, async (req, extra) => {
			const principal = host.principalOf(extra);
			const completion = completionValues(catalog, req.params.ref, req.params.argument, principal.scopes);
			// §utilities/completion "Error Handling": invalid prompt name → -32602.
			if (!completion) throw new McpError(ErrorCode.InvalidParams, "Unknown prompt or resource template");
			await audit(principal, "completion/complete", Date.now());
			return { completion };
		});
	}

	if (caps.logging) {
		server.setRequestHandler(SetLevelRequestSchema, async (req, extra) => {
			const principal = host.principalOf(extra);
			logLevel = req.params.level;
			await audit(principal, "logging/setLevel", Date.now());
			return {};
		});
	}

	return server;
}
