/**
 * @module bench/lib/coldstart
 * Size and cold start of SMCP's Worker:
 *
 * - {@link bundleReport}: the bundle wrangler would upload (raw and gzip bytes) and what takes
 *   it, from esbuild's metafile (`wrangler deploy --dry-run --outdir … --metafile`): bytes in the
 *   output per npm package, and per folder of our own code.
 * - {@link startupProfile}: the CPU of the script's start-up (its top-level evaluation, which a
 *   cold request pays in production unless the isolate was warmed during the TLS handshake), from
 *   `wrangler check startup`'s CPU profile, with the packages that take it.
 * - {@link firstRequests}: the first requests on a fresh process (workerd restarted on the same
 *   storage, so tokens stay valid), each next to warm ones: the first MCP call (front Worker
 *   isolate and TenantObject both new); then, after another restart, one part at a time: the
 *   front Worker's first authenticated request alone (`server/discover`), the first call into a
 *   new TenantObject on the warm isolate, a second tenant's, the first 2024-11-05 session (the
 *   first SessionObject).
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { accountRecords, hashPassword } from "../../shared/accounts/records.mjs";
import { ModernClient, SseSession } from "./mcp.mjs";
import { smcpToken } from "./oauth.mjs";
import { ROOT, startRuntime } from "./servers.mjs";
import { median } from "./stats.mjs";

/** `node_modules/@scope/pkg/…` → `@scope/pkg`; our files → their first two path segments. */
function groupOf(/** @type {string} */ path) {
	const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
	if (m) return /** @type {string} */ (m[1]);
	const parts = path.replace(/^(\.\.\/)+/, "").split("/");
	return parts.length > 2 ? parts.slice(0, 2).join("/") : parts.join("/");
}

/**
 * @param {{ dir: string, script: string }} build a wrangler `--dry-run --outdir` build with its metafile
 * @returns {{ bytes: number, gzipBytes: number, groups: { name: string, bytes: number }[] }}
 */
export function bundleReport(build) {
	const text = readFileSync(build.script);
	/** @type {{ outputs: Record<string, { bytes: number, inputs: Record<string, { bytesInOutput: number }> }> }} */
	const meta = JSON.parse(readFileSync(join(build.dir, "bundle-meta.json"), "utf8"));
	const out = Object.entries(meta.outputs).find(([k]) => k.endsWith(".js"));
	/** @type {Map<string, number>} */
	const groups = new Map();
	for (const [path, v] of Object.entries(out?.[1].inputs ?? {}))
		groups.set(groupOf(path), (groups.get(groupOf(path)) ?? 0) + v.bytesInOutput);
	return {
		bytes: text.length,
		gzipBytes: gzipSync(text, { level: 6 }).length,
		groups: [...groups].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
	};
}

/**
 * `wrangler check startup` for a config: the start-up CPU profile's busy time, and its shares by
 * package (self time of the frames, mapped through the bundle's `// path` markers).
 * @param {string} config path of a wrangler config, relative to the repository
 * @param {string} outDir where the profile goes
 * @param {string} wrangler path of wrangler's bin script
 * @param {string} bundle the same Worker bundled by `wrangler deploy --dry-run` (the bench's build):
 *   its `// path` markers map the profile's lines to packages (wrangler's own build of it is gone)
 * @returns {Promise<{ cpuMs: number, byGroup: { name: string, ms: number }[] }>}
 */
export async function startupProfile(config, outDir, wrangler, bundle) {
	const outfile = join(outDir, "startup.cpuprofile");
	rmSync(outfile, { force: true });
	await new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [wrangler, "check", "startup", "--config", join(ROOT, config), "--outfile", outfile], {
			cwd: ROOT,
			stdio: ["ignore", "pipe", "pipe"],
			env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
		});
		let log = "";
		child.stdout.on("data", (c) => (log += c));
		child.stderr.on("data", (c) => (log += c));
		child.on("close", (code) =>
			code === 0 ? resolve(undefined) : reject(new Error(`wrangler check startup: exit ${code}\n${log.slice(-1500)}`)),
		);
	});
	/** @type {{ nodes: { id: number, callFrame: { functionName: string, url: string, lineNumber: number } }[], samples: number[], timeDeltas: number[] }} */
	const p = JSON.parse(readFileSync(outfile, "utf8"));
	// The profile's frames point into wrangler's own build, the same sources bundled the same way as
	// `bundle`: map lines through the latter's markers.
	/** @type {[number, string][]} */
	const marks = [];
	for (const [i, line] of (safeRead(bundle) ?? "").split("\n").entries()) {
		const m = /^\/\/ (\S+\.(?:m?js|ts|cjs|mts))$/.exec(line);
		if (m) marks.push([i, groupOf(/** @type {string} */ (m[1]))]);
	}
	const at = (/** @type {number} */ line) => {
		let found = "(esbuild module wrappers)";
		for (const [l, g] of marks) {
			if (l > line) break;
			found = g;
		}
		return found;
	};
	const byId = new Map(p.nodes.map((n) => [n.id, n]));
	/** @type {Map<string, number>} */
	const groups = new Map();
	let busy = 0;
	p.samples.forEach((id, i) => {
		const n = byId.get(id);
		const us = p.timeDeltas[i] ?? 0;
		if (!n || n.callFrame.functionName === "(idle)") return;
		busy += us;
		const g = n.callFrame.url ? at(n.callFrame.lineNumber) : n.callFrame.functionName || "(native)";
		groups.set(g, (groups.get(g) ?? 0) + us);
	});
	return {
		cpuMs: busy / 1000,
		byGroup: [...groups].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
	};
}

/** @param {string} path */
function safeRead(path) {
	try {
		return readFileSync(path, "utf8");
	} catch {
		return null;
	}
}

/**
 * First requests on a fresh workerd process, `rounds` times (a restart on the same storage each).
 * @param {import("./servers.mjs").ServerSpec} spec
 * @param {{ dir: string, script: string }} build
 * @param {string} stateDir
 * @param {{ email: string, password: string }} dev
 * @param {number} rounds
 */
export async function firstRequests(spec, build, stateDir, dev, rounds) {
	// Tokens for two tenants, obtained once; the processes that follow reuse the storage and origin.
	let server = await startRuntime(spec, build, { stateDir });
	const port = Number(new URL(server.origin).port);
	const other = { email: "bench-cold@smcp.local", password: `bench-${crypto.randomUUID()}` };
	let tokens;
	try {
		const kv = await server.mf.getKVNamespace("DIRECTORY_KV");
		const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
		const tenantId = `t_${hex()}`;
		const account = { userId: `u_${hex()}`, email: other.email, tenantId, tenants: [tenantId], createdAt: Date.now() };
		for (const { key, value } of accountRecords(account, await hashPassword(other.password))) await kv.put(key, value);
		tokens = { a: await smcpToken(server.origin, dev.email, dev.password), b: await smcpToken(server.origin, other.email, other.password) };
	} finally {
		await server.stop();
	}
	const time = async (/** @type {() => Promise<unknown>} */ f) => {
		const t0 = performance.now();
		const r = await f();
		const ms = performance.now() - t0;
		if (r && typeof r === "object" && "ok" in r && !r.ok) throw new Error(`cold-start request failed: ${JSON.stringify(r).slice(0, 200)}`);
		return ms;
	};
	/** @type {Record<string, number[]>} */
	const m = {
		firstCall: [],
		warm: [],
		isolateFirst: [],
		isolateWarm: [],
		tenantFirst: [],
		tenant2First: [],
		tenant2Warm: [],
		sessionFirst: [],
		sessionNext: [],
		startMs: [],
		kvWarmUp: [],
	};
	const warmOf = async (/** @type {number} */ n, /** @type {() => Promise<unknown>} */ f) => {
		const times = [];
		for (let i = 0; i < n; i++) times.push(await time(f));
		return median(times);
	};
	const fresh = async () => {
		const t0 = performance.now();
		server = await startRuntime(spec, build, { stateDir, port });
		m.startMs?.push(performance.now() - t0);
		return { a: new ModernClient(server.origin, tokens.a), b: new ModernClient(server.origin, tokens.b) };
	};
	for (let r = 0; r < rounds; r++) {
		// 1. The first MCP call on a fresh process: the front Worker isolate and the TenantObject both new.
		let { a } = await fresh();
		try {
			m.firstCall?.push(await time(() => a.call("read_graph", {})));
			m.warm?.push(await warmOf(20, () => a.call("read_graph", {})));
		} finally {
			await server.stop();
		}
		// 2. The same, one part at a time: the front Worker's first authenticated request alone
		// (`server/discover`, answered without a Durable Object), then the tenant's first call on the
		// now warm isolate (a new TenantObject), then a second tenant's.
		let b;
		({ a, b } = await fresh());
		try {
			// Miniflare's KV simulator is a Worker of its own, cold too after a restart (production's KV
			// is a service that is always up): one read through Miniflare's API warms it first.
			const kvStart = performance.now();
			await (await server.mf.getKVNamespace("DIRECTORY_KV")).get("bench:warm-up");
			m.kvWarmUp?.push(performance.now() - kvStart);
			m.isolateFirst?.push(await time(() => a.discover()));
			m.isolateWarm?.push(await warmOf(20, () => a.discover()));
			m.tenantFirst?.push(await time(() => a.call("read_graph", {})));
			await warmOf(5, () => a.call("read_graph", {}));
			m.tenant2First?.push(await time(() => b.call("read_graph", {})));
			m.tenant2Warm?.push(await warmOf(10, () => b.call("read_graph", {})));
			// The first SessionObject of the process (a 2024-11-05 session: GET /sse, initialize), then the next ones.
			const setup = async () => {
				const s = new SseSession(server.origin, tokens.a);
				const ms = await time(async () => {
					await s.initialize();
					return s.call("read_graph", {});
				});
				await s.close();
				return ms;
			};
			m.sessionFirst?.push(await setup());
			const next = [];
			for (let i = 0; i < 5; i++) next.push(await setup());
			m.sessionNext?.push(median(next));
		} finally {
			await server.stop();
		}
	}
	return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
}
