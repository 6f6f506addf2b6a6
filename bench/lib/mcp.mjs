/**
 * @module bench/lib/mcp
 * The load generator's MCP clients, written against the wire (no SDK client, so the client's own
 * cost stays small and equal for every server):
 *
 * - {@link StreamableSession}: Streamable HTTP, 2025 era — `initialize` (the session id comes back
 *   in `Mcp-Session-Id`), `notifications/initialized`, then `tools/call` with `Mcp-Session-Id` and
 *   `MCP-Protocol-Version`; answers may be JSON or SSE.
 * - {@link SseSession}: HTTP+SSE (2024-11-05) — `GET /sse`, the `endpoint` event, POSTs to
 *   `/sse/message?sessionId=…`, every answer on the stream.
 * - {@link ModernClient}: the stateless 2026-07-28 lane — no session; every POST carries
 *   `MCP-Protocol-Version: 2026-07-28`, `Mcp-Method`, `Mcp-Name` and the per-request `_meta`.
 *
 * A call "succeeds" only when the answer is a JSON-RPC result that is not a tool error
 * (`isError`), so a rate-limited or refused call is counted as an error, never as throughput.
 */
import { openSse, parseSse, request } from "./http.mjs";

export const LEGACY_REVISION = "2025-11-25";
export const MODERN_REVISION = "2026-07-28";
const CLIENT_INFO = { name: "smcp-bench", version: "1.0.0" };

/**
 * @typedef {{ ok: boolean, error?: string, result?: any }} CallOutcome
 * @typedef {{ initialize(): Promise<void>, call(name: string, args: Record<string, unknown>): Promise<CallOutcome>, close(): Promise<void> }} McpClient
 */

/**
 * Classifies a JSON-RPC answer.
 * @param {any} message
 * @returns {CallOutcome}
 */
export function outcomeOf(message) {
	if (!message || typeof message !== "object") return { ok: false, error: "no answer" };
	if (message.error) return { ok: false, error: `rpc ${message.error.code}: ${String(message.error.message).slice(0, 120)}` };
	const result = message.result;
	if (!result) return { ok: false, error: "no result" };
	if (result.isError) return { ok: false, error: `tool error: ${String(result.content?.[0]?.text ?? "").slice(0, 120)}` };
	if (result.resultType && result.resultType !== "complete") return { ok: false, error: `resultType ${result.resultType}` };
	return { ok: true, result };
}

/**
 * The JSON-RPC answer with `id` in an HTTP response (JSON body or SSE stream).
 * @param {import("./http.mjs").HttpResponse} res
 * @param {number} id
 */
function answerIn(res, id) {
	const type = String(res.headers["content-type"] ?? "");
	if (type.startsWith("text/event-stream")) {
		for (const e of parseSse(res.body)) {
			const m = safeJson(e.data);
			if (m && m.id === id && ("result" in m || "error" in m)) return m;
		}
		return null;
	}
	return safeJson(res.body);
}

/** @param {string} text */
function safeJson(text) {
	try {
		return JSON.parse(text);
	} catch {
		return null;
	}
}

/** @param {string} token */
const bearer = (token) => ({ Authorization: `Bearer ${token}` });

/** A Streamable HTTP session (2025 era). */
export class StreamableSession {
	/** @type {string | undefined} */
	sessionId;
	#nextId = 1;
	#url;
	#token;

	/**
	 * @param {string} origin
	 * @param {string} token
	 * @param {string} [path]
	 */
	constructor(origin, token, path = "/mcp") {
		this.#url = new URL(path, origin);
		this.#token = token;
	}

	/** @param {Record<string, string>} extra */
	#headers(extra = {}) {
		return {
			...bearer(this.#token),
			"Content-Type": "application/json",
			Accept: "application/json, text/event-stream",
			...(this.sessionId ? { "Mcp-Session-Id": this.sessionId, "MCP-Protocol-Version": LEGACY_REVISION } : {}),
			...extra,
		};
	}

	async initialize() {
		const id = this.#nextId++;
		const body = JSON.stringify({
			jsonrpc: "2.0",
			id,
			method: "initialize",
			params: { protocolVersion: LEGACY_REVISION, capabilities: {}, clientInfo: CLIENT_INFO },
		});
		const res = await request(this.#url, { method: "POST", headers: this.#headers(), body });
		const sid = res.headers["mcp-session-id"];
		const answer = outcomeOf(answerIn(res, id));
		if (res.status !== 200 || typeof sid !== "string" || !answer.ok)
			throw new Error(`initialize failed: HTTP ${res.status} ${answer.error ?? ""} ${res.body.slice(0, 200)}`);
		this.sessionId = sid;
		const note = await request(this.#url, {
			method: "POST",
			headers: this.#headers(),
			body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
		});
		if (note.status !== 202 && note.status !== 200) throw new Error(`notifications/initialized: HTTP ${note.status}`);
	}

	/**
	 * @param {string} name
	 * @param {Record<string, unknown>} args
	 * @returns {Promise<CallOutcome>}
	 */
	async call(name, args) {
		const id = this.#nextId++;
		const body = JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });
		const res = await request(this.#url, { method: "POST", headers: this.#headers(), body });
		if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}` };
		return outcomeOf(answerIn(res, id));
	}

	/** `DELETE` the session (servers that do not support it answer 405; that is fine). */
	async close() {
		if (!this.sessionId) return;
		await request(this.#url, { method: "DELETE", headers: this.#headers() }).catch(() => undefined);
	}
}

/** An HTTP+SSE session (2024-11-05): answers arrive on the GET stream. */
export class SseSession {
	#origin;
	#token;
	#nextId = 1;
	/** @type {Map<number, (m: any) => void>} */
	#waiting = new Map();
	/** @type {URL | undefined} */
	#endpoint;
	/** @type {(() => void) | undefined} */
	#closeStream;

	/**
	 * @param {string} origin
	 * @param {string} token
	 */
	constructor(origin, token) {
		this.#origin = origin;
		this.#token = token;
	}

	async initialize() {
		/** @type {(u: string) => void} */
		let gotEndpoint = () => {};
		const endpoint = new Promise((resolve) => (gotEndpoint = resolve));
		const stream = await openSse(new URL("/sse", this.#origin), {
			headers: bearer(this.#token),
			onEvent: (e) => {
				if (e.event === "endpoint") return gotEndpoint(e.data);
				if (e.event !== "message") return;
				const m = safeJson(e.data);
				const waiter = m && typeof m.id === "number" ? this.#waiting.get(m.id) : undefined;
				if (waiter && ("result" in m || "error" in m)) {
					this.#waiting.delete(m.id);
					waiter(m);
				}
			},
		});
		if (stream.status !== 200) throw new Error(`GET /sse: HTTP ${stream.status}`);
		this.#closeStream = stream.close;
		stream.closed.then(() => {
			for (const w of this.#waiting.values()) w(null);
			this.#waiting.clear();
		});
		this.#endpoint = new URL(await withTimeout(endpoint, 10_000, "endpoint event"), this.#origin);
		const init = outcomeOf(await this.#send("initialize", { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: CLIENT_INFO }));
		if (!init.ok) throw new Error(`SSE initialize failed: ${init.error}`);
		await this.#post({ jsonrpc: "2.0", method: "notifications/initialized" });
	}

	/** @param {object} message */
	async #post(message) {
		if (!this.#endpoint) throw new Error("SSE session not open");
		const res = await request(this.#endpoint, {
			method: "POST",
			headers: { ...bearer(this.#token), "Content-Type": "application/json" },
			body: JSON.stringify(message),
		});
		if (res.status !== 202 && res.status !== 200)
			throw new Error(`POST ${this.#endpoint.pathname}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
	}

	/**
	 * @param {string} method
	 * @param {object} params
	 */
	async #send(method, params) {
		const id = this.#nextId++;
		const answer = new Promise((resolve) => this.#waiting.set(id, resolve));
		await this.#post({ jsonrpc: "2.0", id, method, params });
		return withTimeout(answer, 30_000, `${method} answer on the SSE stream`);
	}

	/**
	 * @param {string} name
	 * @param {Record<string, unknown>} args
	 * @returns {Promise<CallOutcome>}
	 */
	async call(name, args) {
		try {
			return outcomeOf(await this.#send("tools/call", { name, arguments: args }));
		} catch (e) {
			return { ok: false, error: e instanceof Error ? e.message.slice(0, 120) : "error" };
		}
	}

	async close() {
		this.#closeStream?.();
	}
}

/** The stateless 2026-07-28 lane: no session, everything in each request. */
export class ModernClient {
	#url;
	#token;
	#nextId = 1;

	/**
	 * @param {string} origin
	 * @param {string} token
	 */
	constructor(origin, token) {
		this.#url = new URL("/mcp", origin);
		this.#token = token;
	}

	async initialize() {}

	/**
	 * @param {string} name
	 * @param {Record<string, unknown>} args
	 * @returns {Promise<CallOutcome>}
	 */
	async call(name, args) {
		const { id, res } = await this.#post("tools/call", { name, arguments: args }, { "Mcp-Name": name });
		if (res.status !== 200) return { ok: false, error: `HTTP ${res.status} ${res.body.slice(0, 120)}` };
		return outcomeOf(answerIn(res, id));
	}

	/** `server/discover`: answered by the front Worker alone (no Durable Object). */
	async discover() {
		const { id, res } = await this.#post("server/discover", {});
		if (res.status !== 200) return { ok: false, error: `HTTP ${res.status} ${res.body.slice(0, 120)}` };
		const answer = answerIn(res, id);
		return answer?.result ? { ok: true } : { ok: false, error: JSON.stringify(answer).slice(0, 160) };
	}

	/**
	 * One 2026-07-28 request: the per-request `_meta` envelope and the standard headers.
	 * @param {string} method
	 * @param {Record<string, unknown>} params
	 * @param {Record<string, string>} [headers]
	 */
	async #post(method, params, headers = {}) {
		const id = this.#nextId++;
		const body = JSON.stringify({
			jsonrpc: "2.0",
			id,
			method,
			params: {
				...params,
				_meta: { "io.modelcontextprotocol/protocolVersion": MODERN_REVISION, "io.modelcontextprotocol/clientCapabilities": {} },
			},
		});
		const res = await request(this.#url, {
			method: "POST",
			headers: {
				...bearer(this.#token),
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
				"MCP-Protocol-Version": MODERN_REVISION,
				"Mcp-Method": method,
				...headers,
			},
			body,
		});
		return { id, res };
	}

	async close() {}
}

/**
 * @template T
 * @param {Promise<T>} p
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
function withTimeout(p, ms, what) {
	/** @type {NodeJS.Timeout | undefined} */
	let timer;
	return Promise.race([
		p,
		new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))),
	]).finally(() => clearTimeout(timer));
}
