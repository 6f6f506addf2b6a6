#!/usr/bin/env node
/**
 * @module bench/profile
 * `node bench/profile.mjs [--lane mcp|modern|sse|setup|first] [--seconds 6] [--concurrency 8] [--top 30]`
 *
 * Where SMCP's CPU goes on one lane: starts SMCP alone (runtime direct, as in bench/run.mjs, with a
 * DevTools port), drives the trivial tool (`read_graph` on an empty graph) with concurrent
 * sessions, and records a V8 CPU profile of the SMCP isolate (front Worker and both Durable
 * Object classes) and of Miniflare's KV simulator. Prints self time per source module (the
 * bundle's `// path` markers map each line back to worker/…, objects/…, shared/… or an npm
 * package) and inclusive time of the heaviest functions, as sampled ms per tool call and as a
 * share of the isolate's samples (the shares are the reliable part: see the note it prints).
 *
 * `--no-profile` measures only (no inspector attached): calls/s and workerd CPU per call over
 * `--rounds` windows, for quick before/after comparisons of one change. `--against REF` adds the
 * same Worker built from a git ref (a temporary worktree) and alternates rounds between the two,
 * printing the per-round ratios: on a shared machine, only interleaved pairs compare fairly.
 * `--seed N` first fills the development tenant with N entities (batches of 1,000, as the bench's
 * graph) and then measures `search_nodes` (each query matching 10 entities) instead of the
 * trivial tool.
 *
 * A diagnostic for whoever optimises the hot path; not part of `npm run bench`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { sessionSetups, steadyCalls } from "./lib/load.mjs";
import { ModernClient, SseSession, StreamableSession } from "./lib/mcp.mjs";
import { smcpToken } from "./lib/oauth.mjs";
import { buildAll, freePort, ROOT, startRuntime } from "./lib/servers.mjs";
import { DEV, SPECS } from "./lib/specs.mjs";

const { values: o } = parseArgs({
	options: {
		lane: { type: "string", default: "mcp" },
		seconds: { type: "string", default: "6" },
		concurrency: { type: "string", default: "8" },
		top: { type: "string", default: "30" },
		"no-profile": { type: "boolean" },
		rounds: { type: "string", default: "3" },
		against: { type: "string" },
		seed: { type: "string", default: "0" },
	},
});
const lane = String(o.lane);
if (!["mcp", "modern", "sse", "setup", "first"].includes(lane)) throw new Error("--lane must be mcp, modern, sse, setup or first");
const seconds = Number(o.seconds);
const top = Number(o.top);

/**
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} Profile
 */

/** A minimal Chrome DevTools Protocol session over the global WebSocket. */
async function cdp(/** @type {string} */ url) {
	const ws = new WebSocket(url);
	await new Promise((resolve, reject) => {
		ws.addEventListener("open", resolve, { once: true });
		ws.addEventListener("error", reject, { once: true });
	});
	let next = 1;
	/** @type {Map<number, (v: any) => void>} */
	const waiting = new Map();
	ws.addEventListener("message", (e) => {
		const m = JSON.parse(String(e.data));
		if (m.id && waiting.has(m.id)) {
			waiting.get(m.id)?.(m);
			waiting.delete(m.id);
		}
	});
	return {
		/** @param {string} method @param {object} [params] */
		send(method, params = {}) {
			const id = next++;
			ws.send(JSON.stringify({ id, method, params }));
			return new Promise((resolve, reject) =>
				waiting.set(id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result))),
			);
		},
		close: () => ws.close(),
	};
}

/**
 * DevTools sessions, profiler enabled, on the SMCP isolate and Miniflare's KV simulator.
 * @param {number} inspectorPort
 * @param {number} interval sampling interval, µs
 */
async function profilerSessions(inspectorPort, interval) {
	const targets = /** @type {{ id: string, webSocketDebuggerUrl: string }[]} */ (
		await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()
	);
	return Promise.all(
		["core:user:smcp", "kv:ns"].map(async (id) => {
			const t = targets.find((x) => x.id === id);
			if (!t) throw new Error(`no inspector target ${id}`);
			const s = await cdp(t.webSocketDebuggerUrl);
			await s.send("Profiler.enable");
			await s.send("Profiler.setSamplingInterval", { interval });
			return { id, s };
		}),
	);
}

/** Maps a bundle line to the module it came from, using esbuild's `// path` markers. */
function moduleMap(/** @type {string} */ bundle) {
	/** @type {[number, string][]} */
	const marks = [];
	bundle.split("\n").forEach((line, i) => {
		const m = /^\/\/ ((?:node_modules|worker|objects|shared|bench)\/\S+)$/.exec(line);
		if (m) marks.push([i, /** @type {string} */ (m[1])]);
	});
	return (/** @type {number} */ line) => {
		let lo = 0;
		let hi = marks.length - 1;
		let found = "(bundle prelude)";
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			const mark = /** @type {[number, string]} */ (marks[mid]);
			if (mark[0] <= line) {
				found = mark[1];
				lo = mid + 1;
			} else hi = mid - 1;
		}
		return found;
	};
}

/** `node_modules/@scope/pkg/…` → `@scope/pkg`; our files stay as paths. */
function packageOf(/** @type {string} */ path) {
	const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
	return m ? /** @type {string} */ (m[1]) : path;
}

/**
 * Self and inclusive time per key.
 * @param {Profile} p
 * @param {(n: ProfileNode) => string} keyOf
 */
function attribute(p, keyOf) {
	/** @type {Map<number, ProfileNode>} */
	const byId = new Map(p.nodes.map((n) => [n.id, n]));
	/** @type {Map<number, number>} */
	const parent = new Map();
	for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	/** @type {Map<string, number>} */
	const self = new Map();
	/** @type {Map<string, number>} */
	const inclusive = new Map();
	let busy = 0;
	p.samples.forEach((id, i) => {
		const us = p.timeDeltas[i + 1] ?? 0;
		const node = byId.get(id);
		if (!node) return;
		const name = node.callFrame.functionName;
		if (name === "(idle)" || name === "(program)") return;
		busy += us;
		self.set(keyOf(node), (self.get(keyOf(node)) ?? 0) + us);
		const seen = new Set();
		for (let cur = /** @type {number | undefined} */ (id); cur !== undefined; cur = parent.get(cur)) {
			const n = byId.get(cur);
			if (!n) break;
			const k = keyOf(n);
			if (seen.has(k)) continue;
			seen.add(k);
			inclusive.set(k, (inclusive.get(k) ?? 0) + us);
		}
	});
	return { self, inclusive, busy };
}

/** @param {Map<string, number>} m @param {number} calls @param {number} n @param {number} busy */
const topOf = (m, calls, n, busy) =>
	[...m.entries()]
		.sort((a, b) => b[1] - a[1])
		.slice(0, n)
		.map(([k, us]) => `  ${(us / 1000 / calls).toFixed(3).padStart(7)} ms/call ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`)
		.join("\n");

/** `--no-profile`: rounds of the lane's load with no inspector; medians of calls/s and CPU per call. */
async function measureOnly(
	/** @type {import("./lib/servers.mjs").ServerSpec} */ spec,
	/** @type {{ dir: string, script: string }} */ build,
) {
	/** @type {{ name: string, spec: import("./lib/servers.mjs").ServerSpec, build: { dir: string, script: string } }[]} */
	const variants = [{ name: "working tree", spec, build }];
	let worktree = "";
	if (o.against) {
		worktree = mkdtempSync(join(tmpdir(), "smcp-against-"));
		execFileSync("git", ["worktree", "add", "--detach", worktree, String(o.against)], { cwd: ROOT, stdio: "ignore" });
		symlinkSync(join(ROOT, "node_modules"), join(worktree, "node_modules"));
		const base = { ...spec, key: "smcp-against", config: relative(ROOT, join(worktree, "wrangler.jsonc")) };
		variants.push({
			name: String(o.against),
			spec: base,
			build: /** @type {{ dir: string, script: string }} */ ((await buildAll([base]))["smcp-against"]),
		});
	}
	const servers = [];
	try {
		for (const v of variants) {
			const server = await startRuntime(v.spec, v.build, {});
			servers.push(server);
			const token = await smcpToken(server.origin, DEV.email, DEV.password);
			if (SEED > 0) await seed(server.origin, token);
			Object.assign(v, {
				load: {
					concurrency: Number(o.concurrency),
					warmupMs: 1000,
					durationMs: seconds * 1000,
					probe: server.probe,
					open: opener(server.origin, token),
					call: SEED > 0 ? search : trivial,
				},
			});
		}
		/** @type {Record<string, number[]>} */
		const cpu = {};
		const ratios = [];
		for (let i = 0; i < Number(o.rounds); i++) {
			const order = i % 2 ? [...variants].reverse() : variants;
			/** @type {Record<string, number>} */
			const round = {};
			for (const v of order) {
				const m = await (lane === "setup" ? sessionSetups : steadyCalls)(/** @type {any} */ (v).load);
				(cpu[v.name] ??= []).push(m.cpuMsPerOp);
				round[v.name] = m.cpuMsPerOp;
				console.error(
					`round ${i + 1} ${v.name}: ${m.rate.toFixed(0)}/s, ${m.cpuMsPerOp.toFixed(2)} ms CPU, p50 ${m.p50.toFixed(1)} p99 ${m.p99.toFixed(1)} ms`,
				);
			}
			if (variants.length === 2)
				ratios.push(/** @type {number} */ (round["working tree"]) / /** @type {number} */ (round[String(o.against)]));
		}
		const mid = (/** @type {number[]} */ a) => [...a].sort((x, y) => x - y)[a.length >> 1] ?? 0;
		for (const v of variants)
			console.log(
				`SMCP (${v.name}), lane ${lane}, ${o.concurrency} sessions: median ${mid(cpu[v.name] ?? []).toFixed(2)} ms CPU per ${lane === "setup" ? "setup" : "call"}`,
			);
		if (ratios.length)
			console.log(
				`CPU per op, working tree ÷ ${o.against}: median ${mid(ratios).toFixed(3)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(" ")})`,
			);
	} finally {
		for (const s of servers) await s.stop();
		if (worktree) execFileSync("git", ["worktree", "remove", "--force", worktree], { cwd: ROOT, stdio: "ignore" });
	}
}

const opener = (/** @type {string} */ origin, /** @type {string} */ token) => () =>
	lane === "sse"
		? new SseSession(origin, token)
		: lane === "modern"
			? new ModernClient(origin, token)
			: new StreamableSession(origin, token);
const trivial = (/** @type {import("./lib/mcp.mjs").McpClient} */ c) => c.call("read_graph", {});
const SEED = Number(o.seed);
const search = (/** @type {import("./lib/mcp.mjs").McpClient} */ c) =>
	c.call("search_nodes", { query: `topic-${String(Math.floor(Math.random() * 1000)).padStart(4, "0")}` });

/** Fills the token's tenant with SEED entities, as bench/run.mjs seeds its graph. */
async function seed(/** @type {string} */ origin, /** @type {string} */ token) {
	const t0 = Date.now();
	const session = new StreamableSession(origin, token);
	await session.initialize();
	for (let i = 0; i < SEED; i += 1000) {
		const entities = Array.from({ length: Math.min(1000, SEED - i) }, (_, j) => {
			const n = i + j;
			return {
				name: `entity-${String(n).padStart(5, "0")}`,
				entityType: "bench",
				observations: [`note about topic-${String(n % 1000).padStart(4, "0")}`, `seeded by the SMCP benchmark, item ${n}`],
			};
		});
		const r = await session.call("create_entities", { entities });
		if (!r.ok) throw new Error(`seeding failed at ${i}: ${r.error}`);
	}
	await session.close();
	console.error(`seeded ${SEED} entities in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * `--lane first`: the first requests on a fresh process (workerd restarted on the same storage, so
 * the token stays valid), profiled: the front Worker's first request alone (`server/discover`), the
 * first call (a new TenantObject), the next, a warm one; the SMCP isolate and Miniflare's KV
 * simulator. Prints what a first request spends its time on that a warm one does not.
 */
async function firstCall(/** @type {import("./lib/servers.mjs").ServerSpec} */ spec, /** @type {{ dir: string, script: string }} */ build) {
	const stateDir = mkdtempSync(join(tmpdir(), "smcp-first-"));
	let server = await startRuntime(spec, build, { stateDir });
	const port = Number(new URL(server.origin).port);
	const token = await smcpToken(server.origin, DEV.email, DEV.password);
	await new ModernClient(server.origin, token).call("read_graph", {});
	await server.stop();
	const inspectorPort = await freePort();
	server = await startRuntime(spec, build, { stateDir, port, inspectorPort });
	try {
		const sessions = await profilerSessions(inspectorPort, 50);
		const client = new ModernClient(server.origin, token);
		const toModule = moduleMap(readFileSync(build.script, "utf8"));
		const bundleName = build.script.split("/").pop() ?? "";
		const where = (/** @type {ProfileNode} */ n) =>
			n.callFrame.url.endsWith(bundleName) ? toModule(n.callFrame.lineNumber) : n.callFrame.url || "(native)";
		// The front Worker's first request alone (server/discover: no Durable Object), then the first
		// call (a new TenantObject), the next one, and a warm one.
		const steps = [
			["first request (server/discover)", () => client.discover()],
			["first call (new TenantObject)", () => client.call("read_graph", {})],
			["second call", () => client.call("read_graph", {})],
			["warm call (10th)", () => client.call("read_graph", {})],
		];
		for (const [label, run] of /** @type {[string, () => Promise<{ ok: boolean }>][]} */ (steps)) {
			if (label.startsWith("warm")) for (let i = 0; i < 7; i++) await client.call("read_graph", {});
			for (const { s } of sessions) await s.send("Profiler.start");
			const t0 = performance.now();
			const r = await run();
			const ms = performance.now() - t0;
			const profiles = await Promise.all(
				sessions.map(async ({ id, s }) => ({ id, profile: /** @type {{ profile: Profile }} */ (await s.send("Profiler.stop")).profile })),
			);
			if (!r.ok) throw new Error(`request failed: ${JSON.stringify(r).slice(0, 200)}`);
			console.log(`\n== ${label}: ${ms.toFixed(1)} ms wall`);
			for (const { id, profile } of profiles) {
				const byFn = attribute(profile, (n) => `${n.callFrame.functionName || "(anonymous)"}  [${where(n)}]`);
				const byPkg = attribute(profile, (n) => packageOf(where(n)));
				console.log(`[${id}] JavaScript busy ${(byPkg.busy / 1000).toFixed(1)} ms (profiled)`);
				if (byPkg.busy === 0 || id === "kv:ns") continue;
				console.log(`self time by module:\n${topOf(byPkg.self, 1, 12, byPkg.busy)}`);
				console.log(`inclusive time by function:\n${topOf(byFn.inclusive, 1, top, byFn.busy)}`);
			}
		}
		for (const { s } of sessions) s.close();
	} finally {
		await server.stop();
		rmSync(stateDir, { recursive: true, force: true });
	}
}

async function main() {
	const spec = /** @type {import("./lib/servers.mjs").ServerSpec} */ (SPECS.find((s) => s.key === "smcp"));
	const builds = await buildAll([spec]);
	const build = /** @type {{ dir: string, script: string }} */ (builds.smcp);
	if (lane === "first") {
		if (o["no-profile"]) throw new Error("--lane first always profiles: drop --no-profile");
		return firstCall(spec, build);
	}
	if (o["no-profile"]) return measureOnly(spec, build);
	const inspectorPort = await freePort();
	const server = await startRuntime(spec, build, { inspectorPort });
	try {
		const token = await smcpToken(server.origin, DEV.email, DEV.password);
		const sessions = await profilerSessions(inspectorPort, 100);
		if (SEED > 0) await seed(server.origin, token);
		const load = {
			concurrency: Number(o.concurrency),
			warmupMs: 1500,
			durationMs: seconds * 1000,
			probe: server.probe,
			open: opener(server.origin, token),
			call: SEED > 0 ? search : trivial,
		};
		// Warm up unprofiled, then profile a steady window.
		await (lane === "setup" ? sessionSetups : steadyCalls)({ ...load, durationMs: 1500 });
		for (const { s } of sessions) await s.send("Profiler.start");
		/** @type {{ id: string, profile: Profile }[]} */
		let profiles = [];
		// Stop before the sessions are closed: DELETE is not part of a call or a setup.
		const afterWindow = async () => {
			profiles = await Promise.all(
				sessions.map(async ({ id, s }) => ({ id, profile: /** @type {{ profile: Profile }} */ (await s.send("Profiler.stop")).profile })),
			);
		};
		const m = await (lane === "setup" ? sessionSetups : steadyCalls)({ ...load, warmupMs: 0, afterWindow });
		for (const { s } of sessions) s.close();

		const calls = m.ops;
		const toModule = moduleMap(readFileSync(build.script, "utf8"));
		const bundleName = build.script.split("/").pop() ?? "";
		const where = (/** @type {ProfileNode} */ n) =>
			n.callFrame.url.endsWith(bundleName) ? toModule(n.callFrame.lineNumber) : n.callFrame.url || "(native)";
		console.log(
			`SMCP, lane ${lane}, ${load.concurrency} sessions, ${seconds} s: ${m.rate.toFixed(0)} ${lane === "setup" ? "setups" : "calls"}/s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms`,
		);
		console.log(`workerd process CPU: ${m.cpuMsPerOp.toFixed(2)} ms per ${lane === "setup" ? "setup" : "call"} (${calls} in the window)`);
		console.log(
			"Sampled times are inflated by the profiler (an attached inspector also makes console.log format every line) and a",
			"sample may be charged to an isolate while another isolate runs on the thread: read the shares, not the absolute ms.\n",
		);
		for (const { id, profile } of profiles) {
			const byPkg = attribute(profile, (n) => packageOf(where(n)));
			console.log(`[${id}] JavaScript busy: ${(byPkg.busy / 1000 / calls).toFixed(3)} ms/call`);
			if (byPkg.busy === 0) continue;
			console.log(`self time by module:\n${topOf(byPkg.self, calls, id === "kv:ns" ? 5 : 15, byPkg.busy)}`);
			if (id === "kv:ns") {
				console.log("");
				continue;
			}
			const byFn = attribute(profile, (n) => `${n.callFrame.functionName || "(anonymous)"}  [${where(n)}]`);
			console.log(`\nself time by function:\n${topOf(byFn.self, calls, top, byFn.busy)}`);
			console.log(`\ninclusive time by function:\n${topOf(byFn.inclusive, calls, top, byFn.busy)}\n`);
		}
	} finally {
		await server.stop();
	}
}

main().then(
	() => process.exit(0),
	(e) => {
		console.error(e);
		process.exit(1);
	},
);
