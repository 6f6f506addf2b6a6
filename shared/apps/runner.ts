/**
 * @module shared/apps/runner
 * The runner: the platform's modules added to every app bundle when its isolate is loaded, and the
 * RPC contract between the front Worker and that isolate. The entry module (`__smcp_runner.js`)
 * default-exports a `WorkerEntrypoint` with two methods:
 *
 * - `describe()` → `{ tools: string[] }`: the handler names the app's `defineApp` exports (the
 *   deploy's dry load compares them with the manifest);
 * - `call(tool, args, host, info)` → {@link RunnerOutcome}: runs one handler with arguments the
 *   kernel has validated. `host` is a per-call capability (an `RpcTarget` of the front Worker,
 *   {@link CallHostApi}): the handler's `ctx.fetch`, the global `fetch` and `ctx.storage` all go
 *   through it, so the platform counts, audits and ends what one call does. `info` carries the
 *   call's deadline, result cap and the plain values of the secrets the manifest names (never those
 *   injected as headers).
 *
 * Order of evaluation matters: `__smcp_fetch.js` is the runner's first import, so it replaces the
 * global `fetch` before any module of the app is evaluated; app code can never hold the
 * platform's own `fetch` (which goes to the isolate's `globalOutbound`, the policy gateway).
 *
 * Results are checked and serialised INSIDE the isolate: a function returned over Workers RPC
 * would become a callable stub and a class instance a clone error, so the runner sends JSON text
 * (or a refusal) and the host parses and normalises it again (`result.ts`).
 */
import { GUARD_MODULE } from "./guard-prelude";

/** The entry module the loader starts (reserved `__smcp` prefix: bundles cannot use it). */
export const RUNNER_MODULE = "__smcp_runner.js";
/** The module that routes `fetch` through the per-call host. */
export const FETCH_MODULE = "__smcp_fetch.js";
/** Compatibility date of app isolates (the platform's own; apps cannot choose another). */
export const APP_COMPATIBILITY_DATE = "2026-11-01";
/** Only AsyncLocalStorage (to find the call a `fetch` belongs to), not the whole Node.js surface. */
export const APP_COMPATIBILITY_FLAGS = ["nodejs_als"] as const;
/** Largest response body the egress gateway hands to app code, in bytes. */
export const MAX_EGRESS_RESPONSE_BYTES = 4 * 1024 * 1024;

/** An outbound request as it crosses from the isolate to the host (plain data). */
export interface WireRequest {
	url: string;
	method: string;
	headers: [string, string][];
	body: ArrayBuffer | null;
}

/** The answer to a {@link WireRequest}: a response, or a refusal the runner throws as a `TypeError`. */
export type WireResponse =
	| { ok: true; status: number; statusText: string; headers: [string, string][]; body: ArrayBuffer | null }
	| { ok: false; error: string };

/** Storage operations of `ctx.storage`. */
export type StorageOp =
	| { op: "get"; key: string }
	| { op: "put"; key: string; value: string }
	| { op: "delete"; key: string }
	| { op: "list"; prefix: string };

/** A storage answer: the value (JSON text, or null), a boolean, keys, or a refusal with its message. */
export type StorageAnswer = { ok: true; value: string | null | boolean | string[] } | { ok: false; error: string };

/** The per-call capability the front Worker passes to `call()` (an `RpcTarget`). */
export interface CallHostApi {
	fetch(request: WireRequest): Promise<WireResponse>;
	storage(op: StorageOp): Promise<StorageAnswer>;
}

/** Per-call data passed to `call()`. */
export interface CallInfo {
	/** Epoch ms after which the loop guard stops the handler. */
	deadline: number;
	/** `limits.maxResultBytes`: a longer result is refused inside the isolate. */
	maxResultBytes: number;
	/** Plain secret values by name: only names the manifest lists and `secretHeaders` does not use. */
	secrets: Record<string, string>;
	/** Every secret name the manifest declares that the tenant has set (for `ctx.secrets.has`). */
	present: string[];
}

/** What `call()` returns. `json` is the handler's value as JSON text (`undefined` → absent). */
export type RunnerOutcome =
	| { ok: true; json?: string }
	| { ok: false; kind: "threw"; name: string; message: string }
	| { ok: false; kind: "not_json" | "too_large" | "unknown_tool"; message: string };

/** The runner's RPC surface, as the host sees it through `getEntrypoint()`. */
export interface RunnerApi {
	describe(): Promise<{ tools: string[] }>;
	call(tool: string, args: Record<string, unknown>, host: CallHostApi, info: CallInfo): Promise<RunnerOutcome>;
}

/**
 * The platform modules for an app whose entry is `main`: the runner and the fetch router. The
 * guard prelude (`GUARD_MODULE`) comes from `guard.ts` with the guarded app modules.
 *
 * @example
 * ```ts
 * const modules = { ...guardedAppModules, ...runnerModules(manifest.main) };
 * env.LOADER.get(id, () => ({ mainModule: RUNNER_MODULE, modules, ... }));
 * ```
 */
export function runnerModules(main: string): Record<string, string> {
	return { [RUNNER_MODULE]: runnerSource(main), [FETCH_MODULE]: FETCH_SOURCE };
}

const FETCH_SOURCE = `// SMCP: fetch goes through the per-call host (counted, audited, limited to the app's hosts).
import { AsyncLocalStorage } from "node:async_hooks";
export const current = new AsyncLocalStorage();
export async function routedFetch(input, init) {
	const host = current.getStore();
	if (!host) throw new TypeError("fetch is only available while a tool call runs");
	const request = new Request(input, init);
	const body = request.body === null ? null : await request.arrayBuffer();
	const answer = await host.fetch({ url: request.url, method: request.method, headers: [...request.headers], body });
	if (!answer.ok) throw new TypeError(answer.error);
	return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
}
Object.defineProperty(globalThis, "fetch", { value: routedFetch, writable: false, configurable: false, enumerable: true });
`;

function runnerSource(main: string): string {
	return `// SMCP runner (added by the platform; not part of the app).
import { current, routedFetch } from "./${FETCH_MODULE}";
import { WorkerEntrypoint } from "cloudflare:workers";
import { __smcp_begin } from "./${GUARD_MODULE}";
import app from ${JSON.stringify(`./${main}`)};

const LEVELS = new Set(["debug", "info", "warn", "error"]);
const tools = app && typeof app === "object" && app.tools && typeof app.tools === "object" ? app.tools : {};

function jsonProblem(value, path, depth, seen) {
	if (depth > 64) return "a value nested deeper than 64 levels at " + path;
	const t = typeof value;
	if (t === "string" || t === "boolean" || value === null) return null;
	if (t === "number") return Number.isFinite(value) ? null : "a non-finite number at " + path;
	if (t === "undefined") return depth === 0 ? null : "undefined at " + path;
	if (t !== "object") return "a " + t + " at " + path;
	if (seen.has(value)) return "a cycle at " + path;
	const proto = Object.getPrototypeOf(value);
	if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return "an instance of " + (value.constructor && value.constructor.name || "a class") + " at " + path;
	seen.add(value);
	try {
		if (Array.isArray(value)) {
			for (let i = 0; i < value.length; i++) {
				const p = value[i] === undefined ? "undefined at " + path + "[" + i + "]" : jsonProblem(value[i], path + "[" + i + "]", depth + 1, seen);
				if (p) return p;
			}
			return null;
		}
		for (const k of Object.keys(value)) {
			if (value[k] === undefined) continue;
			const p = jsonProblem(value[k], path + "." + k.slice(0, 40), depth + 1, seen);
			if (p) return p;
		}
		return null;
	} finally {
		seen.delete(value);
	}
}

function storage(host) {
	const run = async (op) => {
		const r = await host.storage(op);
		if (!r.ok) throw new Error(r.error);
		return r.value;
	};
	return Object.freeze({
		get: async (key) => { const v = await run({ op: "get", key: String(key) }); return v === null ? undefined : JSON.parse(v); },
		put: async (key, value) => {
			const p = jsonProblem(value, "$", 0, new Set());
			if (p || value === undefined) throw new TypeError("storage.put: store JSON values only (" + (p || "undefined") + ")");
			await run({ op: "put", key: String(key), value: JSON.stringify(value) });
		},
		delete: async (key) => run({ op: "delete", key: String(key) }),
		list: async (prefix = "") => run({ op: "list", prefix: String(prefix) }),
	});
}

export default class SmcpRunner extends WorkerEntrypoint {
	describe() {
		return { tools: Object.keys(tools) };
	}

	async call(tool, args, host, info) {
		const handler = Object.prototype.hasOwnProperty.call(tools, tool) ? tools[tool] : undefined;
		if (typeof handler !== "function") return { ok: false, kind: "unknown_tool", message: "the app has no handler for this tool" };
		const secrets = Object.freeze({ ...info.secrets });
		const present = new Set(info.present);
		const ctx = Object.freeze({
			storage: storage(host),
			secrets: Object.freeze({
				has: (name) => present.has(name),
				get: (name) => (Object.prototype.hasOwnProperty.call(secrets, name) ? secrets[name] : undefined),
			}),
			log: (level, message, fields) => {
				const l = LEVELS.has(level) ? level : "info";
				console[l === "debug" ? "debug" : l](fields === undefined ? String(message) : String(message) + " " + JSON.stringify(fields));
			},
			fetch: routedFetch,
		});
		__smcp_begin(info.deadline);
		return current.run(host, async () => {
			let value;
			try {
				value = await handler(args, ctx);
			} catch (e) {
				const name = e && typeof e === "object" && typeof e.name === "string" ? e.name : "Error";
				const message = e && typeof e === "object" && typeof e.message === "string" ? e.message : String(e);
				if (name !== "AppError") console.error("the tool threw " + name + ": " + message.slice(0, 2000));
				return { ok: false, kind: "threw", name: name.slice(0, 64), message: message.slice(0, 4096) };
			}
			// A long string is refused by its length, before anything flattens or copies it.
			if (typeof value === "string" && value.length > info.maxResultBytes) {
				return { ok: false, kind: "too_large", message: "the result is over " + info.maxResultBytes + " bytes (limits.maxResultBytes): return less, or page through it" };
			}
			const problem = jsonProblem(value, "$", 0, new Set());
			if (problem) return { ok: false, kind: "not_json", message: "the tool returned " + problem + ": return JSON values only" };
			if (value === undefined) return { ok: true };
			const json = JSON.stringify(value);
			if (json.length > info.maxResultBytes) {
				return { ok: false, kind: "too_large", message: "the result is over " + info.maxResultBytes + " bytes (limits.maxResultBytes): return less, or page through it" };
			}
			return { ok: true, json };
		});
	}
}
`;
}
