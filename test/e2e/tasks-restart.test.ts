/**
 * Issue 17's "done means" against a real `wrangler dev`: an `import_graph` of 10,000 entities
 * started over `/mcp` (2026-07-28, as a task) by a client that signed in through the real OAuth
 * flow; the client goes away at once and the server is stopped and started again on the same
 * persisted state. The tenant's alarm finishes the import with no client connected, and the same
 * client (a task is bound to its user and OAuth client) reads the result back as a task on both
 * eras: `tasks/get` on 2026-07-28 and `tasks/result` on a 2025-11-25 session.
 *
 * Reading a task never runs a step (`TenantObject.getTask` is a read), and an object whose alarm
 * was lost would re-arm it only at the retention period (minutes): the import finishing within
 * seconds of the restart is the persisted alarm's work. Measured here: the import (40 steps of 500
 * lines) takes about 10 to 20 s under `wrangler dev` on a shared 2-core machine.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, GetTaskResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { obtainTokens } from "../support/oauth-flow";
import { startWrangler, type DevServer } from "./wrangler";
import { type ModernAnswer, modernRequest } from "../support/modern";

const ADMIN = "e2e-admin-token-0123456789abcdef0123456789abcdef";
const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
const ENTITIES = 10_000;
const persistDir = mkdtempSync(join(tmpdir(), "smcp-tasks-restart-"));
const VARS = { SMCP_ADMIN_TOKEN: ADMIN };
let dev: DevServer;

beforeAll(async () => {
	dev = await startWrangler({ persistDir, vars: VARS });
});
afterAll(async () => {
	await dev?.stop();
});

/** The reference memory server's memory.jsonl: `n` entities, each related to the next. */
const memoryFile = (n: number) =>
	[
		...Array.from({ length: n }, (_, i) =>
			JSON.stringify({ type: "entity", name: `entity-${i}`, entityType: "thing", observations: [`observation ${i}`] }),
		),
		...Array.from({ length: n - 1 }, (_, i) =>
			JSON.stringify({ type: "relation", from: `entity-${i}`, to: `entity-${i + 1}`, relationType: "next" }),
		),
	].join("\n");

/** One 2026-07-28 request (stateless, the per-request `_meta` envelope, the tasks extension declared). */
const modern = (token: string, id: number, method: string, params: Record<string, unknown>, name: string) =>
	modernRequest(fetch, dev.origin, token, { id, method, params, name, clientName: "e2e-tasks" });

/** The tenant's audit trail as the operator exports it (JSON lines, a header first). */
async function auditRows(tenantId: string): Promise<{ ts: string; method: string; outcome: string }[]> {
	const p = promisify(execFile)(process.execPath, ["bin/smcp.mjs", "audit", "export", "--tenant", tenantId], {
		env: { ...process.env, SMCP_ADMIN_TOKEN: ADMIN, SMCP_API_KEY: "", SMCP_URL: dev.origin },
		maxBuffer: 64 * 1024 * 1024,
	});
	p.child.stdin!.end();
	const { stdout } = await p;
	return stdout
		.split("\n")
		.filter(Boolean)
		.slice(1)
		.map((l) => JSON.parse(l));
}

describe("a durable task outlives its client and a restart", () => {
	it("an import_graph of 10,000 entities started over /mcp completes while its client is gone and the server restarts; read back on both eras", async () => {
		const tokens = await obtainTokens({ fetch, origin: dev.origin, email: DEV.email, password: DEV.password });
		const created = await modern(
			tokens.access_token,
			1,
			"tools/call",
			{ name: "import_graph", arguments: { jsonl: memoryFile(ENTITIES) } },
			"import_graph",
		);
		expect(created.error).toBeUndefined();
		expect(created.result).toMatchObject({ resultType: "task", status: "working" });
		const taskId = created.result!.taskId as string;

		// The client is gone (no connection is open) and the server stops and starts again.
		await dev.stop();
		const stoppedAt = Date.now();
		dev = await startWrangler({ persistDir, port: dev.port, vars: VARS });
		const restartedAt = Date.now();

		// The same client comes back (its token is from before the restart) and polls on 2026-07-28.
		// `tasks/get` only reads: the tenant's alarm, persisted across the restart, runs the steps.
		let got: ModernAnswer = {};
		for (let id = 2; Date.now() - restartedAt < 35_000; id++) {
			got = await modern(tokens.access_token, id, "tasks/get", { taskId }, taskId);
			if (got.result?.status !== "working") break;
			await new Promise((r) => setTimeout(r, 250));
		}
		expect(got.error).toBeUndefined();
		expect(got.result).toMatchObject({ resultType: "complete", taskId, status: "completed" });
		expect(got.result!.result.structuredContent).toMatchObject({ entitiesCreated: ENTITIES, relationsCreated: ENTITIES - 1 });

		// 2025-11-25: a session of the same client reads the same task's result.
		const client = new Client({ name: "e2e-tasks-legacy", version: "1.0.0" });
		await client.connect(
			new StreamableHTTPClientTransport(new URL(`${dev.origin}/mcp`), {
				requestInit: { headers: { Authorization: `Bearer ${tokens.access_token}` } },
			}),
		);
		expect((await client.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema)).status).toBe("completed");
		const result = await client.request({ method: "tasks/result", params: { taskId } }, CallToolResultSchema);
		expect(result.structuredContent).toMatchObject({ entitiesCreated: ENTITIES, relationsCreated: ENTITIES - 1 });
		expect(result._meta?.["io.modelcontextprotocol/related-task"]).toEqual({ taskId });
		await client.close();

		// One audit row per transition, the completion after the restart: the import ran on across it.
		const rows = (await auditRows(await devTenant())).filter(
			(r) => r.method === "tasks/transition" && r.outcome.endsWith(` task=${taskId.slice(0, 8)}`),
		);
		expect(rows.map((r) => r.outcome.replace(/ task=.*$/, ""))).toEqual(["created->working", "working->completed"]);
		expect(Number(rows[0]!.ts)).toBeLessThan(stoppedAt);
		expect(Number(rows[1]!.ts)).toBeGreaterThan(restartedAt);
	}, 90_000); // typically 25 to 50 s in all, a wrangler restart included; the bound leaves room for a loaded machine
});

/** The dev account's tenant id, as the operator lists it. */
async function devTenant(): Promise<string> {
	const p = promisify(execFile)(process.execPath, ["bin/smcp.mjs", "users", "find", "--email", DEV.email], {
		env: { ...process.env, SMCP_ADMIN_TOKEN: ADMIN, SMCP_API_KEY: "", SMCP_URL: dev.origin },
	});
	p.child.stdin!.end();
	const { stdout } = await p;
	return JSON.parse(stdout).tenantId;
}
