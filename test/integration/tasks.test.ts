/**
 * Durable tasks (objects/tenant/tasks.ts) in the tenant kernel and on both lanes: each test is
 * named after what can go wrong — a task read by another principal, a cancel racing completion,
 * an eviction in the middle of a task, a result read after its TTL, the live-task ceiling, and a
 * client that disconnects and comes back on the other era.
 */
import {
	CreateTaskResultSchema,
	GetTaskResultSchema,
	TaskStatusNotificationSchema,
	type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import type { TaskView, TenantKernel, ToolCall, ToolOutcome } from "../../shared/rpc/kernel";
import { brandPrincipal } from "../../shared/rpc/principal";
import { connectMcp, ORIGIN, selfFetch, signedIn, testEnv } from "./helpers";
import { modernRequest, TASKS_CAPS } from "../support/modern";

const tenantStub = (id: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(id));
/** The task methods through the stub (typed by the kernel interface: Rpc's mapping of TaskView's `never` fields is lossy). */
const tasksOf = (stub: ReturnType<typeof tenantStub>) => stub as unknown as TenantKernel;
const freshTenant = () => {
	const id = `t_${crypto.randomUUID().replaceAll("-", "")}`;
	return { id, stub: tenantStub(id), k: tasksOf(tenantStub(id)) };
};
const principal = (tenantId: string, userId = "u_1", clientId = "c1") =>
	brandPrincipal({ tenantId, userId, clientId, scopes: ["mcp:read", "mcp:write"] });
const asTask = (name: string, args: Record<string, unknown>): ToolCall => ({
	name,
	arguments: args,
	lane: "modern",
	protocolVersion: "2026-07-28",
	traceId: "trace",
	task: {},
});
const value = (r: unknown): ToolOutcome => {
	const x = r as { ok: boolean; value: ToolOutcome; error: unknown };
	if (!x.ok) throw new Error(JSON.stringify(x.error));
	return x.value;
};

/** A memory.jsonl of `n` entities, each related to the next. */
const memoryFile = (n: number) =>
	[
		...Array.from({ length: n }, (_, i) =>
			JSON.stringify({ type: "entity", name: `e${i}`, entityType: "thing", observations: [`obs ${i}`] }),
		),
		...Array.from({ length: n - 1 }, (_, i) => JSON.stringify({ type: "relation", from: `e${i}`, to: `e${i + 1}`, relationType: "next" })),
	].join("\n");

/** Transition rows of the audit trail, oldest first. */
const transitions = (_o: TenantObject, s: DurableObjectState) =>
	s.storage.sql
		.exec<{ outcome: string }>("SELECT outcome FROM audit WHERE method = 'tasks/transition' ORDER BY seq")
		.toArray()
		.map((r) => r.outcome.replace(/ task=.*$/, ""));

/** Runs the object's alarm until the task is finished (at most `max` runs). */
async function drain(stub: ReturnType<typeof tenantStub>, p: ReturnType<typeof principal>, taskId: string, max = 50): Promise<TaskView> {
	for (let i = 0; i < max; i++) {
		const t = await tasksOf(stub).getTask(p, taskId);
		if (t && !["working", "input_required"].includes(t.status)) return t;
		await runInDurableObject(stub, (_o: TenantObject, s) => s.storage.setAlarm(Date.now()));
		await runDurableObjectAlarm(stub);
	}
	throw new Error("task did not finish");
}

describe("durable tasks in the kernel", () => {
	it("a task read by another principal (other client, other user) is not found, exactly like an unknown id", async () => {
		const t = freshTenant();
		const owner = principal(t.id);
		const task = value(await t.stub.callTool(owner, asTask("export_graph", {}))).task!;
		expect(task.taskId).toMatch(/^[A-Za-z0-9_-]{24}$/);
		for (const other of [principal(t.id, "u_1", "c2"), principal(t.id, "u_2", "c1")]) {
			expect(await t.k.getTask(other, task.taskId)).toBeNull();
			expect(await t.k.cancelTask(other, task.taskId)).toBeNull();
			expect(await t.k.updateTask(other, task.taskId, {})).toBeNull();
			expect((await t.k.listTasks(other)).tasks).toEqual([]);
		}
		expect(await t.k.getTask(owner, "x".repeat(24))).toBeNull();
		// The owner's task was not touched by the attempts.
		expect((await t.k.getTask(owner, task.taskId))?.status).toBe("working");
	});

	it("a cancel racing completion: cancel first wins (the step does nothing), completion first wins (the cancel changes nothing)", async () => {
		const t = freshTenant();
		const p = principal(t.id);
		const states = await runInDurableObject(t.stub, async (o: TenantObject, s) => {
			// Both orders inside one event: no alarm can interleave.
			const a = value(await o.callTool(p, asTask("export_graph", {}))).task!;
			const cancelled = await o.cancelTask(p, a.taskId);
			await o.alarm();
			const b = value(await o.callTool(p, asTask("export_graph", {}))).task!;
			await o.alarm();
			const late = await o.cancelTask(p, b.taskId);
			return { a: await o.getTask(p, a.taskId), cancelled, b: await o.getTask(p, b.taskId), late, rows: transitions(o, s) };
		});
		expect(states.cancelled?.status).toBe("cancelled");
		expect(states.a?.status).toBe("cancelled");
		expect(states.a?.result).toBeUndefined();
		expect(states.b?.status).toBe("completed");
		expect(states.late?.status).toBe("completed");
		expect(states.b?.result?.content[0]?.text).toBe("Exported 0 entities and 0 relations.");
		expect(states.rows).toEqual(["created->working", "working->cancelled", "created->working", "working->completed"]);
	});

	it("an eviction in the middle of an import: it resumes from the last committed step and completes once, one audit row per transition", async () => {
		const t = freshTenant();
		const p = principal(t.id);
		const task = await runInDurableObject(t.stub, async (o: TenantObject) => {
			const created = value(await o.callTool(p, asTask("import_graph", { jsonl: memoryFile(800) }))).task!;
			await o.alarm(); // the first step: 500 lines
			return o.getTask(p, created.taskId);
		});
		expect(task?.status).toBe("working");
		expect(task?.statusMessage).toBe("Imported 500 of 1599 lines");
		await evictDurableObject(t.stub);
		const done = await drain(t.stub, p, task!.taskId);
		expect(done.status).toBe("completed");
		expect(done.result?.structuredContent).toMatchObject({ lines: 1599, entitiesCreated: 800, relationsCreated: 799, skipped: 0 });
		// A duplicate alarm after completion is harmless.
		await runInDurableObject(t.stub, (_o: TenantObject, s) => s.storage.setAlarm(Date.now()));
		await runDurableObjectAlarm(t.stub);
		const counts = await runInDurableObject(t.stub, (o: TenantObject, s) => ({
			entities: s.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM mem_entities").one().n,
			rows: transitions(o, s),
		}));
		expect(counts.entities).toBe(800);
		expect(counts.rows).toEqual(["created->working", "working->completed"]);
		expect(await t.stub.verifyAudit()).toMatchObject({ ok: true });
	});

	it("a result read after its TTL is not found, and the alarm prunes the task and its stored parts", async () => {
		const t = freshTenant();
		const p = principal(t.id);
		const task = value(await t.stub.callTool(p, asTask("export_graph", {}))).task!;
		expect(task.ttlMs).toBe(3_600_000);
		expect((await drain(t.stub, p, task.taskId)).status).toBe("completed");
		await runInDurableObject(t.stub, (_o: TenantObject, s) =>
			s.storage.sql.exec("UPDATE tasks SET expires_at = ? WHERE task_id = ?", Date.now() - 1, task.taskId),
		);
		expect(await t.k.getTask(p, task.taskId)).toBeNull();
		expect(await t.k.cancelTask(p, task.taskId)).toBeNull();
		await runInDurableObject(t.stub, (_o: TenantObject, s) => s.storage.setAlarm(Date.now()));
		await runDurableObjectAlarm(t.stub);
		const left = await runInDurableObject(t.stub, (_o: TenantObject, s) => ({
			tasks: s.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM tasks").one().n,
			parts: s.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM task_blobs").one().n,
		}));
		expect(left).toEqual({ tasks: 0, parts: 0 });
	});

	it("the live-task ceiling: a user's eleventh unfinished task is refused (audited rate_limited); another user still starts one", async () => {
		const t = freshTenant();
		const p = principal(t.id);
		const refused = await runInDurableObject(t.stub, async (o: TenantObject, s) => {
			for (let i = 0; i < 10; i++) expect(value(await o.callTool(p, asTask("export_graph", {}))).task).toBeDefined();
			const eleventh = value(await o.callTool(p, asTask("export_graph", {})));
			const other = value(await o.callTool(principal(t.id, "u_2"), asTask("export_graph", {})));
			const row = s.storage.sql
				.exec<{ decision: string; outcome: string }>("SELECT decision, outcome FROM audit ORDER BY seq DESC LIMIT 2")
				.toArray();
			return { eleventh, other, row };
		});
		expect(refused.eleventh.task).toBeUndefined();
		expect(refused.eleventh.result.isError).toBe(true);
		expect(refused.eleventh.result.content[0]?.text).toMatch(/10 unfinished tasks/);
		expect(refused.other.task).toBeDefined();
		expect(refused.row[1]).toEqual({ decision: "rate_limited", outcome: "task_ceiling" });
		// Once they finish, the user may start again.
		await runInDurableObject(t.stub, async (o: TenantObject) => {
			for (let i = 0; i < 3; i++) await o.alarm();
		});
		expect(value(await t.stub.callTool(p, asTask("export_graph", {}))).task).toBeDefined();
	});
});

const modern = (token: string, id: number, method: string, params: Record<string, unknown>, name?: string, caps: object = TASKS_CAPS) =>
	modernRequest(selfFetch, ORIGIN, token, { id, method, params, name, caps });

describe("tasks on the wire", () => {
	it("a client that disconnects and comes back on the other era: an import started on 2026-07-28 is read back as a task on 2025-11-25, and one started on 2025-11-25 on 2026-07-28", async () => {
		const { account, tokens } = await signedIn();
		const created = await modern(
			tokens.access_token,
			1,
			"tools/call",
			{ name: "import_graph", arguments: { jsonl: memoryFile(600) } },
			"import_graph",
		);
		expect(created.result).toMatchObject({ resultType: "task", status: "working", ttlMs: 3_600_000 });
		const taskId = created.result!.taskId as string;
		// The client goes away; the tenant's alarm does the work.
		const p = brandPrincipal({ tenantId: account.tenantId, userId: account.userId, clientId: tokens.clientId, scopes: [] });
		expect((await drain(tenantStub(account.tenantId), p, taskId)).status).toBe("completed");

		// It comes back on 2025-11-25 (a session): tasks/get, tasks/result, tasks/list.
		const { client } = await connectMcp(tokens.access_token);
		expect(client.getServerCapabilities()?.tasks).toMatchObject({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
		const got = await client.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema);
		expect(got).toMatchObject({ taskId, status: "completed", ttl: 3_600_000 });
		const result = (await client.request(
			{ method: "tasks/result", params: { taskId } },
			(
				await import("@modelcontextprotocol/sdk/types.js")
			).CallToolResultSchema,
		)) as CallToolResult;
		expect(result.structuredContent).toMatchObject({ entitiesCreated: 600, relationsCreated: 599 });
		expect(result._meta?.["io.modelcontextprotocol/related-task"]).toEqual({ taskId });

		// And the other way: started as a 2025-11-25 task, read on 2026-07-28.
		const legacy = await client.request(
			{ method: "tools/call", params: { name: "export_graph", arguments: {}, task: { ttl: 120_000 } } },
			CreateTaskResultSchema,
		);
		expect(legacy.task).toMatchObject({ status: "working", ttl: 120_000 });
		await client.close();
		expect((await drain(tenantStub(account.tenantId), p, legacy.task.taskId)).status).toBe("completed");
		const back = await modern(tokens.access_token, 2, "tasks/get", { taskId: legacy.task.taskId }, legacy.task.taskId);
		expect(back.result).toMatchObject({ resultType: "complete", status: "completed", ttlMs: 120_000 });
		expect(back.result!.result.content[0].text).toBe("Exported 600 entities and 599 relations.");
	});

	it("a task id of another account is -32602 on 2026-07-28, the same answer as an unknown id; tasks/* without the extension is -32021", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const created = await modern(a.tokens.access_token, 1, "tools/call", { name: "export_graph", arguments: {} }, "export_graph");
		const id = created.result!.taskId as string;
		const foreign = await modern(b.tokens.access_token, 2, "tasks/get", { taskId: id }, id);
		const unknown = await modern(b.tokens.access_token, 3, "tasks/get", { taskId: "A".repeat(24) }, "A".repeat(24));
		expect(foreign.error).toEqual(unknown.error);
		expect(foreign.error?.code).toBe(-32602);
		const undeclared = await modern(a.tokens.access_token, 4, "tasks/get", { taskId: id }, id, {});
		expect(undeclared.error?.code).toBe(-32021);
		// Without the extension the same tool runs inline.
		const inline = await modern(a.tokens.access_token, 5, "tools/call", { name: "export_graph", arguments: {} }, "export_graph", {});
		expect(inline.result).toMatchObject({ resultType: "complete" });
		expect(inline.result!.taskId).toBeUndefined();
	});

	it("a 2025-11-25 client with an open GET stream receives its task's status notifications (working with progress, then completed)", async () => {
		const { account, tokens } = await signedIn();
		const { client, transport } = await connectMcp(tokens.access_token);
		const seen: { taskId: string; status: string; statusMessage?: string }[] = [];
		client.setNotificationHandler(TaskStatusNotificationSchema, (n) => void seen.push(n.params));
		const stub = tenantStub(account.tenantId);
		// The object's own alarm would finish the import at once: hold it, and run its steps by hand.
		type Held = TenantObject & { realAlarm?: () => Promise<void> };
		await runInDurableObject(stub, (o: Held) => {
			o.realAlarm = o.alarm.bind(o);
			o.alarm = async () => undefined;
		});
		const step = () => runInDurableObject(stub, (o: Held) => o.realAlarm!());
		// The SDK opens the standalone GET stream once notifications/initialized is accepted; give the session a moment to hold it.
		await new Promise((r) => setTimeout(r, 300));
		const created = await client.request(
			{ method: "tools/call", params: { name: "import_graph", arguments: { jsonl: memoryFile(800) }, task: {} } },
			CreateTaskResultSchema,
		);
		const taskId = created.task.taskId;
		const until = async (ok: () => boolean) => {
			for (let i = 0; i < 80 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
		};
		// One step (500 of 1,599 lines), then long enough for the session's watch (a look a second) to see it.
		await step();
		await until(() => seen.length > 0);
		const p = brandPrincipal({ tenantId: account.tenantId, userId: account.userId, clientId: tokens.clientId, scopes: [] });
		for (let i = 0; i < 10 && (await tasksOf(stub).getTask(p, taskId))?.status === "working"; i++) await step();
		await until(() => seen.some((n) => n.status === "completed"));
		expect(seen.every((n) => n.taskId === taskId)).toBe(true);
		expect(seen[0]).toMatchObject({ status: "working", statusMessage: "Imported 500 of 1599 lines" });
		expect(seen.at(-1)).toMatchObject({ status: "completed", statusMessage: "Imported 1599 of 1599 lines" });
		expect(seen.filter((n) => n.status === "completed")).toHaveLength(1);
		void transport;
		await client.close();
	}, 20_000);
});
