#!/usr/bin/env node
/**
 * @module bench/shard-sim
 * `node bench/shard-sim.mjs [--service 0.5] [--policy 0.15] [--fanout 0.05] [--shards 4] [--seconds 60]`
 *
 * A small discrete-event simulation of a tenant that outgrows one object (docs/architecture.md
 * §Scaling). Calls arrive as a Poisson stream; every object serves one request at a time, in
 * arrival order, for a fixed service time. Three designs:
 *
 * - **one object** (today): every call takes `service` ms in the TenantObject;
 * - **shards + policy object in the path**: every call first takes `policy` ms in the tenant's
 *   policy object (rate limits, the anchored audit chain), then `service − policy` ms in one of
 *   `shards` data objects (per user or per app, chosen uniformly); a fraction `fanout` of calls
 *   (a search or `read_graph` over the whole tenant) runs on every shard and waits for the slowest;
 * - **shards, policy cached**: as above without the policy hop (each shard enforces its share of
 *   the tenant's budget and anchors its own audit chain to the tenant's periodically).
 *
 * Prints, for offered loads up to past one object's ceiling, the p50/p99 latency of each design
 * (queueing + service; no network), and where the sharded designs start to pay off. Service times
 * default to this repository's measured kernel time per call (docs/performance.md).
 */
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
	options: {
		service: { type: "string", default: "0.5" },
		policy: { type: "string", default: "0.15" },
		fanout: { type: "string", default: "0.05" },
		shards: { type: "string", default: "4" },
		seconds: { type: "string", default: "60" },
		seed: { type: "string", default: "1" },
	},
});
const S = Number(a.service);
const P = Number(a.policy);
const F = Number(a.fanout);
const K = Number(a.shards);
const SECONDS = Number(a.seconds);

/** Deterministic PRNG (mulberry32), so that a run can be repeated. */
let state = Number(a.seed) >>> 0;
function random() {
	state = (state + 0x6d2b79f5) >>> 0;
	let t = state;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** One FIFO server: `serve(at, ms)` returns the completion time of a request arriving at `at`. */
function server() {
	let free = 0;
	return (/** @type {number} */ at, /** @type {number} */ ms) => {
		const start = Math.max(at, free);
		free = start + ms;
		return free;
	};
}

/**
 * Latencies (ms) of `n` Poisson arrivals at `rate` calls/s through a design.
 * @param {number} rate
 * @param {"one" | "policy" | "cached"} design
 */
function simulate(rate, design) {
	const one = server();
	const policy = server();
	const shards = Array.from({ length: K }, server);
	const lat = [];
	let t = 0;
	const end = SECONDS * 1000;
	while (t < end) {
		t += (-Math.log(1 - random()) / rate) * 1000;
		const fan = random() < F;
		let done;
		if (design === "one") done = one(t, S);
		else {
			const after = design === "policy" ? policy(t, P) : t;
			const work = design === "policy" ? S - P : S;
			done = fan
				? Math.max(...shards.map((s) => s(after, work)))
				: /** @type {(at: number, ms: number) => number} */ (shards[Math.floor(random() * K)])(after, work);
		}
		lat.push(done - t);
	}
	lat.sort((x, y) => x - y);
	const pct = (/** @type {number} */ p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
	return { p50: pct(50), p99: pct(99), calls: lat.length };
}

const ceiling = 1000 / S;
console.log(
	`service ${S} ms per call (one object's ceiling ${ceiling.toFixed(0)} calls/s); policy hop ${P} ms; ${K} shards; ${(F * 100).toFixed(0)} % of calls fan out to every shard; ${SECONDS} s simulated per point\n`,
);
console.log(
	"| offered calls/s | ÷ one object's ceiling | one object p50 / p99 ms | shards + policy object p50 / p99 ms | shards, policy cached p50 / p99 ms |",
);
console.log("| ---: | ---: | ---: | ---: | ---: |");
const fmt = (/** @type {{ p50: number, p99: number }} */ r) => (r.p99 > 1000 ? "saturated" : `${r.p50.toFixed(2)} / ${r.p99.toFixed(2)}`);
for (const f of [0.25, 0.5, 0.7, 0.8, 0.9, 0.95, 1.1, 1.5, 2.5]) {
	const rate = f * ceiling;
	console.log(
		`| ${rate.toFixed(0)} | ${f.toFixed(2)} | ${fmt(simulate(rate, "one"))} | ${fmt(simulate(rate, "policy"))} | ${fmt(simulate(rate, "cached"))} |`,
	);
}
const policyCeiling = Math.min(1000 / P, (K * 1000) / ((S - P) * (1 - F + K * F)));
const cachedCeiling = (K * 1000) / (S * (1 - F + K * F));
console.log(
	`\nCeilings (calls/s): one object ${ceiling.toFixed(0)}; shards + policy object ${policyCeiling.toFixed(0)} (the policy object alone: ${(1000 / P).toFixed(0)}); shards, policy cached ${cachedCeiling.toFixed(0)}.`,
);
