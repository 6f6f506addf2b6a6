/**
 * @module shared/mcp/answers
 * shared/mcp/ (entry: this module) owns the MCP wire both halves speak: server info, the
 * initialize and plain-call answers, publishing the catalog, asks, JSON-RPC parsing, wire errors
 * and the handler guard. It may import shared/ and npm packages only.
 *
 * The answers both halves give alike, written once: the server's identity, the opening
 * `initialize` result, version negotiation, the confirmation form, and a plain `tools/call`
 * forwarded to the tenant kernel. The front Worker's one-hop path and the 2026-07-28 lane use
 * them, and so does the SessionObject's SDK server, so every lane answers with the same text.
 */
import { ErrorCode, LATEST_PROTOCOL_VERSION, McpError, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { type Failure, type Result, toJsonRpcError } from "../errors";
import { log } from "../log";
import type { Catalog } from "../catalog/registry";
import type { Lane, ToolCall, ToolOutcome } from "../rpc/kernel";
import type { VerifiedPrincipal } from "../rpc/principal";
import type { RpcMessage, RpcRequest, RpcResponse } from "./jsonrpc";
import { serverCapabilities } from "./publish";
import pkg from "../../package.json";

/**
 * The server's icon: a data: URI, so clients need no request to show it (MCP 2025-11-25,
 * `Icon.src`: "a URI pointing to an icon resource… MAY be a data: URI").
 */
const ICON = `data:image/svg+xml;base64,${btoa(
	'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#2457d6"/><path d="M18 44V20l14 14 14-14v24" fill="none" stroke="#fff" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/></svg>',
)}`;

/**
 * Server identity sent in `initialize` results (MCP 2025-11-25 `Implementation`): the package's
 * version, a human title and an icon. {@link serverInfo} adds the deployment's website.
 */
export const SERVER_INFO = {
	name: "smcp",
	title: "SMCP",
	version: pkg.version,
	icons: [{ src: ICON, mimeType: "image/svg+xml", sizes: ["any"] }],
};

/** {@link SERVER_INFO} with `websiteUrl`: the deployment's landing page. */
export function serverInfo(origin: string | undefined): typeof SERVER_INFO & { websiteUrl?: string } {
	return origin ? { ...SERVER_INFO, websiteUrl: `${origin.replace(/\/$/, "")}/` } : SERVER_INFO;
}

export const INSTRUCTIONS =
	"SMCP keeps a knowledge graph of entities, relations and observations for your workspace. " +
	"Search or open nodes before creating new ones; data persists across sessions and clients. " +
	"audit_log shows what every client did in this workspace.";

/** Lifecycle §"Version Negotiation": echo a supported version, else offer our latest. */
export function negotiatedVersion(init: RpcMessage | null): string {
	const requested = (init as { params?: { protocolVersion?: unknown } } | null)?.params?.protocolVersion;
	return typeof requested === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

/**
 * The answer to a valid opening `initialize`: what the SDK server built by
 * the legacy lane's SDK server (`objects/session/legacy-server.ts`) answers (negotiated version, the catalog's capabilities, server
 * info, instructions), for the paths that open a session without building it.
 */
export function initializeResponse(catalog: Catalog, init: RpcRequest, origin?: string): RpcResponse {
	const result = {
		protocolVersion: negotiatedVersion(init),
		capabilities: serverCapabilities(catalog, "legacy"),
		serverInfo: serverInfo(origin),
		instructions: INSTRUCTIONS,
	};
	return { jsonrpc: "2.0", id: init.id, result };
}

/** The form shown to confirm a destructive call. */
export const CONFIRM_SCHEMA = {
	type: "object" as const,
	properties: { confirm: { type: "boolean" as const, title: "Confirm", description: "Check to go ahead" } },
	required: ["confirm"],
};

/** What a kernel call needs from the host. */
export interface KernelHost {
	lane: Lane;
	protocolVersion(): string;
	callTool(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>>;
	traceId(): string;
	sessionId: string;
}
export type KernelCall = Omit<ToolCall, "lane" | "protocolVersion" | "traceId" | "sessionId">;

/**
 * A JSON-RPC error message as it goes on the wire: without the `MCP error <code>: ` prefix that
 * SDK v1's `McpError` puts before every message. The SDK server sends `error.message` as it is,
 * and SDK clients add the prefix once more ("MCP error -32602: MCP error -32602: Unknown tool"),
 * so the wire carries the message alone and clients show it once.
 *
 * @example
 * ```ts
 * plainErrorMessage({ code: -32602, message: "MCP error -32602: Unknown tool: x" }); // "Unknown tool: x"
 * ```
 */
export function plainErrorMessage(error: { code: number; message: string }): string {
	const prefix = `MCP error ${error.code}: `;
	return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** Forwards a call to the kernel; platform failures become a generic -32603. */
export async function runInKernel(host: KernelHost, principal: VerifiedPrincipal, call: KernelCall): Promise<Result<ToolOutcome, Failure>> {
	try {
		return await host.callTool(principal, {
			...call,
			lane: host.lane,
			protocolVersion: host.protocolVersion(),
			traceId: host.traceId(),
			sessionId: host.sessionId,
		});
	} catch (e) {
		// A platform failure (overloaded object, reset). Generic on the wire; the kind goes to logs.
		log("error", "tool.rpc_failed", {
			trace: host.traceId(),
			tool: call.name.slice(0, 64),
			retryable: (e as { retryable?: boolean }).retryable === true,
		});
		throw new McpError(ErrorCode.InternalError, "Internal error");
	}
}

/**
 * Answers a `tools/call` that sends nothing before its result (`sendsBeforeResult` is false)
 * without the SDK server: the same kernel call, result and errors as the `CallToolRequestSchema`
 * handler below, minus the SDK's dispatch, which is most of a session's own cost per call. The
 * front Worker has already checked `name` and `arguments` (-32602 otherwise); the SDK's schema
 * check of the rest of the params (e.g. a Tasks `task` field, an extension SMCP does not
 * declare) is skipped, and the result is the kernel's, which the SDK would pass through.
 *
 * @example
 * ```ts
 * const answer = await answerPlainToolCall(host, principal, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "read_graph" } });
 * ```
 */
export async function answerPlainToolCall(host: KernelHost, principal: VerifiedPrincipal, request: RpcRequest): Promise<RpcResponse> {
	const params = request.params ?? {};
	const error = (code: number, message: string): RpcResponse => ({ jsonrpc: "2.0", id: request.id, error: { code, message } });
	try {
		const outcome = await runInKernel(host, principal, {
			name: String(params.name),
			arguments: (params.arguments ?? {}) as Record<string, unknown>,
		});
		if (!outcome.ok) {
			const wire = toJsonRpcError(outcome.error);
			return error(wire.code, wire.message);
		}
		return { jsonrpc: "2.0", id: request.id, result: outcome.value.result as unknown as Record<string, unknown> };
	} catch {
		// runInKernel has logged the platform failure; generic text on the wire.
		return error(ErrorCode.InternalError, "Internal error");
	}
}
