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
 */
import { errorBody } from "../../shared/mcp/jsonrpc";
import type { Config } from "../../shared/config";

/** Outcome of the guard: a response to send now, or the request to pass on (body buffered). */
export type GuardResult = { stop: Response } | { request: Request };

function forbidden(): Response {
	// JSON-RPC error without id (the request is refused before it is read).
	return new Response(errorBody(-32000, "Forbidden"), { status: 403, headers: { "Content-Type": "application/json" } });
}

/** Reads a body up to `max` bytes; null when it is larger. */
export async function readCapped(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | null> {
	const reader = body.getReader();
	const parts: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
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
	const origin = request.headers.get("Origin");
	// A request without Origin is a non-browser client and passes (SDK "accept requests without origin").
	if (origin !== null && !config.allowedOrigins.has(origin)) return { stop: forbidden() };

	if (!request.body) return { request };
	const declared = Number(request.headers.get("Content-Length") ?? "0");
	if (declared > config.maxBodyBytes) return { stop: tooLarge() };
	const body = await readCapped(request.body, config.maxBodyBytes);
	if (!body) return { stop: tooLarge() };
	const headers = new Headers(request.headers);
	headers.delete("Transfer-Encoding");
	headers.set("Content-Length", String(body.byteLength));
	return { request: new Request(request.url, { method: request.method, headers, body, redirect: "manual" }) };
}

function tooLarge(): Response {
	return new Response(errorBody(-32600, "Request body too large"), {
		status: 413,
		headers: { "Content-Type": "application/json", Connection: "close" },
	});
}
