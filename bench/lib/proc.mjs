/**
 * @module bench/lib/proc
 * Server-side cost from Linux `/proc`: CPU time (utime + stime of a process tree, from
 * `/proc/<pid>/stat`) and resident memory (`VmRSS` from `/proc/<pid>/status`). The load generator
 * runs in another process, so none of its own work is counted.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for `/proc/<pid>/stat` times (almost always 100). */
const TICKS_PER_SECOND = (() => {
	try {
		return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
	} catch {
		return 100;
	}
})();

/**
 * `/proc/<pid>/stat` split after the command name (which may contain spaces).
 * @param {number} pid
 * @returns {string[] | null} fields from field 3 (state) on, or null when the process is gone
 */
function statFields(pid) {
	try {
		const s = readFileSync(`/proc/${pid}/stat`, "utf8");
		return s.slice(s.lastIndexOf(")") + 2).split(" ");
	} catch {
		return null;
	}
}

/**
 * Every process whose parent is `pid`, recursively, with `pid` itself first.
 * @param {number} pid
 * @returns {number[]}
 */
export function processTree(pid) {
	/** @type {Map<number, number[]>} */
	const children = new Map();
	for (const name of readdirSync("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		const f = statFields(Number(name));
		if (!f) continue;
		const ppid = Number(f[1]);
		const list = children.get(ppid) ?? [];
		list.push(Number(name));
		children.set(ppid, list);
	}
	const out = [pid];
	for (let i = 0; i < out.length; i++) out.push(...(children.get(/** @type {number} */ (out[i])) ?? []));
	return out;
}

/**
 * The pids of `workerd` processes under `pid`.
 * @param {number} pid
 * @returns {number[]}
 */
export function workerdUnder(pid) {
	return processTree(pid).filter((p) => {
		try {
			return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "workerd";
		} catch {
			return false;
		}
	});
}

/**
 * Total CPU time (user + system) of the given processes, in milliseconds.
 * @param {number[]} pids
 */
export function cpuMs(pids) {
	let ticks = 0;
	for (const pid of pids) {
		const f = statFields(pid);
		if (f) ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
	}
	return (ticks * 1000) / TICKS_PER_SECOND;
}

/** CPU time all processes on the machine spent busy (user, nice, system, irq, softirq, steal), in ms. */
export function systemBusyMs() {
	const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
	const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
	return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_SECOND;
}

/**
 * Total resident memory of the given processes, in MiB.
 * @param {number[]} pids
 */
export function rssMiB(pids) {
	let kb = 0;
	for (const pid of pids) {
		try {
			const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
			if (m) kb += Number(m[1]);
		} catch {
			/* gone */
		}
	}
	return kb / 1024;
}

/**
 * A probe over one server's processes: CPU snapshots and an RSS sampler.
 *
 * @example
 * ```js
 * const probe = serverProbe(() => [workerdPid]);
 * const stop = probe.sampleRss(200);
 * const c0 = probe.cpu(); … ; const used = probe.cpu() - c0;
 * const peak = stop();
 * ```
 * @param {() => number[]} pids resolved on every call (wrangler dev may respawn its runtime)
 */
export function serverProbe(pids) {
	return {
		cpu: () => cpuMs(pids()),
		rss: () => rssMiB(pids()),
		/** Samples RSS every `everyMs` until the returned function is called; it returns the peak. */
		sampleRss(everyMs = 200) {
			let peak = rssMiB(pids());
			const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pids()))), everyMs);
			return () => {
				clearInterval(timer);
				return Math.max(peak, rssMiB(pids()));
			};
		},
	};
}

/** The machine, for the report: cores, CPU model, memory, kernel. */
export function machine() {
	const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
	const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
	const mhz = /cpu MHz\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim();
	const memKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
	let nproc = 0;
	try {
		nproc = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
	} catch {
		nproc = 0;
	}
	let kernel = "";
	try {
		kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
	} catch {
		kernel = "";
	}
	return {
		nproc,
		model: mhz ? `${model} (${Math.round(Number(mhz))} MHz)` : model,
		memGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
		kernel,
		loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
	};
}
