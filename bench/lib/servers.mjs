/**
 * @module bench/lib/servers
 * Starts the three servers in the benchmark's two modes.
 *
 * - **Runtime direct** (the headline): each Worker is bundled by wrangler exactly as
 *   `wrangler deploy` would (`--dry-run --outdir`), then run by workerd through Miniflare's API with
 *   the options its `wrangler.jsonc` declares (ES modules, Durable Objects with SQLite, KV, the
 *   ratelimit binding, compatibility date and flags, vars), plus the benchmark's overrides. Each
 *   server gets its own workerd process (same binary) and a direct loopback socket into its
 *   Worker (`unsafeDirectSockets`: no Miniflare entry worker, no dev proxy), so the CPU time and
 *   memory of a process belong to one server.
 * - **`wrangler dev`**: what a developer runs, one `wrangler dev` per server; CPU and memory are
 *   those of the whole process tree (wrangler's Node process, its proxy and its workerd).
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuMs, processTree, serverProbe, workerdUnder } from "./proc.mjs";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILD = join(ROOT, "bench/.build");
export const WRANGLER = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");

/**
 * @typedef {{ key: string, config: string, vars: (origin: string) => Record<string, string>, ratelimit?: number }} ServerSpec
 * @typedef {{ key: string, origin: string, path?: string, lane?: "mcp" | "sse" | "modern", probe: ReturnType<typeof serverProbe>, pids: () => number[], extra?: any, stop: () => Promise<void> }} RunningServer
 */

/** A free TCP port on 127.0.0.1. */
export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = createServer();
		srv.listen(0, "127.0.0.1", () => {
			const addr = srv.address();
			srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no free port"))));
		});
	});
}

/**
 * Bundles every server with wrangler (`deploy --dry-run --outdir`), in parallel.
 * @param {ServerSpec[]} specs
 * @returns {Promise<Record<string, { dir: string, script: string }>>}
 */
export async function buildAll(specs) {
	mkdirSync(BUILD, { recursive: true });
	const built = await Promise.all(
		specs.map(
			(s) =>
				new Promise((resolve, reject) => {
					const dir = join(BUILD, s.key);
					rmSync(dir, { recursive: true, force: true });
					const args = [
						WRANGLER,
						"deploy",
						"--dry-run",
						"--outdir",
						dir,
						"--metafile",
						join(dir, "bundle-meta.json"),
						"--config",
						join(ROOT, s.config),
					];
					const child = spawn(process.execPath, args, {
						cwd: ROOT,
						stdio: ["ignore", "pipe", "pipe"],
						env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
					});
					let out = "";
					child.stdout.on("data", (c) => (out += c));
					child.stderr.on("data", (c) => (out += c));
					child.on("close", (code) => {
						if (code !== 0) return reject(new Error(`bundling ${s.key} failed (exit ${code}):\n${out.slice(-2000)}`));
						const script = readdirSync(dir).find((f) => f.endsWith(".js"));
						if (!script) return reject(new Error(`bundling ${s.key}: no .js output in ${dir}`));
						resolve([s.key, { dir, script: join(dir, script) }]);
					});
				}),
		),
	);
	return Object.fromEntries(/** @type {[string, { dir: string, script: string }][]} */ (built));
}

/**
 * Miniflare (v4-shape) worker options from a wrangler config, with the benchmark's vars.
 * @param {ServerSpec} spec
 * @param {{ dir: string, script: string }} build
 * @param {string} origin
 * @param {number} port
 * @returns {Promise<any>} a V4 worker-options object (`convertV4MiniflareOptions` validates it)
 */
async function workerOptions(spec, build, origin, port) {
	const { unstable_readConfig } = await import("wrangler");
	/** @type {{ compatibility_date?: string, compatibility_flags?: string[], migrations?: { new_sqlite_classes?: string[] }[], durable_objects?: { bindings?: { name: string, class_name: string }[] }, kv_namespaces?: { binding: string }[], ratelimits?: { name: string, namespace_id: string, simple: { limit: number, period: 10 | 60 } }[], vars?: Record<string, unknown> }} */
	const c = unstable_readConfig({ config: join(ROOT, spec.config) });
	const sqlite = new Set((c.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? []));
	return {
		name: spec.key,
		modules: true,
		scriptPath: build.script,
		modulesRoot: build.dir,
		compatibilityDate: c.compatibility_date,
		compatibilityFlags: c.compatibility_flags,
		durableObjects: Object.fromEntries(
			(c.durable_objects?.bindings ?? []).map((b) => [b.name, { className: b.class_name, useSQLite: sqlite.has(b.class_name) }]),
		),
		kvNamespaces: (c.kv_namespaces ?? []).map((k) => k.binding),
		// The pre-auth limit answers unauthenticated traffic only; the bench raises it so that the
		// OAuth flows of a run are never refused.
		ratelimits: Object.fromEntries(
			(c.ratelimits ?? []).map((r) => [
				r.name,
				{ namespace_id: r.namespace_id, simple: { limit: spec.ratelimit ?? r.simple.limit, period: r.simple.period } },
			]),
		),
		bindings: { ...c.vars, ...spec.vars(origin) },
		unsafeDirectSockets: [{ host: "127.0.0.1", port }],
	};
}

/**
 * Starts one server in its own workerd through Miniflare's API.
 * @param {ServerSpec} spec
 * @param {{ dir: string, script: string }} build
 * @param {{ stateDir?: string, inspectorPort?: number, port?: number }} [opts] where workerd keeps KV and Durable
 *   Object storage (default: Miniflare's temporary directory); a DevTools port for profiling; the
 *   Worker's port (default: a free one; a restart on the same state keeps its origin, so its tokens)
 * @returns {Promise<RunningServer & { mf: import("miniflare").Miniflare }>}
 */
export async function startRuntime(spec, build, opts = {}) {
	const { Miniflare, convertV4MiniflareOptions } = await import("miniflare");
	const port = opts.port ?? (await freePort());
	const origin = `http://127.0.0.1:${port}`;
	/** @type {string[]} */
	const errors = [];
	const counts = { logLines: 0 };
	const mf = new Miniflare(
		convertV4MiniflareOptions({
			host: "127.0.0.1",
			port: await freePort(),
			...(opts.stateDir ? { resourcePersistencePath: opts.stateDir } : {}),
			...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
			// The Worker's own structured logs (SMCP writes one JSON line per request and per tool
			// call) are produced by workerd as in production, then dropped here; errors are kept.
			handleStructuredLogs: (l) => {
				counts.logLines++;
				if (l.level === "error" && errors.length < 20) errors.push(String(l.message).slice(0, 300));
			},
			workers: [await workerOptions(spec, build, origin, port)],
		}),
	);
	await mf.ready;
	const [pid] = workerdUnder(process.pid).filter((p) => !running.has(p));
	if (!pid) throw new Error(`cannot find the workerd process of ${spec.key}`);
	running.add(pid);
	const pids = () => [pid];
	await waitHealthy(origin);
	return {
		key: spec.key,
		origin,
		pids,
		probe: serverProbe(pids),
		mf,
		extra: { errors, counts },
		stop: async () => {
			await mf.dispose();
			running.delete(pid);
		},
	};
}
/** workerd pids already attributed to a server. */
const running = new Set();

/**
 * Starts one server under `wrangler dev` (its own persisted state in a temporary directory).
 * @param {ServerSpec} spec
 * @param {string} stateDir
 * @returns {Promise<RunningServer>}
 */
export async function startWranglerDev(spec, stateDir) {
	const port = await freePort();
	const origin = `http://127.0.0.1:${port}`;
	mkdirSync(stateDir, { recursive: true });
	const log = createWriteStream(join(stateDir, "wrangler.log"));
	const args = [
		WRANGLER,
		"dev",
		"--config",
		join(ROOT, spec.config),
		"--ip",
		"127.0.0.1",
		"--port",
		String(port),
		"--inspector-port",
		String(await freePort()),
		"--persist-to",
		join(stateDir, "state"),
		"--show-interactive-dev-session=false",
		...Object.entries(spec.vars(origin)).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
	];
	const child = spawn(process.execPath, args, {
		cwd: ROOT,
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
	});
	child.stdout.pipe(log);
	child.stderr.pipe(log);
	const pid = /** @type {number} */ (child.pid);
	try {
		await waitHealthy(origin, 120_000, () => child.exitCode !== null);
	} catch (e) {
		child.kill("SIGKILL");
		throw new Error(
			`wrangler dev for ${spec.key} did not come up (${e instanceof Error ? e.message : e}); see ${join(stateDir, "wrangler.log")}`,
		);
	}
	const pids = () => processTree(pid);
	return {
		key: spec.key,
		origin,
		pids,
		// The tree's CPU, and its workerd's alone: the rest is wrangler's Node process (its proxy).
		probe: { ...serverProbe(pids), runtimeCpu: () => cpuMs(workerdUnder(pid)) },
		stop: () =>
			new Promise((resolve) => {
				if (child.exitCode !== null) return resolve();
				const timer = setTimeout(() => {
					for (const p of processTree(pid).reverse()) {
						try {
							process.kill(p, "SIGKILL");
						} catch {
							/* already gone */
						}
					}
				}, 10_000);
				child.once("exit", () => {
					clearTimeout(timer);
					log.end();
					resolve();
				});
				child.kill("SIGTERM");
			}),
	};
}

/**
 * Polls `/healthz` until it answers 200.
 * @param {string} origin
 * @param {number} [timeoutMs]
 * @param {() => boolean} [dead]
 */
async function waitHealthy(origin, timeoutMs = 60_000, dead = () => false) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (dead()) throw new Error("process exited");
		try {
			const res = await fetch(`${origin}/healthz`);
			if (res.ok) return;
		} catch {
			/* not up yet */
		}
		if (Date.now() > deadline) throw new Error(`${origin} did not answer /healthz within ${timeoutMs / 1000} s`);
		await new Promise((r) => setTimeout(r, 200));
	}
}
