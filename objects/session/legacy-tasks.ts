/**
 * @module objects/session/legacy-tasks
 * The experimental tasks of 2025-11-25 on the sessionful lane (spec 2025-11-25
 * basic/utilities/tasks): a task-augmented `tools/call` (`params.task`), `tasks/get`,
 * `tasks/result`, `tasks/list`, `tasks/cancel`, and `notifications/tasks/status` on the session's
 * stream. The tasks are the tenant kernel's durable tasks (`objects/tenant/tasks.ts`), the same
 * ones the 2026-07-28 lane serves, so a client may start a task on one revision and read it on
 * the other; this module only translates to the 2025-11-25 shapes (`ttl`, `pollInterval`, the
 * result behind `tasks/result` with the related-task `_meta`).
 *
 * Status notifications are best effort: the session watches the tasks it started while it is in
 * memory and sends each change; a client that wants certainty polls `tasks/get`.
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
	CancelTaskRequestSchema,
	ErrorCode,
	GetTaskPayloadRequestSchema,
	GetTaskRequestSchema,
	ListTasksRequestSchema,
	McpError,
} from "@modelcontextprotocol/sdk/types.js";
import type { TaskView, TenantKernel } from "../../shared/rpc/kernel";
import { legacyTask } from "../../shared/mcp/legacy-task";
import type { VerifiedPrincipal } from "../../shared/rpc/principal";

/** The kernel methods this module uses. */
export type TaskKernel = Pick<TenantKernel, "getTask" | "cancelTask" | "listTasks">;

/** The `_meta` key that ties a result to its task (2025-11-25 §tasks "Related Task Metadata"). */
const RELATED_TASK = "io.modelcontextprotocol/related-task";
/** How long `tasks/result` waits for a task to finish before answering with an error to retry. */
const RESULT_WAIT_MS = 300_000;
/** How long the session watches a task it started for status notifications. */
const WATCH_MS = 600_000;

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export { legacyTask };

const unknown = () => new McpError(ErrorCode.InvalidParams, "Unknown task: it does not exist, has expired, or is not yours.");

/**
 * Registers the task methods on the session's server. `kernel` and `principalOf` come from the
 * lane host; `wait` is a timer (the tests shorten it).
 */
export function registerLegacyTasks(
	server: Server,
	host: { kernel(p: VerifiedPrincipal): TaskKernel; principalOf(extra: unknown): VerifiedPrincipal },
	wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): { watch(p: VerifiedPrincipal, t: TaskView): void } {
	server.setRequestHandler(GetTaskRequestSchema, async (req, extra) => {
		const p = host.principalOf(extra);
		const t = await host.kernel(p).getTask(p, req.params.taskId);
		if (!t) throw unknown();
		return legacyTask(t);
	});

	server.setRequestHandler(GetTaskPayloadRequestSchema, async (req, extra) => {
		const p = host.principalOf(extra);
		const until = Date.now() + RESULT_WAIT_MS;
		// 2025-11-25: tasks/result blocks until the task is terminal.
		for (;;) {
			const t = await host.kernel(p).getTask(p, req.params.taskId);
			if (!t) throw unknown();
			const related = { [RELATED_TASK]: { taskId: t.taskId } };
			if (t.status === "completed") return { ...t.result, _meta: { ...(t.result?._meta ?? {}), ...related } } as never;
			if (t.status === "failed") throw new McpError(t.error?.code ?? ErrorCode.InternalError, t.error?.message ?? "Internal error");
			if (t.status === "cancelled") throw new McpError(ErrorCode.InvalidRequest, "The task was cancelled; it has no result.");
			if (t.status === "input_required")
				throw new McpError(
					ErrorCode.InvalidRequest,
					"The task waits for input, which this revision cannot carry: answer it with tasks/update from a 2026-07-28 client.",
				);
			if (Date.now() >= until) throw new McpError(ErrorCode.InternalError, "The task is still working; call tasks/result again.");
			await wait(Math.min(t.pollIntervalMs, 1000));
		}
	});

	server.setRequestHandler(ListTasksRequestSchema, async (req, extra) => {
		const p = host.principalOf(extra);
		const page = await host.kernel(p).listTasks(p, req.params?.cursor);
		return { tasks: page.tasks.map(legacyTask), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
	});

	server.setRequestHandler(CancelTaskRequestSchema, async (req, extra) => {
		const p = host.principalOf(extra);
		const before = await host.kernel(p).getTask(p, req.params.taskId);
		if (!before) throw unknown();
		// 2025-11-25: cancelling a finished task is -32602.
		if (TERMINAL.has(before.status)) throw new McpError(ErrorCode.InvalidParams, `The task is already ${before.status}.`);
		const t = await host.kernel(p).cancelTask(p, req.params.taskId);
		if (!t) throw unknown();
		return legacyTask(t);
	});

	return {
		/** Sends `notifications/tasks/status` for each change of `t` while the session is in memory. */
		watch(p, t) {
			void (async () => {
				let last = `${t.status}|${t.statusMessage ?? ""}`;
				const until = Date.now() + WATCH_MS;
				while (Date.now() < until) {
					await wait(Math.max(t.pollIntervalMs, 500));
					const now = await host
						.kernel(p)
						.getTask(p, t.taskId)
						.catch(() => null);
					if (!now) return;
					const seen = `${now.status}|${now.statusMessage ?? ""}`;
					if (seen !== last) {
						last = seen;
						await server.notification({ method: "notifications/tasks/status", params: legacyTask(now) }).catch(() => undefined);
					}
					if (TERMINAL.has(now.status)) return;
				}
			})();
		},
	};
}
