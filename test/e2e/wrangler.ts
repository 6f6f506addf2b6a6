/**
 * @module test/e2e/wrangler
 * Starts `wrangler dev` on loopback for end-to-end tests, on a free port with its own persisted
 * state directory, and stops it again. The public origin is set to the port actually used so the
 * OAuth resource and the Host allow-list match.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = createServer();
		srv.listen(0, "127.0.0.1", () => {
			const addr = srv.address();
			srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
		});
	});
}

export interface DevServer {
	origin: string;
	port: number;
	/** Everything wrangler and the Worker printed (for log checks). */
	logFile: string;
	stop(): Promise<void>;
}

/**
 * Starts wrangler dev and resolves once it answers.
 *
 * @example
 * ```ts
 * const dev = await startWrangler({ persistDir: mkdtempSync(join(tmpdir(), "smcp-")) });
 * await fetch(`${dev.origin}/healthz`);
 * await dev.stop();
 * ```
 */
export async function startWrangler(opts: { persistDir: string; port?: number; vars?: Record<string, string> }): Promise<DevServer> {
	// A free port can be taken by another process between the probe and wrangler's bind: try again
	// on a new one (a port the caller chose is kept, e.g. for a restart on the same origin).
	for (let attempt = 1; ; attempt++) {
		try {
			return await startOnce(opts);
		} catch (e) {
			if (opts.port !== undefined || attempt === 3 || !(e instanceof PortTaken)) throw e;
		}
	}
}

/** wrangler dev could not bind its port (EADDRINUSE). */
class PortTaken extends Error {}

async function startOnce(opts: { persistDir: string; port?: number; vars?: Record<string, string> }): Promise<DevServer> {
	const port = opts.port ?? (await freePort());
	const origin = `http://127.0.0.1:${port}`;
	mkdirSync(`${root}test-results`, { recursive: true });
	const logFile = `${root}test-results/wrangler-${port}.log`;
	const log = createWriteStream(logFile, { flags: "a" });
	const vars = { SMCP_PUBLIC_ORIGIN: origin, ...opts.vars };
	const args = [
		`${root}node_modules/wrangler/bin/wrangler.js`,
		"dev",
		"--ip",
		"127.0.0.1",
		"--port",
		String(port),
		"--inspector-port",
		String(await freePort()),
		"--persist-to",
		opts.persistDir,
		"--show-interactive-dev-session=false",
		...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
	];
	const child: ChildProcess = spawn(process.execPath, args, {
		cwd: root,
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
	});
	child.stdout!.pipe(log);
	child.stderr!.pipe(log);
	const deadline = Date.now() + 90_000;
	for (;;) {
		if (child.exitCode !== null) {
			const message = `wrangler dev exited with ${child.exitCode}; see ${logFile}`;
			throw readFileSync(logFile, "utf8").includes("Address already in use") ? new PortTaken(message) : new Error(message);
		}
		try {
			const res = await fetch(`${origin}/healthz`);
			if (res.ok) break;
		} catch {
			/* not up yet */
		}
		if (Date.now() > deadline) {
			child.kill("SIGKILL");
			throw new Error(`wrangler dev did not answer within 90 s; see ${logFile}`);
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	return {
		origin,
		port,
		logFile,
		stop: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null) return resolve();
				const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
				child.once("exit", () => {
					clearTimeout(timer);
					log.end();
					resolve();
				});
				child.kill("SIGTERM");
			}),
	};
}
