/**
 * @module bench/lib/capacity
 * A tenant's capacity: one `TenantObject` runs every call of its tenant one at a time, so a
 * tenant's throughput is bounded by one object's. Two curves on the same server and machine, for
 * a point read (`open_nodes` of one entity), a write (`add_observations`) and `search_nodes`, each
 * tenant holding the same seeded graph:
 *
 * - **one tenant** as its sessions grow (closed loop, 2025-11-25 Streamable HTTP sessions);
 * - **N tenants in parallel**, four sessions each: the same total concurrency as the one-tenant
 *   point with 4·N sessions, spread over N objects.
 *
 * On this machine every object runs in the same workerd process, whose JavaScript runs on one
 * thread: the N-tenant curve shows the process's ceiling, the one-tenant curve whether one
 * object serialises below it. docs/architecture.md §Scaling turns the figures into the model.
 */
import { accountRecords, hashPassword } from "../../shared/accounts/records.mjs";
import { steadyCalls } from "./load.mjs";
import { StreamableSession } from "./mcp.mjs";
import { smcpToken } from "./oauth.mjs";

/**
 * @typedef {{ workload: string, curve: "sessions" | "tenants", x: number, sessions: number, rate: number, p50: number, p99: number, cpuMsPerOp: number, errors: number }} CapacityPoint
 * @typedef {{ entities: number, tenants: number, points: CapacityPoint[], seedSeconds: number }} Capacity
 */

const pad = (/** @type {number} */ n, /** @type {number} */ w) => String(n).padStart(w, "0");
const rnd = (/** @type {number} */ n) => Math.floor(Math.random() * n);

/**
 * @param {{ server: import("./servers.mjs").RunningServer & { mf: import("miniflare").Miniflare }, tenants: number, entities: number,
 *   sessions: number[], tenantCounts: number[], perTenant: number, warmupMs: number, durationMs: number,
 *   say: (msg: string) => void, quiet: () => Promise<void> }} o
 * @returns {Promise<Capacity>}
 */
export async function capacity(o) {
	const t0 = Date.now();
	const kv = await o.server.mf.getKVNamespace("DIRECTORY_KV");
	const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
	/** @type {string[]} */
	const tokens = [];
	for (let t = 0; t < o.tenants; t++) {
		const email = `bench-cap-${t}@smcp.local`;
		const password = `bench-${crypto.randomUUID()}`;
		const tenantId = `t_${hex()}`;
		const account = { userId: `u_${hex()}`, email, tenantId, tenants: [tenantId], createdAt: Date.now() };
		for (const { key, value } of accountRecords(account, await hashPassword(password))) await kv.put(key, value);
		const token = await smcpToken(o.server.origin, email, password);
		tokens.push(token);
		const s = new StreamableSession(o.server.origin, token);
		await s.initialize();
		for (let i = 0; i < o.entities; i += 1000) {
			const entities = Array.from({ length: Math.min(1000, o.entities - i) }, (_, j) => ({
				name: `entity-${pad(i + j, 5)}`,
				entityType: "bench",
				observations: [`note about topic-${pad((i + j) % 1000, 4)}`, `seeded by the SMCP benchmark, item ${i + j}`],
			}));
			const r = await s.call("create_entities", { entities });
			if (!r.ok) throw new Error(`capacity seeding failed: ${r.error}`);
		}
		await s.close();
	}
	const seedSeconds = (Date.now() - t0) / 1000;
	o.say(`capacity: ${o.tenants} tenants seeded with ${o.entities} entities each in ${seedSeconds.toFixed(0)} s`);
	let written = 0;
	/** @type {Record<string, (c: import("./mcp.mjs").McpClient) => Promise<import("./mcp.mjs").CallOutcome>>} */
	const workloads = {
		read: (c) => c.call("open_nodes", { names: [`entity-${pad(rnd(o.entities), 5)}`] }),
		write: (c) =>
			c.call("add_observations", {
				observations: [{ entityName: `entity-${pad(rnd(o.entities), 5)}`, contents: [`capacity ${++written} ${Date.now()}`] }],
			}),
		search: (c) => c.call("search_nodes", { query: `topic-${pad(rnd(1000), 4)}` }),
	};
	/** @type {CapacityPoint[]} */
	const points = [];
	for (const [workload, call] of Object.entries(workloads)) {
		/** @type {{ curve: "sessions" | "tenants", x: number, sessions: number, tokenOf: (i: number) => string }[]} */
		const plan = [
			...o.sessions.map((n) => ({
				curve: /** @type {const} */ ("sessions"),
				x: n,
				sessions: n,
				tokenOf: () => /** @type {string} */ (tokens[0]),
			})),
			...o.tenantCounts
				.filter((n) => n <= tokens.length)
				.map((n) => ({
					curve: /** @type {const} */ ("tenants"),
					x: n,
					sessions: n * o.perTenant,
					tokenOf: (/** @type {number} */ i) => /** @type {string} */ (tokens[i % n]),
				})),
		];
		for (const p of plan) {
			await o.quiet();
			let opened = 0;
			const m = await steadyCalls({
				concurrency: p.sessions,
				warmupMs: o.warmupMs,
				durationMs: o.durationMs,
				probe: o.server.probe,
				open: () => new StreamableSession(o.server.origin, p.tokenOf(opened++)),
				call,
			});
			points.push({
				workload,
				curve: p.curve,
				x: p.x,
				sessions: p.sessions,
				rate: m.rate,
				p50: m.p50,
				p99: m.p99,
				cpuMsPerOp: m.cpuMsPerOp,
				errors: m.errors,
			});
			o.say(
				`capacity ${workload.padEnd(6)} ${p.curve === "sessions" ? `1 tenant, ${p.sessions} sessions` : `${p.x} tenants × ${o.perTenant} sessions`}: ${m.rate.toFixed(0)} calls/s, p50 ${m.p50.toFixed(1)} p99 ${m.p99.toFixed(1)} ms, ${m.cpuMsPerOp.toFixed(2)} ms CPU/call${m.errors ? `, ${m.errors} errors (${m.firstError})` : ""}`,
			);
		}
	}
	return { entities: o.entities, tenants: o.tenants, points, seedSeconds };
}
