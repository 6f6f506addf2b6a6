/**
 * Hosted tools as durable tasks (docs/apps.md "Hosted tools as tasks"): a manifest's `task`
 * published as `execution.taskSupport` on both eras, the task stored by the kernel when it
 * authorises the call and run by the front Worker after its answer. Each test is named after what
 * can go wrong: a hosted task read by another principal, an isolate that throws, a task-required
 * tool called inline, the result read on the other era, a run that never reports.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { CallToolResultSchema, CreateTaskResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import type { AppManifestInput } from "../../shared/apps/manifest";
import { TASK_REQUIRED_MESSAGE } from "../../shared/errors";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import type { AppCallBegun, TaskView, TenantKernel } from "../../shared/rpc/kernel";
import { brandPrincipal } from "../../shared/rpc/principal";
import { DEFINE_APP, installApp, kernel } from "./apps-helpers";
import { connectMcp, connectSse, ORIGIN, selfFetch, signedIn } from "./helpers";
import { MODERN, modernRequest, TASKS_CAPS } from "../support/modern";

const JOBS_JS = `import { defineApp } from "./sdk.js";
export default defineApp({ tools: {
	double: async ({ n }) => { await new Promise((r) => setTimeout(r, 20)); return { doubled: n * 2 }; },
	boom: async () => { throw new TypeError("kaboom at internal/path.js: db password hunter2"); },
	only: async () => "ran as a task",
	plain: async () => "inline",
}});
`;
const tool = (name: string, task?: "optional" | "required" | "forbidden") => ({
	name,
	description: `jobs ${name}`,
	inputSchema: { type: "object", properties: { n: { type: "integer" } } },
	scope: "mcp:read" as const,
	...(task ? { task } : {}),
});
const JOBS: AppManifestInput = {
	name: "jobs",
	version: "1.0.0",
	main: "index.js",
	tools: [tool("double", "optional"), tool("boom", "optional"), tool("only", "required"), tool("plain")],
	egress: [],
	secrets: [],
	limits: { timeoutMs: 5000 },
};

/** A tenant with the jobs app; its owner's principal as the kernel binds tasks to it. */
async function jobsTenant() {
	const s = await signedIn();
	await installApp(s.account.tenantId, JOBS, { "index.js": JOBS_JS, "sdk.js": DEFINE_APP });
	const p = brandPrincipal({ tenantId: s.account.tenantId, userId: s.account.userId, clientId: s.tokens.clientId, scopes: ["mcp:read"] });
	return { ...s, tenantId: s.account.tenantId, p, k: kernel(s.account.tenantId) as unknown as TenantKernel };
}

const modern = (token: string, method: string, params: Record<string, unknown>, name?: string, caps: object = TASKS_CAPS) =>
	modernRequest(selfFetch, ORIGIN, token, { method, params, name, caps });

/** Waits until the task has left `working` (the Worker runs it after answering, inside `waitUntil`). */
async function settled(k: TenantKernel, p: ReturnType<typeof brandPrincipal>, taskId: string): Promise<TaskView> {
	for (let i = 0; i < 100; i++) {
		const t = await k.getTask(p, taskId);
		if (t && t.status !== "working") return t;
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error("hosted task did not finish");
}

/** The task transitions of the audit trail, oldest first, without the task id. */
const transitions = (tenantId: string) =>
	runInDurableObject(kernel(tenantId), (_o: TenantObject, s) =>
		s.storage.sql
			.exec<{ tool: string; decision: string; outcome: string }>(
				"SELECT tool, decision, outcome FROM audit WHERE method = 'tasks/transition' ORDER BY seq",
			)
			.toArray()
			.map((r) => ({ ...r, outcome: r.outcome.replace(/ task=.*$/, "") })),
	);

describe("hosted tools as tasks", () => {
	it("tools/list publishes a hosted tool's task support as a built-in tool's: execution.taskSupport on 2025-11-25; on 2026-07-28, where the field is deleted vocabulary, for neither", async () => {
		const s = await jobsTenant();
		const { client } = await connectMcp(s.tokens.access_token);
		const legacy = (await client.listTools()).tools.filter((t) => t.name.startsWith("jobs__") || t.name === "import_graph");
		expect(Object.fromEntries(legacy.map((t) => [t.name, t.execution]))).toEqual({
			import_graph: { taskSupport: "optional" },
			jobs__boom: { taskSupport: "optional" },
			jobs__double: { taskSupport: "optional" },
			jobs__only: { taskSupport: "required" },
			jobs__plain: undefined,
		});
		await client.close();
		// 2026-07-28 removed `execution` from Tool (the SDK's codec strips it): a client learns from the CreateTaskResult.
		const listed = (await modern(s.tokens.access_token, "tools/list", {})).result!.tools as { name: string; execution?: unknown }[];
		expect(listed.map((t) => t.name)).toContain("jobs__only");
		expect(listed.filter((t) => t.execution !== undefined)).toEqual([]);
	});

	it("a hosted task read by another principal (another account; the same user through another client) is not found, exactly like an unknown id", async () => {
		const s = await jobsTenant();
		const created = await modern(s.tokens.access_token, "tools/call", { name: "jobs__double", arguments: { n: 21 } }, "jobs__double");
		expect(created.result).toMatchObject({ resultType: "task", status: "working" });
		const taskId = created.result!.taskId as string;
		const done = await settled(s.k, s.p, taskId);
		expect(done).toMatchObject({ status: "completed", result: { structuredContent: { doubled: 42 } } });

		const other = await signedIn();
		const foreign = await modern(other.tokens.access_token, "tasks/get", { taskId }, taskId);
		const unknown = await modern(other.tokens.access_token, "tasks/get", { taskId: "A".repeat(24) }, "A".repeat(24));
		expect(foreign.error?.code).toBe(-32602);
		expect(foreign.error).toEqual(unknown.error);
		const otherClient = brandPrincipal({ ...s.p, clientId: "another-client" });
		expect(await s.k.getTask(otherClient, taskId)).toBeNull();
		expect(await s.k.cancelTask(otherClient, taskId)).toBeNull();
		expect((await s.k.listTasks(otherClient)).tasks).toEqual([]);
		// The owner still reads it, untouched.
		const mine = await modern(s.tokens.access_token, "tasks/get", { taskId }, taskId);
		expect(mine.result).toMatchObject({ status: "completed", result: { structuredContent: { doubled: 42 } } });
	});

	it("a hosted task whose isolate throws ends failed with a clean error (nothing of the exception), one audit row per transition", async () => {
		const s = await jobsTenant();
		const created = await modern(s.tokens.access_token, "tools/call", { name: "jobs__boom", arguments: {} }, "jobs__boom");
		const taskId = created.result!.taskId as string;
		expect((await settled(s.k, s.p, taskId)).status).toBe("failed");
		const got = await modern(s.tokens.access_token, "tasks/get", { taskId }, taskId);
		expect(got.result).toMatchObject({
			status: "failed",
			error: { code: -32603, message: "The tool failed. Its logs have the details." },
		});
		expect(JSON.stringify(got)).not.toMatch(/kaboom|hunter2|internal\/path/);
		expect(await transitions(s.tenantId)).toEqual([
			{ tool: "jobs__boom", decision: "allowed", outcome: "created->working" },
			{ tool: "jobs__boom", decision: "error", outcome: "working->failed:threw" },
		]);
		expect(await s.k.verifyAudit()).toMatchObject({ ok: true });
	});

	it("a task-required hosted tool called inline gets the spec's error, as a built-in one: -32021 on 2026-07-28, -32601 on 2025-11-25 and /sse; nothing runs", async () => {
		const s = await jobsTenant();
		const inline = await modern(s.tokens.access_token, "tools/call", { name: "jobs__only", arguments: {} }, "jobs__only", {});
		expect(inline.error?.code).toBe(-32021);
		expect(inline.error?.data).toEqual({ requiredCapabilities: { extensions: { "io.modelcontextprotocol/tasks": {} } } });
		const { client } = await connectMcp(s.tokens.access_token);
		await expect(client.callTool({ name: "jobs__only", arguments: {} })).rejects.toThrow(`MCP error -32601: ${TASK_REQUIRED_MESSAGE}`);
		const sse = (await connectSse(s.tokens.access_token)).client;
		await expect(sse.callTool({ name: "jobs__only", arguments: {} })).rejects.toThrow(`MCP error -32601: ${TASK_REQUIRED_MESSAGE}`);
		await sse.close();
		// A tool that does not run as a task, asked for one on 2025-11-25: -32601 too.
		await expect(
			client.request({ method: "tools/call", params: { name: "jobs__plain", arguments: {}, task: {} } }, CreateTaskResultSchema),
		).rejects.toThrow("This tool does not run as a task.");
		await client.close();
		const rows = await s.k.recentAudit(20);
		// Every lane asks the kernel, which pays the refusals from the request budget: one aggregated row a minute.
		expect(rows.filter((r) => r.tool === "jobs__only").map((r) => `${r.decision}:${r.outcome}`)).toEqual(["denied:task_required"]);
		expect(await transitions(s.tenantId)).toEqual([]);
	});

	it("calling a task-required hosted tool inline in a loop is rate-limited and writes one aggregated row", async () => {
		const s = await jobsTenant();
		const inline = { name: "jobs__only", arguments: {}, lane: "modern" as const, protocolVersion: MODERN, traceId: "t" };
		let refused = 0;
		let limited = 0;
		for (let i = 0; i < 160; i++) {
			const r = (await s.k.beginAppCall(s.p, inline)) as { ok: boolean; error?: { reason: string }; value?: AppCallBegun };
			if (!r.ok && r.error?.reason === "task_required") refused++;
			else if (r.ok && r.value?.kind === "done" && r.value.outcome.result._meta?.["io.smcp/retryAfterSeconds"] !== undefined) limited++;
		}
		// The request budget pays for every refusal: past it, the caller is told to wait.
		expect(refused).toBeGreaterThan(0);
		expect(limited).toBeGreaterThan(20);
		expect(refused + limited).toBe(160);
		const rows = await runInDurableObject(kernel(s.tenantId), (_o: TenantObject, st) =>
			st.storage.sql
				.exec<{ decision: string; outcome: string }>("SELECT decision, outcome FROM audit WHERE tool = 'jobs__only' ORDER BY seq")
				.toArray(),
		);
		// One row per kind, caller and minute: the first refusal and the first rate limit.
		expect(rows.map((r) => `${r.decision}:${r.outcome}`)).toEqual([
			"denied:task_required",
			expect.stringMatching(/^rate_limited:retry_after:\d+s$/),
		]);
		expect(await transitions(s.tenantId)).toEqual([]);
	});

	it("a hosted task's result is read on the other era: started on 2026-07-28 and read with tasks/result on 2025-11-25, started on 2025-11-25 and read with tasks/get on 2026-07-28", async () => {
		const s = await jobsTenant();
		const started = await modern(s.tokens.access_token, "tools/call", { name: "jobs__only", arguments: {} }, "jobs__only");
		const modernId = started.result!.taskId as string;
		const { client } = await connectMcp(s.tokens.access_token);
		const result = (await client.request({ method: "tasks/result", params: { taskId: modernId } }, CallToolResultSchema)) as CallToolResult;
		expect(result.content).toEqual([{ type: "text", text: "ran as a task" }]);
		expect(result._meta?.["io.modelcontextprotocol/related-task"]).toEqual({ taskId: modernId });

		const legacy = await client.request(
			{ method: "tools/call", params: { name: "jobs__double", arguments: { n: 5 }, task: { ttl: 120_000 } } },
			CreateTaskResultSchema,
		);
		expect(legacy.task).toMatchObject({ status: "working", ttl: 120_000 });
		await client.close();
		await settled(s.k, s.p, legacy.task.taskId);
		const back = await modern(s.tokens.access_token, "tasks/get", { taskId: legacy.task.taskId }, legacy.task.taskId);
		expect(back.result).toMatchObject({ status: "completed", ttlMs: 120_000, result: { structuredContent: { doubled: 10 } } });
	});

	it("a hosted task whose run never reports is failed by the alarm at its deadline (run_lost); a late report changes nothing", async () => {
		const s = await jobsTenant();
		const call = { name: "jobs__double", arguments: { n: 1 }, lane: "modern" as const, protocolVersion: MODERN, traceId: "t", task: {} };
		// Authorised and stored, but no Worker runs it (as if the one that would was stopped).
		const begun = (await s.k.beginAppCall(s.p, call)) as { ok: true; value: Extract<AppCallBegun, { kind: "run" }> };
		const task = begun.value.task!;
		expect(task.status).toBe("working");
		// Before the deadline the alarm leaves it alone.
		await runDurableObjectAlarm(kernel(s.tenantId));
		expect((await s.k.getTask(s.p, task.taskId))?.status).toBe("working");
		await runInDurableObject(kernel(s.tenantId), async (_o: TenantObject, st) => {
			st.storage.sql.exec("UPDATE tasks SET run_at = ? WHERE task_id = ?", Date.now() - 1, task.taskId);
			await st.storage.setAlarm(Date.now());
		});
		await runDurableObjectAlarm(kernel(s.tenantId));
		const lost = await s.k.getTask(s.p, task.taskId);
		expect(lost?.status).toBe("failed");
		expect(lost?.error?.message).toMatch(/stopped before it reported a result/);
		await s.k.finishAppCall(s.p, begun.value.ticket, {
			decision: "allowed",
			outcome: "ok",
			egress: [],
			result: { content: [{ type: "text", text: "late" }] },
		});
		expect((await s.k.getTask(s.p, task.taskId))?.status).toBe("failed");
		expect(await transitions(s.tenantId)).toEqual([
			{ tool: "jobs__double", decision: "allowed", outcome: "created->working" },
			{ tool: "jobs__double", decision: "error", outcome: "working->failed:run_lost" },
		]);
	});
});
