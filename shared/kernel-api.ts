/**
 * @module shared/kernel-api
 * The RPC surface of the tenant kernel (TenantObject), listed in one place. Every public method
 * of a Durable Object is callable over RPC, so the object exposes exactly these and nothing else.
 */
import type { Failure, Result } from "./errors";
import type { VerifiedPrincipal } from "./principal";

/** Which protocol lane a call arrived on (recorded in logs and, later, the audit trail). */
export type Lane = "streamable-http" | "sse" | "modern";

/** A `tools/call` as the kernel receives it. */
export interface ToolCall {
	name: string;
	arguments: Record<string, unknown>;
	lane: Lane;
	protocolVersion: string;
	traceId: string;
	sessionId?: string;
}

/** A progress report emitted by a tool while it ran. */
export interface ProgressReport {
	progress: number;
	total?: number;
	message?: string;
}

/** The MCP `CallToolResult` plus the progress the tool reported. */
export interface ToolOutcome {
	result: {
		content: { type: "text"; text: string }[];
		structuredContent?: Record<string, unknown>;
		isError?: boolean;
	};
	progress: ProgressReport[];
}

/** TenantObject's RPC methods. */
export interface TenantKernel {
	callTool(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>>;
}
