/**
 * @module objects/session/mcp-server
 * The legacy-lane adapter: publishes the shared tool registry on an MCP SDK v1 `Server` and
 * forwards every `tools/call` to the tenant kernel. Tools are declared once (`shared/packs`); this
 * file only translates between the registry and the SDK.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { toJsonRpcError, type Failure, type Result } from "../../shared/errors";
import type { Lane, ToolCall, ToolOutcome } from "../../shared/kernel-api";
import { log } from "../../shared/log";
import { registry } from "../../shared/packs";
import { hasScope, type VerifiedPrincipal } from "../../shared/principal";
import { toJsonSchema } from "../../shared/registry";

/** Server identity sent in `initialize` results. */
export const SERVER_INFO = { name: "smcp", title: "SMCP", version: "0.1.0" } as const;

const INSTRUCTIONS =
	"SMCP keeps a knowledge graph of entities, relations and observations for your workspace. " +
	"Search or open nodes before creating new ones; data persists across sessions and clients.";

/** What the adapter needs from its host: the caller of each request and the kernel. */
export interface LaneHost {
	lane: Lane;
	protocolVersion(): string;
	principalOf(extra: { authInfo?: { extra?: Record<string, unknown> } }): VerifiedPrincipal;
	callTool(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>>;
	traceId(): string;
	sessionId: string;
}

/** The tools/list entry of every tool, built once per isolate. */
const TOOL_LIST = registry.list().map((t) => ({
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
		capabilities: { tools: { listChanged: false } },
		instructions: INSTRUCTIONS,
		// workerd forbids code generation, so Ajv's compiled validators cannot run here.
		jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
	});

	server.setRequestHandler(ListToolsRequestSchema, (_req, extra) => {
		const principal = host.principalOf(extra);
		// Issue 4 rule: tools/list shows the tools this token may call.
		return { tools: TOOL_LIST.filter((t) => hasScope(principal.scopes, t.scope)).map((t) => t.tool) };
	});

	server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
		const principal = host.principalOf(extra);
		let outcome: Result<ToolOutcome, Failure>;
		try {
			outcome = await host.callTool(principal, {
				name: req.params.name,
				arguments: (req.params.arguments ?? {}) as Record<string, unknown>,
				lane: host.lane,
				protocolVersion: host.protocolVersion(),
				traceId: host.traceId(),
				sessionId: host.sessionId,
			});
		} catch (e) {
			// A platform failure (overloaded object, reset). Generic on the wire; the kind goes to logs.
			log("error", "tool.rpc_failed", { trace: host.traceId(), tool: req.params.name.slice(0, 64), retryable: (e as { retryable?: boolean }).retryable === true });
			throw new McpError(ErrorCode.InternalError, "Internal error");
		}
		if (!outcome.ok) {
			const wire = toJsonRpcError(outcome.error);
			throw new McpError(wire.code === ErrorCode.InvalidParams ? ErrorCode.InvalidParams : wire.code, wire.message);
		}
		const token = req.params._meta?.progressToken;
		if (token !== undefined) {
			for (const p of outcome.value.progress) {
				await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, ...p } });
			}
		}
		return outcome.value.result;
	});

	return server;
}
