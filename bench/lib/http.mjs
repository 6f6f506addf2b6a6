/**
 * @module bench/lib/http
 * A small HTTP/1.1 client over `node:http` for the load generator: keep-alive connections (one
 * per session under load, like a real client), whole-body requests, and long-lived SSE streams.
 * Cheaper per request than `fetch`, so the client steals less CPU from the server on a small
 * machine. Loopback only: every URL is checked.
 */
import http from "node:http";

/** Keep-alive pool for request/response exchanges. */
const pool = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: "lifo" });

/**
 * @typedef {{ status: number, headers: http.IncomingHttpHeaders, body: string }} HttpResponse
 * @typedef {{ event: string, data: string, id?: string }} SseEvent
 */

/**
 * Refuses anything but loopback: the benchmark never sends traffic off the machine.
 * @param {URL} url
 */
export function assertLoopback(url) {
	if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname)) throw new Error(`bench: refusing non-loopback URL ${url.origin}`);
}

/**
 * One request; resolves with the whole body. A keep-alive connection the server closed while it
 * sat idle in the pool fails on reuse with ECONNRESET before the server read the request (the
 * race Node's documentation describes for `request.reusedSocket`): that request is sent once
 * more, on a new connection.
 * @param {URL} url
 * @param {{ method?: string, headers?: Record<string, string>, body?: string, timeoutMs?: number }} [opts]
 * @returns {Promise<HttpResponse>}
 */
export function request(url, opts = {}) {
	assertLoopback(url);
	return send(url, opts, pool).catch((/** @type {NodeJS.ErrnoException & { reusedSocket?: boolean }} */ e) => {
		if (e.code === "ECONNRESET" && e.reusedSocket) return send(url, opts, false);
		throw e;
	});
}

/**
 * @param {URL} url
 * @param {{ method?: string, headers?: Record<string, string>, body?: string, timeoutMs?: number }} opts
 * @param {http.Agent | false} agent
 * @returns {Promise<HttpResponse>}
 */
function send(url, opts, agent) {
	const headers = { ...opts.headers };
	if (opts.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(opts.body));
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ hostname: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method ?? "GET", headers, agent },
			(res) => {
				/** @type {Buffer[]} */
				const chunks = [];
				res.on("data", (c) => chunks.push(c));
				res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
				res.on("error", reject);
			},
		);
		req.setTimeout(opts.timeoutMs ?? 30_000, () =>
			req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 30_000} ms: ${opts.method ?? "GET"} ${url.pathname}`)),
		);
		req.on("error", (e) => reject(Object.assign(e, { reusedSocket: req.reusedSocket })));
		req.end(opts.body);
	});
}

/**
 * Parses a whole `text/event-stream` body into events.
 * @param {string} text
 * @returns {SseEvent[]}
 */
export function parseSse(text) {
	const parser = sseParser();
	const out = parser.push(text);
	return out.concat(parser.push("\n\n"));
}

/** An incremental SSE parser (WHATWG HTML §9.2.6, the parts MCP uses). */
export function sseParser() {
	let buffer = "";
	return {
		/**
		 * @param {string} chunk
		 * @returns {SseEvent[]}
		 */
		push(chunk) {
			buffer += chunk.replace(/\r\n?/g, "\n");
			/** @type {SseEvent[]} */
			const events = [];
			let end;
			while ((end = buffer.indexOf("\n\n")) >= 0) {
				const block = buffer.slice(0, end);
				buffer = buffer.slice(end + 2);
				let event = "message";
				/** @type {string[]} */
				const data = [];
				/** @type {string | undefined} */
				let id;
				for (const line of block.split("\n")) {
					if (line.startsWith(":")) continue;
					const colon = line.indexOf(":");
					const field = colon < 0 ? line : line.slice(0, colon);
					const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
					if (field === "event") event = value;
					else if (field === "data") data.push(value);
					else if (field === "id") id = value;
				}
				if (data.length > 0) events.push({ event, data: data.join("\n"), ...(id ? { id } : {}) });
			}
			return events;
		},
	};
}

/**
 * Opens a long-lived SSE stream on its own connection; `onEvent` gets every event.
 * @param {URL} url
 * @param {{ headers?: Record<string, string>, onEvent: (e: SseEvent) => void }} opts
 * @returns {Promise<{ status: number, close: () => void, closed: Promise<void> }>}
 */
export function openSse(url, opts) {
	assertLoopback(url);
	return new Promise((resolve, reject) => {
		const req = http.request(
			{
				hostname: url.hostname,
				port: url.port,
				path: url.pathname + url.search,
				method: "GET",
				headers: { Accept: "text/event-stream", ...opts.headers },
				agent: false,
			},
			(res) => {
				res.setEncoding("utf8");
				const parser = sseParser();
				/** @type {() => void} */
				let done = () => {};
				const closed = new Promise((r) => (done = () => r(undefined)));
				res.on("data", (chunk) => {
					for (const e of parser.push(chunk)) opts.onEvent(e);
				});
				res.on("end", done);
				res.on("close", done);
				res.on("error", done);
				resolve({ status: res.statusCode ?? 0, close: () => req.destroy(), closed });
			},
		);
		req.on("error", reject);
		req.end();
	});
}
