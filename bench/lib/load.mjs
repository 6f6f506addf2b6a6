/**
 * @module bench/lib/load
 * Closed-loop load: N concurrent sessions, each sending its next request as soon as the previous
 * answer arrived. A warm-up runs first; then a measured window of fixed length, in which we count
 * calls that *completed* inside the window, their latencies, errors, and the server's CPU time
 * (process CPU delta over exactly that window). Sessions are created before the warm-up (steady
 * runs) or are the thing being measured (setup runs); either way they are closed after the window.
 * Servers compared with each other run in alternating slices (`interleavedSteadyCalls`).
 */
import { performance } from "node:perf_hooks";
import { systemBusyMs } from "./proc.mjs";

/**
 * @typedef {import("./mcp.mjs").McpClient} McpClient
 * @typedef {import("./mcp.mjs").CallOutcome} CallOutcome
 * @typedef {{ cpu: () => number, sampleRss: (everyMs?: number) => () => number, runtimeCpu?: () => number }} Probe
 *   `runtimeCpu`: the CPU of the workerd processes alone (under `wrangler dev`, whose tree also
 *   holds wrangler's Node process and its proxy)
 * @typedef {{
 *   ops: number, seconds: number, rate: number, errors: number, firstError?: string,
 *   p50: number, p90: number, p99: number, cpuMsPerOp: number, cpuUtil: number, rssPeakMiB: number, clientCpuUtil: number,
 *   otherCpuUtil: number, runtimeCpuMsPerOp?: number
 * }} Measurement
 * @typedef {{
 *   concurrency: number, warmupMs: number, durationMs: number, probe: Probe,
 *   open: () => McpClient, call: (c: McpClient) => Promise<CallOutcome>,
 *   afterWindow?: () => Promise<void>
 * }} LoadOptions  `afterWindow` runs once the load stopped, before the sessions are closed
 */

/**
 * Percentile by nearest rank of a sorted array.
 * @param {Float64Array} sorted
 * @param {number} p 0..100
 */
export function percentile(sorted, p) {
	if (sorted.length === 0) return Number.NaN;
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One measured window, before it is summarised: what `measure` needs to merge several windows.
 * @typedef {{
 *   ops: number, seconds: number, latencies: number[], errors: number, firstError?: string,
 *   cpu: number, clientCpu: number, system: number, rssPeakMiB: number, runtimeCpu: number
 * }} Window
 */

/**
 * Runs `op` in `concurrency` loops; measures the window [warmupMs, warmupMs + durationMs).
 * @param {{ concurrency: number, warmupMs: number, durationMs: number, probe: Probe, op: (worker: number) => Promise<CallOutcome> }} o
 * @returns {Promise<Window>}
 */
async function closedLoop(o) {
	/** @typedef {{ t: number, cpu: number, rt: number, client: NodeJS.CpuUsage, system: number }} Mark */
	/** @type {Mark | undefined} */
	let begin;
	/** @type {Mark | undefined} */
	let end;
	/** @type {(() => number) | undefined} */
	let stopRss;
	const mark = () => ({
		t: performance.now(),
		cpu: o.probe.cpu(),
		rt: o.probe.runtimeCpu?.() ?? Number.NaN,
		client: process.cpuUsage(),
		system: systemBusyMs(),
	});
	const t1 = setTimeout(() => {
		begin = mark();
		stopRss = o.probe.sampleRss(200);
	}, o.warmupMs);
	const t2 = setTimeout(() => (end = mark()), o.warmupMs + o.durationMs);
	/** @type {{ done: number, ms: number, ok: boolean, error?: string }[]} */
	const samples = [];
	const loops = Array.from({ length: o.concurrency }, async (_, worker) => {
		// Until the window's end mark is taken (by the timer, not by comparing clocks, so that the
		// window always closes after it opened).
		while (!end) {
			const a = performance.now();
			let r;
			try {
				r = await o.op(worker);
			} catch (e) {
				r = { ok: false, error: e instanceof Error ? e.message.slice(0, 160) : "error" };
			}
			const b = performance.now();
			samples.push({ done: b, ms: b - a, ok: r.ok, ...(r.error ? { error: r.error } : {}) });
			if (!r.ok) await sleep(5); // never spin on a failing server
		}
	});
	await Promise.all(loops);
	clearTimeout(t1);
	clearTimeout(t2);
	if (!begin || !end) throw new Error("measurement window did not run; the load loop finished early");
	/** @type {Window} */
	const w = {
		ops: 0,
		seconds: (end.t - begin.t) / 1000,
		latencies: [],
		errors: 0,
		cpu: end.cpu - begin.cpu,
		runtimeCpu: end.rt - begin.rt,
		clientCpu: (end.client.user - begin.client.user + end.client.system - begin.client.system) / 1000,
		system: end.system - begin.system,
		rssPeakMiB: stopRss ? stopRss() : Number.NaN,
	};
	for (const s of samples) {
		if (s.done < begin.t || s.done > end.t) continue;
		if (s.ok) {
			w.ops++;
			w.latencies.push(s.ms);
		} else {
			w.errors++;
			w.firstError ??= s.error;
		}
	}
	return w;
}

/**
 * One measurement from one or more windows of the same server: counts, times and CPU summed,
 * latencies pooled before the percentiles are taken.
 * @param {Window[]} windows
 * @returns {Measurement}
 */
export function measure(windows) {
	const sum = (/** @type {(w: Window) => number} */ f) => windows.reduce((a, w) => a + f(w), 0);
	const ops = sum((w) => w.ops);
	const ms = sum((w) => w.seconds) * 1000;
	const cpu = sum((w) => w.cpu);
	const clientCpu = sum((w) => w.clientCpu);
	const sorted = Float64Array.from(windows.flatMap((w) => w.latencies)).sort();
	const firstError = windows.find((w) => w.firstError)?.firstError;
	return {
		ops,
		seconds: ms / 1000,
		rate: ops / (ms / 1000),
		errors: sum((w) => w.errors),
		...(firstError ? { firstError } : {}),
		p50: percentile(sorted, 50),
		p90: percentile(sorted, 90),
		p99: percentile(sorted, 99),
		cpuMsPerOp: ops > 0 ? cpu / ops : Number.NaN,
		cpuUtil: cpu / ms,
		rssPeakMiB: Math.max(...windows.map((w) => w.rssPeakMiB)),
		clientCpuUtil: clientCpu / ms,
		// Everything else the machine ran meanwhile (other processes): a contamination gauge.
		otherCpuUtil: Math.max(0, sum((w) => w.system) - cpu - clientCpu) / ms,
		runtimeCpuMsPerOp: ops > 0 ? sum((w) => w.runtimeCpu) / ops : Number.NaN,
	};
}

/**
 * Steady tool calls: `concurrency` sessions are opened first (not measured), then each calls
 * `call(session, worker)` in a loop.
 *
 * @param {LoadOptions} o
 * @returns {Promise<Measurement>}
 */
export async function steadyCalls(o) {
	const clients = Array.from({ length: o.concurrency }, () => o.open());
	try {
		await Promise.all(clients.map((c) => c.initialize()));
		return measure([await closedLoop({ ...o, op: (w) => o.call(/** @type {McpClient} */ (clients[w])) })]);
	} finally {
		await o.afterWindow?.();
		await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
	}
}

/**
 * Steady tool calls on several servers, measured in alternating slices rather than one window
 * each: on a shared machine the CPU's speed drifts over seconds, and two servers measured one
 * after the other see different machines. Every server's sessions are opened and warmed up
 * first (`warmupMs` each); then `slices` rounds, in each of which every server in turn (the
 * order rotating slice by slice) runs alone for `leadInMs` unmeasured and `sliceMs` measured.
 * A server's measurement pools its slices.
 *
 * @param {{ concurrency: number, warmupMs: number, slices: number, sliceMs: number, leadInMs: number,
 *   targets: { probe: Probe, open: () => McpClient, call: (c: McpClient) => Promise<CallOutcome> }[]}} o
 * @returns {Promise<Measurement[]>}
 */
export async function interleavedSteadyCalls(o) {
	const clients = o.targets.map((t) => Array.from({ length: o.concurrency }, () => t.open()));
	try {
		await Promise.all(clients.flat().map((c) => c.initialize()));
		const loop = (/** @type {number} */ i, /** @type {number} */ warmupMs, /** @type {number} */ durationMs) => {
			const t = /** @type {(typeof o.targets)[number]} */ (o.targets[i]);
			const mine = /** @type {McpClient[]} */ (clients[i]);
			return closedLoop({
				concurrency: o.concurrency,
				warmupMs,
				durationMs,
				probe: t.probe,
				op: (w) => t.call(/** @type {McpClient} */ (mine[w])),
			});
		};
		for (let i = 0; i < o.targets.length; i++) await loop(i, 0, o.warmupMs);
		/** @type {Window[][]} */
		const windows = o.targets.map(() => []);
		for (let s = 0; s < o.slices; s++) {
			for (let j = 0; j < o.targets.length; j++) {
				const i = (j + s) % o.targets.length;
				windows[i]?.push(await loop(i, o.leadInMs, o.sliceMs));
			}
		}
		return windows.map((w) => measure(w));
	} finally {
		await Promise.all(clients.flat().map((c) => c.close().catch(() => undefined)));
	}
}

/**
 * Session setup: each operation is a new session's `initialize` + `notifications/initialized`
 * + first tool call. Sessions are closed (`DELETE`) after the window, a few at a time.
 *
 * @param {LoadOptions} o
 * @returns {Promise<Measurement>}
 */
export async function sessionSetups(o) {
	/** @type {McpClient[]} */
	const opened = [];
	try {
		const w = await closedLoop({
			...o,
			op: async () => {
				const c = o.open();
				opened.push(c);
				await c.initialize();
				return o.call(c);
			},
		});
		return measure([w]);
	} finally {
		await o.afterWindow?.();
		for (let i = 0; i < opened.length; i += 16) await Promise.all(opened.slice(i, i + 16).map((c) => c.close().catch(() => undefined)));
	}
}

/**
 * Idle cost: `count` sessions are opened (initialize + one call each) and then left alone; after
 * a settling pause, the server's CPU is measured over `durationMs` with no traffic at all. With
 * `count` 0 it measures the process's floor (no session at all).
 *
 * @param {{ count: number, settleMs: number, durationMs: number, probe: { cpu: () => number, rss: () => number }, open: () => McpClient, call: (c: McpClient) => Promise<unknown> }} o
 * @returns {Promise<{ sessions: number, cpuMsPerSecond: number, rssMiB: number }>}
 */
export async function idleSessions(o) {
	const clients = Array.from({ length: o.count }, () => o.open());
	try {
		for (const c of clients) {
			await c.initialize();
			await o.call(c);
		}
		await sleep(o.settleMs);
		const c0 = o.probe.cpu();
		const t0 = performance.now();
		await sleep(o.durationMs);
		const cpu = o.probe.cpu() - c0;
		return { sessions: o.count, cpuMsPerSecond: cpu / ((performance.now() - t0) / 1000), rssMiB: o.probe.rss() };
	} finally {
		await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
	}
}
