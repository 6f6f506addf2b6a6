#!/usr/bin/env node
/**
 * @module bench/wrangler-gap
 * `node bench/wrangler-gap.mjs [--rounds 3] [--seconds 3]`
 *
 * What costs more under `wrangler dev` (docs/performance.md §wrangler dev): the trivial tool at 8
 * sessions on SMCP and on the static+OAuth ceiling, in three set-ups, servers interleaved in
 * slices as in `npm run bench`:
 *
 * 1. runtime direct (workerd through Miniflare, no inspector): the reference;
 * 2. runtime direct with a DevTools session attached and `Runtime.enable` sent, as wrangler dev's
 *    inspector proxy does to relay console output: what the attached inspector alone costs;
 * 3. `wrangler dev`: the whole process tree's CPU per call, split by process (wrangler's Node
 *    process, each workerd), to show the share of wrangler's proxy, which is per request and the
 *    same for every Worker.
 *
 * Prints calls/s, CPU per call, and SMCP ÷ ceiling for each set-up. A diagnostic; not part of
 * `npm run bench`, whose `wrangler dev` table carries the per-process split of every run.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { interleavedSteadyCalls } from "./lib/load.mjs";
import { request } from "./lib/http.mjs";
import { outcomeOf, StreamableSession } from "./lib/mcp.mjs";
import { fixtureToken, smcpToken } from "./lib/oauth.mjs";
import { buildAll, freePort, startRuntime, startWranglerDev } from "./lib/servers.mjs";
import { DEV, SPECS } from "./lib/specs.mjs";

const { values: a } = parseArgs({ options: { rounds: { type: "string", default: "3" }, seconds: { type: "string", default: "3" } } });
const ROUNDS = Number(a.rounds);
const SLICES = 6;
const SLICE_MS = (Number(a.seconds) * 1000) / SLICES;
/** Storage on tmpfs, as in `npm run bench`: SMCP writes on every call, the static Worker never. */
const STATE_ROOT = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
const specs = SPECS.filter((s) => s.key === "static" || s.key === "smcp");

/** @param {Record<string, any>} servers @param {Record<string, string>} tokens */
async function measure(servers, tokens) {
	// SMCP twice: a plain tool call (Worker → TenantObject), and `server/discover` on the
	// 2026-07-28 lane, which the front Worker answers alone (no Durable Object).
	const keys = ["static", "smcp", "discover"];
	/** @type {Record<string, import("./lib/load.mjs").Measurement[]>} */
	const out = { static: [], smcp: [], discover: [] };
	for (let r = 0; r < ROUNDS; r++) {
		const order = r % 2 ? [...keys].reverse() : keys;
		const ms = await interleavedSteadyCalls({
			concurrency: 8,
			warmupMs: 800,
			slices: SLICES,
			sliceMs: SLICE_MS,
			leadInMs: 100,
			targets: order.map((k) => {
				const server = servers[k === "discover" ? "smcp" : k];
				const token = /** @type {string} */ (tokens[k === "discover" ? "smcp" : k]);
				return {
					probe: server.probe,
					open: () => (k === "discover" ? new DiscoverClient(server.origin, token) : new StreamableSession(server.origin, token)),
					call: (/** @type {import("./lib/mcp.mjs").McpClient} */ c) =>
						k === "static" ? c.call("add", { a: 1, b: 2 }) : c.call("read_graph", {}),
				};
			}),
		});
		for (const [i, k] of order.entries()) out[k]?.push(/** @type {import("./lib/load.mjs").Measurement} */ (ms[i]));
	}
	const med = (/** @type {number[]} */ xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1] ?? NaN;
	const ratio = med(out.smcp.map((m, i) => m.rate / /** @type {number} */ (out.static[i]?.rate)));
	const discoverRatio = med(out.discover.map((m, i) => m.rate / /** @type {number} */ (out.static[i]?.rate)));
	return {
		static: {
			rate: med(out.static.map((m) => m.rate)),
			cpu: med(out.static.map((m) => m.cpuMsPerOp)),
			rt: med(out.static.map((m) => m.runtimeCpuMsPerOp ?? NaN)),
		},
		smcp: {
			rate: med(out.smcp.map((m) => m.rate)),
			cpu: med(out.smcp.map((m) => m.cpuMsPerOp)),
			rt: med(out.smcp.map((m) => m.runtimeCpuMsPerOp ?? NaN)),
		},
		discover: {
			rate: med(out.discover.map((m) => m.rate)),
			cpu: med(out.discover.map((m) => m.cpuMsPerOp)),
			rt: med(out.discover.map((m) => m.runtimeCpuMsPerOp ?? NaN)),
		},
		ratio,
		discoverRatio,
	};
}

/** `server/discover` on the 2026-07-28 lane as an McpClient (its `call` ignores the tool). */
class DiscoverClient {
	#url;
	#token;
	#id = 1;
	constructor(/** @type {string} */ origin, /** @type {string} */ token) {
		this.#url = new URL("/mcp", origin);
		this.#token = token;
	}
	async initialize() {}
	async close() {}
	async call() {
		const id = this.#id++;
		const res = await request(this.#url, {
			method: "POST",
			headers: {
				Authorization: `Bearer ${this.#token}`,
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
				"MCP-Protocol-Version": "2026-07-28",
				"Mcp-Method": "server/discover",
			},
			body: JSON.stringify({
				jsonrpc: "2.0",
				id,
				method: "server/discover",
				params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
			}),
		});
		return res.status === 200 ? outcomeOf(JSON.parse(res.body)) : { ok: false, error: `HTTP ${res.status}` };
	}
}

/** Attaches a DevTools session to the Worker's isolate and sends `Runtime.enable`. */
async function attachInspector(/** @type {number} */ port, /** @type {string} */ id) {
	const targets = /** @type {{ id: string, webSocketDebuggerUrl: string }[]} */ (
		await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()
	);
	const t = targets.find((x) => x.id === id);
	if (!t) throw new Error(`no inspector target ${id}`);
	const ws = new WebSocket(t.webSocketDebuggerUrl);
	await new Promise((resolve, reject) => {
		ws.addEventListener("open", resolve, { once: true });
		ws.addEventListener("error", reject, { once: true });
	});
	ws.send(JSON.stringify({ id: 1, method: "Runtime.enable", params: {} }));
	return ws;
}

const row = (/** @type {string} */ name, /** @type {Awaited<ReturnType<typeof measure>>} */ m) =>
	`| ${name} | ${m.static.rate.toFixed(0)} | ${m.static.cpu.toFixed(2)} | ${m.smcp.rate.toFixed(0)} | ${m.smcp.cpu.toFixed(2)} | ${m.ratio.toFixed(2)}× | ${m.discover.rate.toFixed(0)} | ${m.discover.cpu.toFixed(2)} | ${m.discoverRatio.toFixed(2)}× |`;

async function main() {
	const builds = await buildAll(specs);
	const lines = [
		"| set-up | static+OAuth calls/s | static CPU ms/call | SMCP calls/s | SMCP CPU ms/call | SMCP ÷ static (calls/s, median of rounds) | SMCP `server/discover` (no Durable Object) calls/s | its CPU ms/call | ÷ static |",
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
	];
	// 1: runtime direct, no inspector; 2: restarted with a DevTools port and a session attached.
	for (const withInspector of [false, true]) {
		/** @type {Record<string, any>} */
		const rt = {};
		/** @type {Record<string, number>} */
		const ports = {};
		for (const s of specs) {
			ports[s.key] = await freePort();
			rt[s.key] = await startRuntime(s, /** @type {any} */ (builds[s.key]), {
				stateDir: mkdtempSync(join(STATE_ROOT, `smcp-gap-${s.key}-`)),
				...(withInspector ? { inspectorPort: ports[s.key] } : {}),
			});
		}
		try {
			const tokens = { static: await fixtureToken(rt.static.origin), smcp: await smcpToken(rt.smcp.origin, DEV.email, DEV.password) };
			const sockets = withInspector
				? await Promise.all(specs.map((s) => attachInspector(/** @type {number} */ (ports[s.key]), `core:user:${s.key}`)))
				: [];
			lines.push(
				row(
					withInspector ? "runtime direct + DevTools session with `Runtime.enable` (as wrangler dev attaches)" : "runtime direct",
					await measure(rt, tokens),
				),
			);
			for (const ws of sockets) ws.close();
		} finally {
			for (const s of Object.values(rt)) await s.stop();
		}
	}
	// 3: wrangler dev, CPU split by process.
	/** @type {Record<string, any>} */
	const wd = {};
	for (const s of specs) wd[s.key] = await startWranglerDev(s, mkdtempSync(join(STATE_ROOT, `smcp-gap-${s.key}-`)));
	try {
		const tokens = { static: await fixtureToken(wd.static.origin), smcp: await smcpToken(wd.smcp.origin, DEV.email, DEV.password) };
		const m = await measure(wd, tokens);
		lines.push(
			`${row("wrangler dev (process tree)", m)}`,
			"",
			`Under wrangler dev, CPU per call of the workerd processes alone: static ${m.static.rt.toFixed(2)} ms, SMCP ${m.smcp.rt.toFixed(2)} ms, SMCP discover ${m.discover.rt.toFixed(2)} ms; the rest of the tree (wrangler's Node process): static ${(m.static.cpu - m.static.rt).toFixed(2)} ms, SMCP ${(m.smcp.cpu - m.smcp.rt).toFixed(2)} ms, discover ${(m.discover.cpu - m.discover.rt).toFixed(2)} ms.`,
		);
	} finally {
		for (const s of Object.values(wd)) await s.stop();
	}
	console.log(lines.join("\n"));
}

main().then(
	() => process.exit(0),
	(e) => {
		console.error(e);
		process.exit(1);
	},
);
