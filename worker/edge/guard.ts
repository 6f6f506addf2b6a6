/**
 * @module worker/edge/guard
 * worker/edge/ (entry: this module) owns what runs before authentication: the Host/Origin/body
 * guard, the pre-auth limiter, the request log and the verified-token cache. It may import
 * shared/ and npm packages only.
 *
 * The first layer of every request, before OAuth and before any Durable Object:
 * Host allow-list (DNS rebinding), Origin allow-list (streamable-http §"Security Warning":
 * servers MUST validate Origin and answer 403 when it is present and invalid), and the body cap.
 *
 * The body cap counts bytes as they arrive rather than trusting `Content-Length`, so a chunked
 * body without a length, or a small `Content-Length` with a larger chunked body, is refused with
 * 413 and the handler never runs (the Hono chunked-body bypasses, docs/security.md attack 6).
 *
 * Two more malformed shapes end here with a 400, before anything else reads the request: a `GET`
 * or `HEAD` that carries a body (RFC 9110 §9.3.1: content in a GET "has no generally defined
 * semantics" and "might lead some implementations to reject the request"; the runtime cannot even
 * rebuild such a request), and a body that fails while it is read (malformed chunked encoding, a
 * client that goes away mid-body). Neither is a fault of the server, so neither is logged as one.
 */
import { errorBody } from "../../shared/mcp/jsonrpc";
import type { Config } from "../../shared/config";

/** Outcome of the guard: a response to send now, or the request to pass on (body buffered). */
export type GuardResult = { stop: Response } | { request: Request };

function forbidden(): Response {
	// JSON-RPC error without id (the request is refused before it is read).
	return new Response(errorBody(-32000, "Forbidden"), { status: 403, headers: { "Content-Type": "application/json" } });
}

/**
 * `wrangler dev` answers on `localhost` and `127.0.0.1` alike, but OAuth knows one resource: a
 * client that connects to the other name signs in, gets tokens for the wrong audience and then
 * fails every call ("Token audience does not match resource server"). So the alias is refused
 * before any sign-in, with the URL to use (RFC 9110 §15.5.20, 421 Misdirected Request); the
 * account and landing pages simply redirect there. In a deployment the alias does not exist.
 */
function wrongName(request: Request, origin: string): Response {
	const path = new URL(request.url).pathname;
	if ((request.method === "GET" || request.method === "HEAD") && (path === "/" || path === "/account")) {
		return new Response(null, { status: 307, headers: { Location: `${origin}${path}`, "Cache-Control": "no-store" } });
	}
	const message = `This server answers at ${origin} only (the same server under another name would give your client tokens it cannot use). Connect your client to ${origin}/mcp.`;
	const headers = { "Content-Type": "application/json", "Cache-Control": "no-store" };
	const mcp = path === "/mcp" || path.startsWith("/sse");
	const body = mcp ? errorBody(-32000, message) : JSON.stringify({ error: "invalid_request", error_description: message });
	if (path === "/authorize" && request.method === "GET") {
		const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Use ${origin}</title></head><body><h1>Use ${origin}</h1><p>${message}</p></body></html>`;
		return new Response(html, {
			status: 421,
			headers: {
				"Content-Type": "text/html; charset=utf-8",
				"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
				"Cache-Control": "no-store",
			},
		});
	}
	return new Response(body, { status: 421, headers });
}

/** 400 with a JSON-RPC error without id; the connection is not reused (its framing may be broken). */
function badRequest(message: string): Response {
	return new Response(errorBody(-32600, message), { status: 400, headers: { "Content-Type": "application/json", Connection: "close" } });
}

/** What {@link readCapped} returns when the body could not be read to its end. */
export const UNREADABLE: unique symbol = Symbol("unreadable body");

/**
 * Reads a body up to `max` bytes; null when it is larger, {@link UNREADABLE} when the stream fails
 * first (malformed chunked encoding, a client that disconnected mid-body).
 */
export async function readCapped(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | null | typeof UNREADABLE> {
	const reader = body.getReader();
	const parts: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		let chunk: ReadableStreamReadResult<Uint8Array>;
		try {
			chunk = await reader.read();
		} catch {
			return UNREADABLE;
		}
		const { done, value } = chunk;
		if (done) break;
		size += value.byteLength;
		if (size > max) {
			await reader.cancel().catch(() => {});
			return null;
		}
		parts.push(value);
	}
	const out = new Uint8Array(size);
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.byteLength;
	}
	return out;
}

/**
 * Applies the guard.
 *
 * @example
 * ```ts
 * const g = await guard(request, resolveConfig(env));
 * if ("stop" in g) return g.stop;
 * return provider.fetch(g.request, env, ctx);
 * ```
 */
export async function guard(request: Request, config: Config): Promise<GuardResult> {
	const host = request.headers.get("Host") ?? new URL(request.url).host;
	if (!config.allowedHosts.has(host.toLowerCase())) return { stop: forbidden() };
	if (host.toLowerCase() !== new URL(config.origin).host) return { stop: wrongName(request, config.origin) };
	const origin = request.headers.get("Origin");
	// A request without Origin is a non-browser client and passes (SDK "accept requests without origin").
	if (origin !== null && !config.allowedOrigins.has(origin)) return { stop: forbidden() };

	if (!request.body) return { request };
	const bodiless = request.method === "GET" || request.method === "HEAD";
	const declared = Number(request.headers.get("Content-Length") ?? "0");
	if (bodiless && declared > 0) return { stop: badRequest(NO_BODY) };
	if (declared > config.maxBodyBytes) return { stop: tooLarge() };
	const body = await readCapped(request.body, bodiless ? 0 : config.maxBodyBytes);
	if (body === UNREADABLE) return { stop: badRequest("Bad Request: the request body could not be read (malformed or incomplete)") };
	if (!body) return { stop: bodiless ? badRequest(NO_BODY) : tooLarge() };
	const headers = new Headers(request.headers);
	headers.delete("Transfer-Encoding");
	// An empty GET or HEAD body (a zero-length chunked stream) is dropped: such a request has none.
	if (bodiless) {
		headers.delete("Content-Length");
		return { request: new Request(request.url, { method: request.method, headers, redirect: "manual" }) };
	}
	headers.set("Content-Length", String(body.byteLength));
	return { request: new Request(request.url, { method: request.method, headers, body, redirect: "manual" }) };
}

const NO_BODY = "Bad Request: GET and HEAD requests take no body";

function tooLarge(): Response {
	return new Response(errorBody(-32600, "Request body too large"), {
		status: 413,
		headers: { "Content-Type": "application/json", Connection: "close" },
	});
}
