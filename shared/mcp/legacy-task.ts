/**
 * @module shared/mcp/legacy-task
 * The 2025-11-25 `Task` shape (spec 2025-11-25 basic/utilities/tasks): `ttl` and `pollInterval`
 * in milliseconds, ISO times. Shared by the SessionObject's task methods
 * (`objects/session/legacy-tasks.ts`) and the front Worker's one-hop hosted calls
 * (`worker/mcp/one-hop.ts`), so a task has one wire form on 2025-11-25 whoever answers.
 */
import type { TaskView } from "../rpc/kernel";

/**
 * The 2025-11-25 `Task` of a kernel task.
 *
 * @example
 * ```ts
 * return { task: legacyTask(outcome.value.task) }; // a CreateTaskResult
 * ```
 */
export function legacyTask(t: TaskView) {
	return {
		taskId: t.taskId,
		status: t.status,
		...(t.statusMessage ? { statusMessage: t.statusMessage } : {}),
		createdAt: new Date(t.createdAt).toISOString(),
		lastUpdatedAt: new Date(t.lastUpdatedAt).toISOString(),
		ttl: t.ttlMs,
		pollInterval: t.pollIntervalMs,
	};
}
