/**
 * @module shared/rpc/apps
 * The types of the kernel's hosted-tool RPC methods (listed in `TenantKernel`, `shared/rpc/kernel.ts`).
 * A hosted call is authorised and recorded by the kernel but run by the front Worker, which alone
 * may start tenant isolates: `beginAppCall` (scope, suspension and key checks, rate limits,
 * argument validation; a ticket), then the isolate, then `finishAppCall` (the audit row).
 */
import type { EgressAuditRecord } from "../apps/egress";
import type { AppManifest } from "../apps/manifest";
import type { SealedSecret } from "../apps/secrets-crypto";
import type { CallToolResult } from "../apps/result";

/** A ticket for one authorised hosted call; storage operations need a live one. */
export interface AppCallTicket {
	id: string;
	app: string;
	tool: string;
	/** The active version's content hash. */
	hash: string;
	/** The catalog name (`<app>__<tool>`). */
	name: string;
	started: number;
	/**
	 * Set when the call runs as a durable task (docs/apps.md "Hosted tools as tasks"): the front
	 * Worker runs it after answering, and `finishAppCall` ends the task with the result.
	 */
	taskId?: string;
}

/**
 * What `beginAppCall` answers: run the call (the version's manifest and the sealed secrets it
 * names), or the outcome to send as is (a refusal, already audited). `Task` is the kernel's
 * `TaskView` (`AppCallBegun` in kernel.ts; a type parameter, so this module needs nothing of kernel.ts).
 */
export type AppCallGrant<Task = never> =
	| {
			kind: "run";
			ticket: AppCallTicket;
			manifest: AppManifest;
			secrets: Record<string, SealedSecret>;
			/** The task just stored (`working`) when the call runs as one; answer the client with it, then run. */
			task?: Task;
	  }
	| { kind: "done"; outcome: RefusalOutcome };

/** A refusal as the tool's result (the shape of `ToolOutcome` in kernel.ts, which imports this module). */
export interface RefusalOutcome {
	result: CallToolResult & { _meta?: Record<string, unknown> };
	progress: [];
}

/** How a hosted call ended, for its audit row. */
export interface AppCallReport {
	/** `allowed` when the tool returned a result (even `isError`), `error` when the platform refused or stopped it. */
	decision: "allowed" | "error";
	/** A short code: `ok`, `tool_error`, `threw`, `timeout`, `guard_stopped`, `too_large`, `not_json`, `crashed`. */
	outcome: string;
	/** Outbound requests of the call (host, method, status, bytes). */
	egress: EgressAuditRecord[];
	/**
	 * A task's outcome (the ticket has a `taskId`): the tool's result, kept as the task's result
	 * when `decision` is `allowed`; when it is `error`, its text becomes the failed task's error.
	 */
	result?: CallToolResult;
}

/** A hosted tool as `tools/list` shows it. */
export interface HostedToolEntry {
	name: string;
	title?: string;
	description: string;
	inputSchema: Record<string, unknown>;
	outputSchema?: Record<string, unknown>;
	annotations?: Record<string, unknown>;
	/** Task support from the manifest's `task` (absent: `forbidden`), as 2025-11-25 §tools publishes it. */
	execution?: { taskSupport: "optional" | "required" };
	/** Not listed on the wire: the scope a caller needs (lists show only tools the token may call). */
	scope: "mcp:read" | "mcp:write";
}

/** The tenant's hosted tools; `epoch` changes whenever an app is deployed, rolled back or removed. */
export interface HostedCatalog {
	epoch: string;
	tools: HostedToolEntry[];
}

/** One captured line of an app's console or an uncaught exception (secrets already redacted). */
export interface AppLogLine {
	ts: number;
	level: "debug" | "info" | "warn" | "error";
	message: string;
}
