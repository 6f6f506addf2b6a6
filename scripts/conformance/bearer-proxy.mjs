/**
 * @module scripts/conformance/bearer-proxy
 * A loopback reverse proxy for the conformance run. The official suite's server scenarios connect
 * without credentials, while SMCP answers every MCP request without a bearer token with 401; this
 * proxy stands in front of SMCP like an authorised client's HTTP stack would:
 *
 * - it adds `Authorization: Bearer <token>` (a token SMCP issued through its real OAuth flow);
 * - it maps its own origin to SMCP's: `Host: <proxy host>` becomes SMCP's host (the OAuth
 *   provider checks the token's audience against it, and the guard's Host allow-list accepts only
 *   it) and `Origin: <proxy origin>` becomes SMCP's origin.
 *
 * Any other `Host` or `Origin` passes unchanged, so SMCP's own DNS-rebinding and Origin checks are
 * what the suite's `dns-rebinding-protection` scenario observes. Bodies and SSE streams are piped
 * as they arrive (no buffering), so progress, elicitation and sampling travel as they would.
 */
import { request as httpRequest, createServer } from "node:http";

/**
 * Starts the proxy on 127.0.0.1 (a free port).
 *
 * @param {{ target: string; token: string }} opts SMCP's origin and the bearer token to inject
 * @returns {Promise<{ origin: string; close(): Promise<void> }>}
 *
 * @example
 * ```js
 * const proxy = await startBearerProxy({ target: "http://127.0.0.1:8787", token });
 * // the suite now talks to `${proxy.origin}/mcp`
 * await proxy.close();
 * ```
 */
export async function startBearerProxy(opts) {
	const target = new URL(opts.target);
	if (target.protocol !== "http:" || !["127.0.0.1", "localhost", "[::1]"].includes(target.hostname)) {
		throw new TypeError(`bearer proxy: the target must be a loopback http origin, got ${opts.target}`);
	}
	let self = "";
	const server = createServer((req, res) => {
		const headers = { ...req.headers };
		if (headers.host === self) headers.host = target.host;
		if (headers.origin === `http://${self}`) headers.origin = target.origin;
		headers.authorization = `Bearer ${opts.token}`;
		const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
			res.writeHead(answer.statusCode ?? 502, answer.headers);
			answer.pipe(res);
		});
		upstream.on("error", () => {
			if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
			res.end("bearer proxy: SMCP did not answer");
		});
		// A client that goes away (the suite closing a stream) ends the upstream request too.
		res.on("close", () => upstream.destroy());
		req.pipe(upstream);
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	if (!address || typeof address !== "object") throw new Error("bearer proxy: no address");
	self = `127.0.0.1:${address.port}`;
	return {
		origin: `http://${self}`,
		close: () =>
			new Promise((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
