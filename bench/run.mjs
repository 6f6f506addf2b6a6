#!/usr/bin/env node
/**
 * @module bench/run
 * `npm run bench [-- --quick] [-- --no-wrangler] [-- --no-write] [-- --from-results] [-- --no-apps] [-- --only audit,idle]`
 *
 * Compares, in one run and on the same workerd, SMCP with two reference servers kept in
 * bench/fixtures: a static JSON-RPC Worker behind the same `@cloudflare/workers-oauth-provider`
 * (the ceiling) and a minimal `agents` McpAgent behind it (the peer). Two modes: runtime direct
 * (workerd through Miniflare's API: the headline) and `wrangler dev`. Tokens come from each
 * server's real OAuth flow; the load is real MCP JSON-RPC over HTTP on loopback (bench/lib/mcp.mjs),
 * from closed-loop concurrent sessions, in rounds interleaved across servers.
 *
 * Output: the tables on stdout, progress on stderr, the raw measurements in
 * bench/.build/results.json, and (full runs only, unless --no-write) docs/performance.md (between
 * its `bench:*` markers) and docs/performance.svg. `--from-results` measures nothing: it renders
 * the last bench/.build/results.json again (after a change to the report's format).
 *
 * The benchmark raises SMCP's rate limits and session cap through vars (BENCH_LIMITS in
 * bench/lib/specs.mjs): the point is to measure the cost of the full path, including the
 * rate-limit check and the audit row, not to be refused by it.
 */
import { runAppsBench } from "./apps.mjs";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { accountRecords, hashPassword } from "../shared/accounts/records.mjs";
import { capacity } from "./lib/capacity.mjs";
import { bundleReport, firstRequests, startupProfile } from "./lib/coldstart.mjs";
import { idleSessions, interleavedSteadyCalls, sessionSetups, steadyCalls } from "./lib/load.mjs";
import { ModernClient, SseSession, StreamableSession } from "./lib/mcp.mjs";
import { fixtureToken, smcpToken } from "./lib/oauth.mjs";
import { cpuMs, machine, processTree, systemBusyMs } from "./lib/proc.mjs";
import { capacitySvg, chartSvg, costMarkdown, replaceBlock, resultsMarkdown, SERVERS } from "./lib/report.mjs";
import { buildAll, ROOT, startRuntime, startWranglerDev, WRANGLER } from "./lib/servers.mjs";
import { BENCH_LIMITS, DEV, NO_AUDIT_TENANT, newTenantId, SPECS } from "./lib/specs.mjs";
import { median, summarize } from "./lib/stats.mjs";

const { values: flags } = parseArgs({
	options: {
		quick: { type: "boolean" },
		"no-apps": { type: "boolean" },
		"no-wrangler": { type: "boolean" },
		"no-write": { type: "boolean" },
		"from-results": { type: "boolean" },
		only: { type: "string" },
	},
});
const QUICK = Boolean(flags.quick);
/**
 * `--only audit,trivial-modern,idle`: run only the cells whose group starts with one of these
 * words (`idle`, `coldstart`, `bundle` name the non-cell parts); the docs are left alone. For
 * measuring one change three times without the whole run.
 */
const ONLY = flags.only ? String(flags.only).split(",").filter(Boolean) : null;
const wanted = (/** @type {string} */ group) => !ONLY || ONLY.some((w) => group.startsWith(w));

/** Run parameters. A full run stays under ~10 minutes on 2 cores. */
const P = QUICK
	? {
			rounds: 1,
			warmupMs: 300,
			durationMs: 1000,
			slices: 2,
			leadInMs: 100,
			concurrencies: [1, 8, 32],
			entities: 2000,
			wranglerRounds: 1,
			idleSettleMs: 1000,
			idleMs: 2000,
			idleRounds: 1,
			capacity: { tenants: 4, entities: 1000, sessions: [1, 4, 16], tenantCounts: [1, 4], perTenant: 4, warmupMs: 300, durationMs: 800 },
			coldRounds: 1,
		}
	: {
			rounds: 3,
			warmupMs: 1000,
			durationMs: 3000,
			slices: 6,
			leadInMs: 100,
			concurrencies: [1, 8, 32],
			entities: 10_000,
			wranglerRounds: 3,
			idleSettleMs: 2000,
			idleMs: 10_000,
			idleRounds: 3,
			capacity: {
				tenants: 16,
				entities: 10_000,
				sessions: [1, 4, 8, 16, 32, 64],
				tenantCounts: [1, 2, 4, 8, 16],
				perTenant: 4,
				warmupMs: 500,
				durationMs: 2000,
			},
			coldRounds: 3,
		};
/** At most this long, in total, is spent waiting for other processes to leave the CPU alone. */
const QUIET_BUDGET_MS = (QUICK ? 15 : 60) * 1000;
/** Hard stop: a hung server must not hang the run. */
const DEADLINE_MS = (QUICK ? 8 : 40) * 60_000;

const GRAPH = { email: "bench-graph@smcp.local", password: `bench-${crypto.randomUUID()}` };

const rnd = (/** @type {number} */ n) => Math.floor(Math.random() * n);
const pad = (/** @type {number} */ n, /** @type {number} */ w) => String(n).padStart(w, "0");
let written = 0;

/**
 * What each server runs for a workload: the tool, its arguments, and which token (tenant).
 * SMCP has no `add`; its cheapest tool is `read_graph` on an empty graph (the dev account's
 * tenant): a handful of SELECTs on empty tables. Reads and writes go to a second tenant
 * holding the seeded graph, so that the trivial tool's graph stays empty.
 * @type {Record<string, Record<string, { tool: string, args: () => Record<string, unknown>, tenant: string }>>}
 */
const WORKLOADS = {
	trivial: {
		open: { tool: "add", args: () => ({ a: rnd(1000), b: rnd(1000) }), tenant: "default" },
		static: { tool: "add", args: () => ({ a: rnd(1000), b: rnd(1000) }), tenant: "default" },
		agent: { tool: "add", args: () => ({ a: rnd(1000), b: rnd(1000) }), tenant: "default" },
		smcp: { tool: "read_graph", args: () => ({}), tenant: "empty" },
		smcpna: { tool: "read_graph", args: () => ({}), tenant: "empty" },
		smcpaa: { tool: "read_graph", args: () => ({}), tenant: "empty" },
		"smcp-modern": { tool: "read_graph", args: () => ({}), tenant: "empty" },
	},
	read: { smcp: { tool: "search_nodes", args: () => ({ query: `topic-${pad(rnd(1000), 4)}` }), tenant: "graph" } },
	write: {
		smcp: {
			tool: "add_observations",
			args: () => ({
				observations: [{ entityName: `entity-${pad(rnd(P.entities), 5)}`, contents: [`bench observation ${++written} ${Date.now()}`] }],
			}),
			tenant: "graph",
		},
	},
};

/**
 * @typedef {{ group: string, lane: "mcp" | "sse" | "modern", workload: keyof typeof WORKLOADS, kind: "steady" | "setup", c: number, servers: string[], slicesTimes?: number }} Cell
 * @typedef {import("./lib/servers.mjs").RunningServer} RunningServer
 */

/** The runtime-direct cells, grouped so that each group's servers run back to back. */
function runtimeCells() {
	/** @type {Cell[]} */
	const cells = [];
	const all = ["static", "agent", "smcp"];
	// At 8 sessions, also the static answers without OAuth ("open"): what the OAuth layer costs.
	for (const c of P.concurrencies)
		cells.push({
			group: `trivial-mcp-c${c}`,
			lane: "mcp",
			workload: "trivial",
			kind: "steady",
			c,
			servers: c === 8 ? ["open", ...all] : all,
		});
	cells.push({ group: "setup-mcp-c8", lane: "mcp", workload: "trivial", kind: "setup", c: 8, servers: all });
	// The same SMCP with and without the audit row of allowed calls, interleaved. The effect sought
	// (a few per cent) is smaller than the machine's drift: three times the slices of other cells.
	// Both sides are tenants of the same SMCP process (the row switched off for one by
	// SMCP_BENCH_NO_AUDIT); the A/A cell next to it measures two audited tenants the same way, so
	// that the method's own spread is known.
	cells.push({
		group: "audit-mcp-c8",
		lane: "mcp",
		workload: "trivial",
		kind: "steady",
		c: 8,
		servers: ["smcp", "smcpna"],
		slicesTimes: 3,
	});
	cells.push({
		group: "audit-aa-c8",
		lane: "mcp",
		workload: "trivial",
		kind: "steady",
		c: 8,
		servers: ["smcp", "smcpaa"],
		slicesTimes: 3,
	});
	// The 2026-07-28 lane against the 2025 lane of the same server, interleaved (the lane's parity target).
	cells.push({
		group: "lanes-c8",
		lane: "mcp",
		workload: "trivial",
		kind: "steady",
		c: 8,
		servers: ["smcp", "smcp-modern"],
		slicesTimes: 2,
	});
	cells.push({ group: "trivial-sse-c8", lane: "sse", workload: "trivial", kind: "steady", c: 8, servers: ["agent", "smcp"] });
	for (const c of P.concurrencies)
		cells.push({ group: `trivial-modern-c${c}`, lane: "modern", workload: "trivial", kind: "steady", c, servers: ["smcp"] });
	cells.push({ group: "read-mcp-c8", lane: "mcp", workload: "read", kind: "steady", c: 8, servers: ["smcp"] });
	cells.push({ group: "write-mcp-c8", lane: "mcp", workload: "write", kind: "steady", c: 8, servers: ["smcp"] });
	return cells;
}

/** @type {Cell[]} */
const WRANGLER_CELLS = [
	{ group: "trivial-mcp-c8", lane: "mcp", workload: "trivial", kind: "steady", c: 8, servers: ["static", "agent", "smcp"] },
	{ group: "setup-mcp-c8", lane: "mcp", workload: "trivial", kind: "setup", c: 8, servers: ["static", "agent", "smcp"] },
];

const started = Date.now();
const say = (/** @type {string} */ msg) => {
	const s = Math.round((Date.now() - started) / 1000);
	process.stderr.write(`[bench ${pad(Math.floor(s / 60), 2)}:${pad(s % 60, 2)}] ${msg}\n`);
};

/**
 * Local storage (KV, Durable Object SQLite) lives on tmpfs when the machine has one, so that the
 * disk's fsync latency, and other processes' disk traffic, stay out of the numbers.
 */
const STATE_ROOT = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

/** @type {RunningServer[]} */
const live = [];
/** @type {string[]} */
const tempDirs = [];
async function cleanup() {
	await Promise.all(live.splice(0).map((s) => s.stop().catch(() => undefined)));
	for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
	process.on(sig, () => {
		say(`${sig}: stopping servers`);
		void cleanup().then(() => process.exit(130));
	});
}
const watchdog = setTimeout(() => {
	say(`the run exceeded ${DEADLINE_MS / 60_000} minutes; stopping`);
	void cleanup().then(() => process.exit(2));
}, DEADLINE_MS);
watchdog.unref();

let quietWaitedMs = 0;
/**
 * This machine may be shared: before a cell, wait (within QUIET_BUDGET_MS for the whole run)
 * until processes other than the benchmark's own use less than half a core.
 */
async function waitForQuiet() {
	for (;;) {
		const ours = () => cpuMs(processTree(process.pid));
		const s0 = systemBusyMs();
		const o0 = ours();
		await new Promise((r) => setTimeout(r, 500));
		const other = (systemBusyMs() - s0 - (ours() - o0)) / 500;
		if (other < 0.5 || quietWaitedMs >= QUIET_BUDGET_MS) return;
		quietWaitedMs += 1000;
		await new Promise((r) => setTimeout(r, 1000));
	}
}

/**
 * Runs every cell `rounds` times; the server order inside a group rotates each round. The steady
 * cells of a group with several servers run interleaved: the servers alternate in slices of
 * `durationMs / slices` (after one warm-up each), so that drift in the machine's speed falls on
 * every server of a ratio alike. Setup cells run back to back.
 * @param {"runtime" | "wrangler"} mode
 * @param {Cell[]} cells
 * @param {number} rounds
 * @param {Record<string, RunningServer>} servers
 * @param {Record<string, Record<string, string>>} tokens
 * @param {import("./lib/stats.mjs").Results} results
 */
async function runCells(mode, cells, rounds, servers, tokens, results) {
	for (let r = 0; r < rounds; r++) {
		for (const cell of cells) {
			const order = cell.servers
				.map((_, i) => /** @type {string} */ (cell.servers[(i + r) % cell.servers.length]))
				.filter((key) => WORKLOADS[cell.workload]?.[key]);
			const targets = order.map((key) => {
				const server = /** @type {RunningServer} */ (servers[key]);
				const w = /** @type {{ tool: string, args: () => Record<string, unknown>, tenant: string }} */ (WORKLOADS[cell.workload]?.[key]);
				const token = tokens[key]?.[w.tenant];
				if (!token) throw new Error(`no token for ${key}/${w.tenant}`);
				const lane = server.lane ?? cell.lane;
				const open = () =>
					lane === "sse"
						? new SseSession(server.origin, token)
						: lane === "modern"
							? new ModernClient(server.origin, token)
							: new StreamableSession(server.origin, token, server.path);
				const call = (/** @type {import("./lib/mcp.mjs").McpClient} */ c) => c.call(w.tool, w.args());
				return { key, probe: server.probe, open, call };
			});
			const report = (/** @type {string} */ key, /** @type {import("./lib/load.mjs").Measurement} */ m) => {
				(results[`${mode}|${cell.group}|${key}`] ??= []).push(m);
				say(
					`${mode} round ${r + 1}/${rounds} ${cell.group.padEnd(18)} ${key.padEnd(6)} ${m.rate.toFixed(0).padStart(5)} ${cell.kind === "setup" ? "setups" : "calls"}/s  p50 ${m.p50.toFixed(1)}  p99 ${m.p99.toFixed(1)} ms  cpu ${m.cpuMsPerOp.toFixed(2)} ms/op  server ${(m.cpuUtil * 100).toFixed(0)}% client ${(m.clientCpuUtil * 100).toFixed(0)}%${m.errors ? `  errors ${m.errors} (${m.firstError})` : ""}`,
				);
			};
			await waitForQuiet();
			if (cell.kind === "steady" && targets.length > 1) {
				const ms = await interleavedSteadyCalls({
					concurrency: cell.c,
					warmupMs: P.warmupMs,
					slices: P.slices * (cell.slicesTimes ?? 1),
					sliceMs: P.durationMs / P.slices,
					leadInMs: P.leadInMs,
					targets,
				});
				for (const [i, t] of targets.entries()) report(t.key, /** @type {import("./lib/load.mjs").Measurement} */ (ms[i]));
				continue;
			}
			for (const t of targets) {
				if (t !== targets[0]) await waitForQuiet();
				const o = { concurrency: cell.c, warmupMs: P.warmupMs, durationMs: P.durationMs, ...t };
				report(t.key, cell.kind === "setup" ? await sessionSetups(o) : await steadyCalls(o));
			}
		}
	}
}

/**
 * Idle cost, in rounds against the same process: per server, its CPU per second with no session at
 * all (the floor: workerd's own timers), then with 32 Streamable HTTP sessions left alone (no
 * stream held open), then with 32 2024-11-05 sessions each holding its SSE stream; each window
 * `idleMs` long after a settling pause. The servers take turns within a round.
 * @param {Record<string, RunningServer>} servers
 * @param {Record<string, Record<string, string>>} tokens
 */
async function idleCells(servers, tokens) {
	/** @type {Record<string, { sessions: number, cpuMsPerSecond: number, rssMiB: number, rounds?: number[] }>} */
	const out = {};
	/** @type {Record<string, number[]>} */
	const rounds = {};
	for (let r = 0; r < P.idleRounds; r++) {
		for (const key of r % 2 ? ["smcp", "agent"] : ["agent", "smcp"]) {
			const server = /** @type {RunningServer} */ (servers[key]);
			const w = /** @type {{ tool: string, args: () => Record<string, unknown>, tenant: string }} */ (WORKLOADS.trivial?.[key]);
			const token = /** @type {string} */ (tokens[key]?.[w.tenant]);
			for (const lane of /** @type {const} */ (["none", "mcp", "sse"])) {
				await waitForQuiet();
				const m = await idleSessions({
					count: lane === "none" ? 0 : 32,
					settleMs: P.idleSettleMs,
					durationMs: P.idleMs,
					probe: server.probe,
					open: () => (lane === "sse" ? new SseSession(server.origin, token) : new StreamableSession(server.origin, token)),
					call: (c) => c.call(w.tool, w.args()),
				});
				(rounds[`${key}|${lane}`] ??= []).push(m.cpuMsPerSecond);
				out[`${key}|${lane}`] = {
					...m,
					cpuMsPerSecond: median(/** @type {number[]} */ (rounds[`${key}|${lane}`])),
					rounds: rounds[`${key}|${lane}`],
				};
				say(
					`runtime idle round ${r + 1}/${P.idleRounds} ${lane.padEnd(4)} ${key.padEnd(6)} ${m.sessions} sessions: ${m.cpuMsPerSecond.toFixed(2)} ms CPU per second, RSS ${m.rssMiB.toFixed(0)} MiB`,
				);
			}
		}
	}
	return out;
}

/**
 * A token for a new account of its own tenant `tenantId` on SMCP, written straight into the
 * directory (as the operator CLI would).
 * @param {RunningServer & { mf: import("miniflare").Miniflare }} smcp
 * @param {string} tenantId
 * @param {{ email: string, password: string }} [login]
 */
async function tenantToken(smcp, tenantId, login = { email: `bench-${tenantId}@smcp.local`, password: `bench-${crypto.randomUUID()}` }) {
	const kv = await smcp.mf.getKVNamespace("DIRECTORY_KV");
	const account = { userId: newTenantId().replace("t_", "u_"), email: login.email, tenantId, tenants: [tenantId], createdAt: Date.now() };
	for (const { key, value } of accountRecords(account, await hashPassword(login.password))) await kv.put(key, value);
	return smcpToken(smcp.origin, login.email, login.password);
}

/**
 * Creates the graph tenant's account directly in SMCP's DIRECTORY_KV (as `smcp users create --local`
 * would), then fills its graph through MCP with `create_entities` in batches of 1,000.
 * @param {RunningServer & { mf: import("miniflare").Miniflare }} smcp
 */
async function seedGraph(smcp) {
	const token = await tenantToken(smcp, newTenantId(), GRAPH);
	const t0 = Date.now();
	const session = new StreamableSession(smcp.origin, token);
	await session.initialize();
	for (let i = 0; i < P.entities; i += 1000) {
		const entities = Array.from({ length: Math.min(1000, P.entities - i) }, (_, j) => {
			const n = i + j;
			return {
				name: `entity-${pad(n, 5)}`,
				entityType: "bench",
				observations: [`note about topic-${pad(n % 1000, 4)}`, `seeded by the SMCP benchmark, item ${n}`],
			};
		});
		const r = await session.call("create_entities", { entities });
		if (!r.ok) throw new Error(`seeding failed at ${i}: ${r.error}`);
	}
	await session.close();
	const seconds = (Date.now() - t0) / 1000;
	say(`seeded ${P.entities} entities in ${seconds.toFixed(1)} s`);
	return { token, seed: { entities: P.entities, seconds } };
}

/** Tokens for every server through its OAuth flow. SMCP: the dev account (empty graph). */
async function fixtureAndDevTokens(/** @type {Record<string, RunningServer>} */ servers) {
	return {
		open: { default: "no-token-needed" },
		static: { default: await fixtureToken(/** @type {RunningServer} */ (servers.static).origin) },
		agent: { default: await fixtureToken(/** @type {RunningServer} */ (servers.agent).origin) },
		smcp: { empty: await smcpToken(/** @type {RunningServer} */ (servers.smcp).origin, DEV.email, DEV.password) },
	};
}

function versions() {
	const v = (/** @type {string} */ name) => {
		try {
			return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
		} catch {
			return "?";
		}
	};
	let commit = "?";
	try {
		commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
		const dirty = execFileSync("git", ["status", "--porcelain", "--", "worker", "objects", "shared"], {
			cwd: ROOT,
			encoding: "utf8",
		}).trim();
		if (dirty) commit += " + uncommitted changes";
	} catch {
		/* not a git checkout */
	}
	return {
		SMCP: commit,
		Node: process.version,
		workerd: v("workerd"),
		miniflare: v("miniflare"),
		wrangler: v("wrangler"),
		agents: v("agents"),
		"workers-oauth-provider": v("@cloudflare/workers-oauth-provider"),
		"MCP SDK": `${v("@modelcontextprotocol/sdk")} / server ${v("@modelcontextprotocol/server")}`,
	};
}

async function main() {
	const m = machine();
	say(`${QUICK ? "quick smoke run" : "full run"} on ${m.nproc} cores (${m.model}), load average ${m.loadavg}`);
	/** @type {import("./lib/stats.mjs").Results} */
	const results = {};
	/** @type {Record<string, number>} */
	const idleRss = {};
	/** @type {string[]} */
	const notes = [];

	say("bundling the three Workers with wrangler (deploy --dry-run)");
	const builds = await buildAll(SPECS);

	// Runtime direct.
	/** @type {Record<string, RunningServer & { mf: import("miniflare").Miniflare }>} */
	const rt = {};
	const stateRoot = mkdtempSync(join(STATE_ROOT, "smcp-bench-"));
	tempDirs.push(stateRoot);
	for (const spec of SPECS) {
		const stateDir = join(stateRoot, spec.key);
		mkdirSync(stateDir);
		const s = await startRuntime(spec, /** @type {{ dir: string, script: string }} */ (builds[spec.key]), { stateDir });
		live.push(s);
		rt[spec.key] = s;
		say(`runtime direct: ${spec.key} on ${s.origin} (workerd pid ${s.pids()[0]})`);
	}
	/** @type {Record<string, RunningServer>} */
	const targets = {
		...rt,
		open: { .../** @type {RunningServer} */ (rt.static), key: "open", path: "/noauth/mcp" },
		// SMCP's 2026-07-28 lane as a server of its own, so that one cell can interleave both lanes.
		"smcp-modern": { .../** @type {RunningServer} */ (rt.smcp), key: "smcp-modern", lane: "modern" },
		// Two more tenants of the same SMCP: one whose allowed calls write no audit row, one audited.
		smcpna: { .../** @type {RunningServer} */ (rt.smcp), key: "smcpna" },
		smcpaa: { .../** @type {RunningServer} */ (rt.smcp), key: "smcpaa" },
	};
	/** @type {Record<string, Record<string, string>>} */
	const tokens = await fixtureAndDevTokens(rt);
	tokens.smcpna = { empty: await tenantToken(/** @type {any} */ (rt.smcp), NO_AUDIT_TENANT) };
	tokens.smcpaa = { empty: await tenantToken(/** @type {any} */ (rt.smcp), newTenantId()) };
	const cells = runtimeCells().filter((c) => wanted(c.group));
	const needsGraph = cells.some((c) => c.workload !== "trivial");
	const { token: graphToken, seed } = needsGraph ? await seedGraph(/** @type {any} */ (rt.smcp)) : { token: "", seed: null };
	/** @type {Record<string, string>} */ (tokens.smcp).graph = graphToken;
	tokens["smcp-modern"] = /** @type {Record<string, string>} */ (tokens.smcp);
	for (const [key, s] of Object.entries(rt)) idleRss[key] = s.probe.rss();
	await runCells("runtime", cells, P.rounds, targets, tokens, results);
	const idle = wanted("idle") ? await idleCells(rt, tokens) : {};
	// A tenant's capacity: SMCP alone runs now (the other servers idle).
	const cap = wanted("capacity") ? await capacity({ server: /** @type {any} */ (rt.smcp), ...P.capacity, say, quiet: waitForQuiet }) : null;
	for (const [key, s] of Object.entries(rt)) {
		const errors = /** @type {string[]} */ (s.extra?.errors ?? []);
		if (errors.length) notes.push(`${key} logged errors during the runtime-direct run, e.g. \`${errors[0]?.slice(0, 160)}\``);
	}
	await Promise.all(Object.values(rt).map((s) => s.stop()));
	live.length = 0;

	// Size and cold start (SMCP alone on the machine's runtime).
	const bundle = bundleReport(/** @type {{ dir: string, script: string }} */ (builds.smcp));
	say(`bundle: ${(bundle.bytes / 1024).toFixed(0)} KiB, gzip ${(bundle.gzipBytes / 1024).toFixed(0)} KiB`);
	/** @type {Record<string, number> | null} */
	let cold = null;
	/** @type {{ cpuMs: number, byGroup: { name: string, ms: number }[] } | null} */
	let startup = null;
	if (wanted("coldstart")) {
		const spec = /** @type {import("./lib/servers.mjs").ServerSpec} */ (SPECS.find((x) => x.key === "smcp"));
		const dir = mkdtempSync(join(STATE_ROOT, "smcp-bench-cold-"));
		tempDirs.push(dir);
		await waitForQuiet();
		cold = await firstRequests(spec, /** @type {{ dir: string, script: string }} */ (builds.smcp), dir, DEV, P.coldRounds);
		say(
			`cold start: first MCP call on a fresh process ${cold.firstCall?.toFixed(1)} ms (warm ${cold.warm?.toFixed(1)}); apart: front Worker's first request ${cold.isolateFirst?.toFixed(1)} ms (warm ${cold.isolateWarm?.toFixed(1)}), then a new TenantObject ${cold.tenantFirst?.toFixed(1)} ms, a second one ${cold.tenant2First?.toFixed(1)} ms (warm ${cold.tenant2Warm?.toFixed(1)}), first SessionObject ${cold.sessionFirst?.toFixed(1)} ms (next ${cold.sessionNext?.toFixed(1)})`,
		);
		const samples = [];
		for (let i = 0; i < P.coldRounds; i++) {
			await waitForQuiet();
			samples.push(await startupProfile("wrangler.jsonc", dir, WRANGLER, /** @type {{ script: string }} */ (builds.smcp).script));
		}
		samples.sort((x, y) => x.cpuMs - y.cpuMs);
		startup = /** @type {(typeof samples)[number]} */ (samples[samples.length >> 1]);
		say(`script start-up CPU (wrangler check startup, median of ${samples.length}): ${startup.cpuMs.toFixed(1)} ms`);
	}

	// wrangler dev.
	const wranglerCells = WRANGLER_CELLS.filter((c) => wanted(c.group));
	if (!flags["no-wrangler"] && wranglerCells.length) {
		/** @type {Record<string, RunningServer>} */
		const wd = {};
		for (const spec of SPECS) {
			const dir = mkdtempSync(join(STATE_ROOT, `smcp-bench-${spec.key}-`));
			tempDirs.push(dir);
			const s = await startWranglerDev(spec, dir);
			live.push(s);
			wd[spec.key] = s;
			say(`wrangler dev: ${spec.key} on ${s.origin} (process tree ${s.pids().length} processes)`);
		}
		await runCells("wrangler", wranglerCells, P.wranglerRounds, wd, await fixtureAndDevTokens(wd), results);
		await Promise.all(Object.values(wd).map((s) => s.stop()));
		live.length = 0;
	}
	await cleanup();

	/** @type {number[]} */
	const busy = [];
	const background = Object.values(results).map((rs) => summarize(rs)?.otherCpuUtil ?? 0);
	for (const [id, rounds] of Object.entries(results)) {
		const sum = summarize(rounds);
		if (sum && sum.errors > 0)
			notes.push(
				`${id.replaceAll("|", " ")}: ${sum.errors} failed calls (first: \`${sum.firstError}\`); failed calls are excluded from calls/s and latency`,
			);
		if (sum && sum.otherCpuUtil > 0.25) busy.push(sum.otherCpuUtil);
		if (sum && sum.clientCpuUtil > 0.85)
			notes.push(
				`${id.replaceAll("|", " ")}: the load generator used ${(sum.clientCpuUtil * 100).toFixed(0)}% of a core; this cell may be client-bound`,
			);
	}
	notes.push(
		`Other processes on the machine (this host is shared) used a median of ${(median(background) * 100).toFixed(0)}% of a core during the measured windows (max ${(Math.max(0, ...background) * 100).toFixed(0)}%)${busy.length ? `; ${busy.length} cell(s) above 25%, so absolute figures are depressed there — ratios within a round are less affected` : ""}. Before each cell the run waited for them to drop below half a core: ${(quietWaitedMs / 1000).toFixed(0)} s waited in all (budget ${QUIET_BUDGET_MS / 1000} s).`,
	);
	notes.push(
		`SMCP ran with raised limits for the benchmark: ${Object.entries(BENCH_LIMITS)
			.map(([k, v]) => `${k}=${v}`)
			.join(", ")}; the rate-limit check and the audit row still run on every call.`,
	);

	const run = {
		date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
		quick: QUICK,
		minutes: (Date.now() - started) / 60_000,
		params: P,
		machine: m,
		versions: versions(),
		results,
		idleRss,
		idle,
		seed,
		bundle,
		cold,
		startup,
		capacity: cap,
		notes,
	};
	// Hosted tenant apps next to the built-in trivial tool (bench/apps.mjs, about a minute).
	if (!flags["no-apps"]) {
		say("hosted app versus built-in tool (workerd, bench/apps.mjs)");
		const apps = runAppsBench();
		if (apps) {
			run.apps = apps;
			notes.push(
				`Hosted app tool (unit-converter__convert) vs built-in read_graph, sequential calls through the whole Worker path in workerd: ${apps.hostedCallsPerSec} vs ${apps.builtInCallsPerSec} calls/s (${apps.ratio}x, target ≥ 0.7x); first call after a deploy (cold isolate) ${apps.coldFirstCallMs.join(", ")} ms.`,
			);
		} else notes.push("Hosted app bench: no figures (see bench/apps.mjs).");
	}
	// A quick run never replaces the full run's raw results (which --from-results renders).
	writeFileSync(join(ROOT, `bench/.build/${resultsName()}.json`), JSON.stringify(run, null, 1));
	publish(run);
	say(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min (${Object.keys(SERVERS).length} servers)`);
}

/** @param {import("./lib/report.mjs").Run} run */
const capacityTitle = (run) =>
	`A tenant's capacity: calls/s, runtime direct, ${run.machine.nproc} cores — ${run.date}${run.quick ? " (quick run)" : ""}`;

/** Where a run's raw results go: a quick or partial run never replaces the full run's. */
const RESULTS_NAME = ONLY ? `results-only-${Date.now()}` : QUICK ? "results-quick" : "results";
const resultsName = () => RESULTS_NAME;

/**
 * Prints the tables; writes the docs after a full run.
 * @param {import("./lib/report.mjs").Run} run
 */
function publish(run) {
	const md = resultsMarkdown(run);
	process.stdout.write(`\n${md}\n\n${costMarkdown(run)}\n`);
	if (!run.quick && !flags["no-write"] && !ONLY) {
		replaceBlock(join(ROOT, "docs/performance.md"), "results", md);
		replaceBlock(join(ROOT, "docs/performance.md"), "cost", costMarkdown(run));
		writeFileSync(join(ROOT, "docs/performance.svg"), chartSvg(run));
		if (run.capacity) writeFileSync(join(ROOT, "docs/performance-capacity.svg"), capacitySvg(run.capacity, capacityTitle(run)));
		say("wrote docs/performance.md and docs/performance.svg");
	} else {
		writeFileSync(join(ROOT, "bench/.build/performance.svg"), chartSvg(run));
		if (run.capacity) writeFileSync(join(ROOT, "bench/.build/performance-capacity.svg"), capacitySvg(run.capacity, capacityTitle(run)));
		say(
			`${run.quick ? "quick run" : "--no-write"}: docs left alone; chart in bench/.build/performance.svg, raw results in bench/.build/${resultsName()}.json`,
		);
	}
}

const job = flags["from-results"] ? async () => publish(JSON.parse(readFileSync(join(ROOT, "bench/.build/results.json"), "utf8"))) : main;
job().then(
	() => process.exit(0),
	async (e) => {
		say(`failed: ${e instanceof Error ? (e.stack ?? e.message) : e}`);
		await cleanup();
		process.exit(1);
	},
);
