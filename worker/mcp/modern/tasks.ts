/**
 * @module worker/mcp/modern/tasks
 * The Tasks extension on the 2026-07-28 lane (`io.modelcontextprotocol/tasks`, SEP-2663): the wire
 * shapes of a task (`CreateTaskResult`, the `tasks/get` DetailedTask) and the `tasks/get`,
 * `tasks/update` and `tasks/cancel` handlers. The tasks themselves live in the tenant kernel
 * (`objects/tenant/tasks.ts`); this module only translates.
 *
 * - The extension is per request: a request whose `_meta` client capabilities do not name it gets
 *   -32021 on `tasks/*`, and a `tools/call` from it runs inline (or -32021 for a tool that runs
 *   only as a task).
 * - An unknown, expired or another principal's task id is -32602 on every method (never a
 *   "forbidden" that would confirm the id exists).
 * - `tasks/result` and `tasks/list` (2025-11-25 only) are not registered here: -32601.
 */
import {
	CLIENT_CAPABILITIES_META_KEY,
	MissingRequiredClientCapabilityError,
	ProtocolError,
	ProtocolErrorCode,
	Server,
	type ServerContext,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import type { TaskView, TenantKernel } from "../../../shared/rpc/kernel";
import type { VerifiedPrincipal } from "../../../shared/rpc/principal";
import { TASKS_EXTENSION } from "../../../shared/mcp/publish";

/** Whether this request's client capabilities (its `_meta` envelope) declare the Tasks extension. */
export function declaresTasks(ctx: ServerContext): boolean {
	const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
	const caps = envelope[CLIENT_CAPABILITIES_META_KEY] as { extensions?: Record<string, unknown> } | undefined;
	const ext = caps?.extensions?.[TASKS_EXTENSION];
	return typeof ext === "object" && ext !== null;
}

/** The -32021 for a request that needs the Tasks extension it did not declare. */
export const tasksRequired = () =>
	new MissingRequiredClientCapabilityError(
		{ requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
		`This request needs the ${TASKS_EXTENSION} extension: declare it under _meta["${CLIENT_CAPABILITIES_META_KEY}"].extensions.`,
	);

const iso = (ms: number) => new Date(ms).toISOString();

/** The Task fields every shape shares (SEP-2663 `Task`: `ttlMs`, `pollIntervalMs`, ISO times). */
function base(t: TaskView) {
	return {
		taskId: t.taskId,
		status: t.status,
		...(t.statusMessage ? { statusMessage: t.statusMessage } : {}),
		createdAt: iso(t.createdAt),
		lastUpdatedAt: iso(t.lastUpdatedAt),
		ttlMs: t.ttlMs,
		pollIntervalMs: t.pollIntervalMs,
	};
}

/** `CreateTaskResult`: flat `Result & Task`, `resultType: "task"`, nothing of the outcome. */
export function createTaskResult(t: TaskView): Record<string, unknown> {
	return { resultType: "task", ...base(t) };
}

/** `tasks/get`'s DetailedTask: the outcome inlined (result, error) or the pending input requests. */
export function detailedTask(t: TaskView): Record<string, unknown> {
	const detail: Record<string, unknown> = { resultType: "complete", ...base(t) };
	if (t.status === "input_required") detail.inputRequests = t.inputRequests ?? {};
	if (t.status === "completed" && t.result) {
		// The taskId is at the root: no related-task `_meta` on the inlined result.
		const { _meta: _dropped, ...result } = t.result;
		detail.result = result;
	}
	if (t.status === "failed") detail.error = t.error ?? { code: ProtocolErrorCode.InternalError, message: "Internal error" };
	return detail;
}

/**
 * The SDK server, able to answer a `tools/call` with a `CreateTaskResult`: the SDK validates every
 * `tools/call` result as a `CallToolResult`, which a task is not, so the lane hands the task over
 * with {@link TaskServer.answerWithTask} and this wrapper returns it in place of the placeholder.
 */
export class TaskServer extends Server {
	readonly #tasks = new Map<string | number, Record<string, unknown>>();

	/** Answers the current `tools/call` with `task`; returns the placeholder the SDK validates. */
	answerWithTask(ctx: ServerContext, task: Record<string, unknown>): { content: [] } {
		this.#tasks.set(ctx.mcpReq.id, task);
		return { content: [] };
	}

	protected override _wrapHandler(method: string, handler: Parameters<Server["_wrapHandler"]>[1]): ReturnType<Server["_wrapHandler"]> {
		const inner = super._wrapHandler(method, handler);
		if (method !== "tools/call") return inner;
		return async (request, ctx) => {
			const result = await inner(request, ctx);
			const task = this.#tasks.get(request.id);
			if (task === undefined) return result;
			this.#tasks.delete(request.id);
			return task as never;
		};
	}
}

type Kernel = Pick<TenantKernel, "getTask" | "updateTask" | "cancelTask">;

const TaskIdParams = z.looseObject({ taskId: z.string().min(1).max(256) });

/**
 * Registers `tasks/get`, `tasks/update` and `tasks/cancel` on `server`.
 *
 * @example
 * ```ts
 * registerTaskMethods(server, (ctx) => ({ p: principalOf(ctx), kernel: tenant(principalOf(ctx)) }));
 * ```
 */
export function registerTaskMethods(server: Server, kernelOf: (ctx: ServerContext) => { p: VerifiedPrincipal; kernel: Kernel }): void {
	const found = (t: TaskView | null): TaskView => {
		if (!t) throw new ProtocolError(ProtocolErrorCode.InvalidParams, "Unknown task: it does not exist, has expired, or is not yours.");
		return t;
	};
	server.setRequestHandler("tasks/get", { params: TaskIdParams }, async (params, ctx) => {
		if (!declaresTasks(ctx)) throw tasksRequired();
		const { p, kernel } = kernelOf(ctx);
		return detailedTask(found(await kernel.getTask(p, params.taskId))) as never;
	});
	server.setRequestHandler("tasks/update", { params: TaskIdParams }, async (params, ctx) => {
		if (!declaresTasks(ctx)) throw tasksRequired();
		const { p, kernel } = kernelOf(ctx);
		// The SDK lifts `inputResponses` out of the params (the MRTR seam), keeping well-formed entries.
		const responses = (ctx.mcpReq.inputResponses ?? {}) as Record<string, unknown>;
		found(await kernel.updateTask(p, params.taskId, responses));
		return { resultType: "complete" } as never;
	});
	server.setRequestHandler("tasks/cancel", { params: TaskIdParams }, async (params, ctx) => {
		if (!declaresTasks(ctx)) throw tasksRequired();
		const { p, kernel } = kernelOf(ctx);
		found(await kernel.cancelTask(p, params.taskId));
		return { resultType: "complete" } as never;
	});
}
