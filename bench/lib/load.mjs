/**
 * @module bench/lib/load
 * Closed-loop load: N concurrent sessions, each sending its next request as soon as the previous
 * answer arrived. A warm-up runs first; then a measured window of fixed length, in which we count
 * calls that *completed* inside the window, their latencies, errors, and the server's CPU time
 * (process CPU delta over exactly that window). Sessions are created before the warm-up (steady
 * runs) or are the thing being measured (setup runs); either way they are closed after the window.
 */
import { performance } from "node:perf_hooks";
import { systemBusyMs } from "./proc.mjs";

/**
 * @typedef {import("./mcp.mjs").McpClient} McpClient
 * @typedef {import("./mcp.mjs").CallOutcome} CallOutcome
 * @typedef {{ cpu: () => number, sampleRss: (everyMs?: number) => () => number }} Probe
 * @typedef {{
 *   ops: number, seconds: number, rate: number, errors: number, firstError?: string,
 *   p50: number, p90: number, p99: number, cpuMsPerOp: number, cpuUtil: number, rssPeakMiB: number, clientCpuUtil: number,
 *   otherCpuUtil: number
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
 * Runs `op` in `concurrency` loops; measures the window [warmupMs, warmupMs + durationMs).
 * @param {{ concurrency: number, warmupMs: number, durationMs: number, probe: Probe, op: (worker: number) => Promise<CallOutcome> }} o
 * @returns {Promise<Measurement>}
 */
async function closedLoop(o) {
	/** @type {number[]} */
	const latencies = [];
	let errors = 0;
	/** @type {string | undefined} */
	let firstError;
	/** @typedef {{ t: number, cpu: number, client: NodeJS.CpuUsage, system: number }} Mark */
	/** @type {Mark | undefined} */
	let begin;
	/** @type {Mark | undefined} */
	let end;
	/** @type {(() => number) | undefined} */
	let stopRss;
	const mark = () => ({ t: performance.now(), cpu: o.probe.cpu(), client: process.cpuUsage(), system: systemBusyMs() });
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
	const rssPeakMiB = stopRss ? stopRss() : Number.NaN;
	let ops = 0;
	for (const s of samples) {
		if (s.done < begin.t || s.done > end.t) continue;
		if (s.ok) {
			ops++;
			latencies.push(s.ms);
		} else {
			errors++;
			firstError ??= s.error;
		}
	}
	const seconds = (end.t - begin.t) / 1000;
	const sorted = Float64Array.from(latencies).sort();
	const cpu = end.cpu - begin.cpu;
	const clientCpu = (end.client.user - begin.client.user + end.client.system - begin.client.system) / 1000;
	return {
		ops,
		seconds,
		rate: ops / seconds,
		errors,
		...(firstError ? { firstError } : {}),
		p50: percentile(sorted, 50),
		p90: percentile(sorted, 90),
		p99: percentile(sorted, 99),
		cpuMsPerOp: ops > 0 ? cpu / ops : Number.NaN,
		cpuUtil: cpu / (seconds * 1000),
		rssPeakMiB,
		clientCpuUtil: clientCpu / (seconds * 1000),
		// Everything else the machine ran meanwhile (other processes): a contamination gauge.
		otherCpuUtil: Math.max(0, end.system - begin.system - cpu - clientCpu) / (seconds * 1000),
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
		return await closedLoop({ ...o, op: (w) => o.call(/** @type {McpClient} */ (clients[w])) });
	} finally {
		await o.afterWindow?.();
		await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
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
		return await closedLoop({
			...o,
			op: async () => {
				const c = o.open();
				opened.push(c);
				await c.initialize();
				return o.call(c);
			},
		});
	} finally {
		await o.afterWindow?.();
		for (let i = 0; i < opened.length; i += 16) await Promise.all(opened.slice(i, i + 16).map((c) => c.close().catch(() => undefined)));
	}
}

/**
 * Idle cost: `count` sessions are opened (initialize + one call each) and then left alone; after
 * a settling pause, the server's CPU is measured over `durationMs` with no traffic at all.
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
