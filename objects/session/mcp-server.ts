/**
 * @module objects/session/mcp-server
 * The legacy-lane adapter: publishes the shared tool registry (and the audit-log resource) on an
 * MCP SDK v1 `Server` and forwards every call to the tenant kernel, which authorises, rate-limits,
 * runs and audits it. Tools are declared once (`shared/packs`); this file only translates between
 * the registry and the SDK.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
	CallToolRequestSchema,
	ErrorCode,
	ListResourcesRequestSchema,
	ListToolsRequestSchema,
	McpError,
	ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { toJsonRpcError, type Failure, type Result } from "../../shared/errors";
import type { Lane, RequestRecord, ToolCall, ToolOutcome } from "../../shared/kernel-api";
import { log } from "../../shared/log";
import { registry } from "../../shared/packs";
import { hasScope, type VerifiedPrincipal } from "../../shared/principal";
import { toJsonSchema } from "../../shared/registry";

/** Server identity sent in `initialize` results. */
export const SERVER_INFO = { name: "smcp", title: "SMCP", version: "0.1.0" } as const;

export const INSTRUCTIONS =
	"SMCP keeps a knowledge graph of entities, relations and observations for your workspace. " +
	"Search or open nodes before creating new ones; data persists across sessions and clients. " +
	"audit_log shows what every client did in this workspace.";

/** The audit trail as an MCP resource (query parameters as in `audit_log`). */
export const AUDIT_RESOURCE = {
	uri: "smcp://audit-log",
	name: "audit-log",
	title: "Audit log",
	description: "This workspace's audit trail, newest first (JSON). Query: ?tool=&client=&decision=&since=&until=&cursor=&limit=",
	mimeType: "application/json",
};

/** What the adapter needs from its host: the caller of each request and the kernel. */
export interface LaneHost {
	lane: Lane;
	protocolVersion(): string;
	principalOf(extra: { authInfo?: { extra?: Record<string, unknown> } }): VerifiedPrincipal;
	callTool(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>>;
	record(principal: VerifiedPrincipal, request: RequestRecord): Promise<void>;
	traceId(): string;
	sessionId: string;
}

/** The form shown to confirm a destructive call. */
export const CONFIRM_SCHEMA = {
	type: "object" as const,
	properties: { confirm: { type: "boolean" as const, title: "Confirm", description: "Check to go ahead" } },
	required: ["confirm"],
};

/** The confirmation question for a call, when its tool asks one for these arguments. */
export function confirmationQuestion(name: string, args: Record<string, unknown>): string | undefined {
	const tool = registry.get(name);
	if (!tool?.confirm) return undefined;
	const parsed = tool.input.safeParse(args);
	return parsed.success ? tool.confirm(parsed.data) : undefined;
}

/** The tools/list entry of every tool, built once per isolate. */
export const TOOL_LIST = registry.list().map((t) => ({
	tool: {
		name: t.name,
		title: t.title,
		description: t.description,
		inputSchema: toJsonSchema(t.input, "input"),
		outputSchema: toJsonSchema(t.output, "output"),
		annotations: { title: t.title, ...t.annotations },
	},
	scope: t.scope,
}));

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
	const server = new Server(SERVER_INFO, {
		capabilities: { tools: { listChanged: false }, resources: { listChanged: false } },
		instructions: INSTRUCTIONS,
		// workerd forbids code generation, so Ajv's compiled validators cannot run here.
		jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
	});
	const audit = (principal: VerifiedPrincipal, method: string, started: number, outcome = "ok") =>
		host.record(principal, {
			method,
			lane: host.lane,
			protocolVersion: host.protocolVersion(),
			traceId: host.traceId(),
			sessionId: host.sessionId,
			decision: "allowed",
			outcome,
			durationMs: Date.now() - started,
		});

	/** Forwards a call to the kernel; platform failures become a generic -32603. */
	const run = async (principal: VerifiedPrincipal, call: Omit<ToolCall, "lane" | "protocolVersion" | "traceId" | "sessionId">) => {
		try {
			return await host.callTool(principal, { ...call, lane: host.lane, protocolVersion: host.protocolVersion(), traceId: host.traceId(), sessionId: host.sessionId });
		} catch (e) {
			// A platform failure (overloaded object, reset). Generic on the wire; the kind goes to logs.
			log("error", "tool.rpc_failed", { trace: host.traceId(), tool: call.name.slice(0, 64), retryable: (e as { retryable?: boolean }).retryable === true });
			throw new McpError(ErrorCode.InternalError, "Internal error");
		}
	};

	server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => {
		const principal = host.principalOf(extra);
		await audit(principal, "tools/list", Date.now());
		// tools/list shows the tools this token may call.
		return { tools: TOOL_LIST.filter((t) => hasScope(principal.scopes, t.scope)).map((t) => t.tool) };
	});

	server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
		const principal = host.principalOf(extra);
		const args = (req.params.arguments ?? {}) as Record<string, unknown>;
		let confirmation: ToolCall["confirmation"];
		const question = confirmationQuestion(req.params.name, args);
		// Ask the person, not the model, whenever the client can show a form (MCP 2025-06-18+
		// elicitation). Without that capability the kernel asks the model to pass confirm: true.
		if (question && server.getClientCapabilities()?.elicitation) {
			const started = Date.now();
			const answer = await server.elicitInput(
				{ message: question, requestedSchema: CONFIRM_SCHEMA },
				{ relatedRequestId: extra.requestId, timeout: 600_000 },
			);
			if (answer.action !== "accept" || answer.content?.confirm !== true) {
				await host.record(principal, {
					method: "tools/call",
					tool: req.params.name,
					lane: host.lane,
					protocolVersion: host.protocolVersion(),
					traceId: host.traceId(),
					sessionId: host.sessionId,
					decision: "denied",
					outcome: `confirmation_${answer.action === "accept" ? "declined" : answer.action}`,
					durationMs: Date.now() - started,
				});
				return { content: [{ type: "text", text: "Not done: the user did not confirm. Nothing was changed." }], isError: true };
			}
			confirmation = { via: "elicitation" };
		}
		const outcome = await run(principal, { name: req.params.name, arguments: args, ...(confirmation ? { confirmation } : {}) });
		if (!outcome.ok) {
			const wire = toJsonRpcError(outcome.error);
			throw new McpError(wire.code, wire.message);
		}
		const token = req.params._meta?.progressToken;
		if (token !== undefined) {
			for (const p of outcome.value.progress) {
				await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, ...p } });
			}
		}
		return outcome.value.result;
	});

	server.setRequestHandler(ListResourcesRequestSchema, async (_req, extra) => {
		const principal = host.principalOf(extra);
		await audit(principal, "resources/list", Date.now());
		return { resources: hasScope(principal.scopes, "mcp:read") ? [AUDIT_RESOURCE] : [] };
	});

	server.setRequestHandler(ReadResourceRequestSchema, async (req, extra) => {
		const principal = host.principalOf(extra);
		const url = URL.canParse(req.params.uri) ? new URL(req.params.uri) : null;
		if (!url || `${url.protocol}//${url.host}${url.pathname}` !== AUDIT_RESOURCE.uri) {
			// MCP 2025-11-25 §resources "Error Handling": resource not found → -32002.
			throw new McpError(-32002, "Resource not found");
		}
		const args: Record<string, unknown> = Object.fromEntries(url.searchParams);
		if (typeof args.limit === "string") args.limit = Number(args.limit);
		const outcome = await run(principal, { name: "audit_log", arguments: args, method: "resources/read" });
		if (!outcome.ok) {
			const wire = toJsonRpcError(outcome.error);
			throw new McpError(wire.code, wire.message);
		}
		const r = outcome.value.result;
		if (r.isError) throw new McpError(ErrorCode.InvalidParams, r.content[0]?.text ?? "Invalid resource query");
		return { contents: [{ uri: req.params.uri, mimeType: "application/json", text: JSON.stringify(r.structuredContent, null, 2) }] };
	});

	return server;
}
