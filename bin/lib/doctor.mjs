/**
 * @module bin/lib/doctor
 * `smcp doctor URL`: checks a deployment from the outside, the way an MCP client meets it, and
 * prints one pass/fail line per check. With a bearer (`SMCP_TOKEN`, e.g. an API key) it also opens
 * an MCP session and checks that SSE events arrive while the stream is open (no buffering proxy).
 */

/**
 * @typedef {{ name: string, ok: boolean | null, detail: string }} Check
 */

/**
 * Runs every check against `base`.
 * @param {string} base deployment origin
 * @param {{ token?: string, timeoutMs?: number }} [opts]
 * @returns {Promise<Check[]>}
 */
export async function doctor(base, opts = {}) {
	const origin = new URL(base).origin;
	const timeout = opts.timeoutMs ?? 10_000;
	/** @type {Check[]} */
	const checks = [];
	const check = (name, ok, detail = "") => checks.push({ name, ok, detail });
	const get = (path, init = {}) => fetch(`${origin}${path}`, { ...init, signal: AbortSignal.timeout(timeout) });

	let prm = null;
	try {
		const res = await get("/.well-known/oauth-protected-resource");
		prm = res.ok ? await res.json() : null;
		check("protected-resource metadata (RFC 9728)", !!prm?.resource, prm ? `resource ${prm.resource}` : `HTTP ${res.status}`);
	} catch (e) {
		check("protected-resource metadata (RFC 9728)", false, String(e?.message ?? e));
	}
	let as = null;
	try {
		const res = await get("/.well-known/oauth-authorization-server");
		as = res.ok ? await res.json() : null;
		check("authorization-server metadata (RFC 8414)", !!as?.issuer, as ? `issuer ${as.issuer}` : `HTTP ${res.status}`);
	} catch (e) {
		check("authorization-server metadata (RFC 8414)", false, String(e?.message ?? e));
	}
	if (prm && as) {
		const problems = [];
		if (new URL(prm.resource).origin !== origin) problems.push(`resource ${prm.resource} is not on ${origin}`);
		if (!(prm.authorization_servers ?? []).includes(as.issuer)) problems.push("resource metadata does not list the issuer");
		for (const k of ["authorization_endpoint", "token_endpoint"])
			if (!as[k] || new URL(as[k]).origin !== new URL(as.issuer).origin) problems.push(`${k} is missing or on another origin`);
		if (!(as.code_challenge_methods_supported ?? []).includes("S256")) problems.push("PKCE S256 not advertised");
		if (!origin.startsWith("https:") && !/^http:\/\/(127\.|localhost|\[::1\])/.test(origin)) problems.push("not https");
		check("metadata consistency", problems.length === 0, problems.join("; ") || "resource, issuer and endpoints agree");
	} else check("metadata consistency", false, "metadata missing");

	for (const [path, method] of [
		["/mcp", "POST"],
		["/sse", "GET"],
	]) {
		try {
			const res = await get(path, { method });
			const challenge = res.headers.get("WWW-Authenticate") ?? "";
			const ok = res.status === 401 && /^Bearer /.test(challenge) && challenge.includes("resource_metadata=");
			check(`${path} reachable with a 401 challenge`, ok, ok ? challenge.slice(0, 120) : `HTTP ${res.status} ${challenge.slice(0, 80)}`);
		} catch (e) {
			check(`${path} reachable with a 401 challenge`, false, String(e?.message ?? e));
		}
	}

	try {
		const res = await get("/mcp", {
			method: "OPTIONS",
			headers: {
				Origin: origin,
				"Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "authorization, content-type, mcp-session-id, mcp-protocol-version",
			},
		});
		const allow = res.headers.get("Access-Control-Allow-Origin");
		const ok = res.status < 300 && allow === origin;
		check("CORS preflight", ok, ok ? `allows ${allow}` : `HTTP ${res.status}, Access-Control-Allow-Origin ${allow}`);
	} catch (e) {
		check("CORS preflight", false, String(e?.message ?? e));
	}

	if (!opts.token) {
		check("MCP session with a token", null, "skipped: set SMCP_TOKEN (an API key) to check");
		check("SSE not buffered", null, "skipped: set SMCP_TOKEN");
		return checks;
	}
	const auth = { Authorization: `Bearer ${opts.token}` };
	try {
		const res = await get("/mcp", {
			method: "POST",
			headers: { ...auth, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
			body: JSON.stringify({
				jsonrpc: "2.0",
				id: 1,
				method: "initialize",
				params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "smcp-doctor", version: "1" } },
			}),
		});
		const body = res.ok ? await res.json() : null;
		check(
			"MCP session with a token",
			!!body?.result?.serverInfo && !!res.headers.get("Mcp-Session-Id"),
			body ? `server ${body.result.serverInfo.name}, revision ${body.result.protocolVersion}` : `HTTP ${res.status}`,
		);
	} catch (e) {
		check("MCP session with a token", false, String(e?.message ?? e));
	}
	try {
		// The first event (`endpoint`) must arrive while the stream stays open: a buffering proxy
		// holds it until the stream ends, which breaks every SSE client.
		const controller = new AbortController();
		const started = Date.now();
		const res = await fetch(`${origin}/sse`, { headers: { ...auth, Accept: "text/event-stream" }, signal: controller.signal });
		const reader = res.body.getReader();
		const first = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r(null), timeout))]);
		const ok = res.ok && first && !first.done && new TextDecoder().decode(first.value).includes("event: endpoint");
		check(
			"SSE not buffered",
			!!ok,
			ok ? `first event after ${Date.now() - started} ms, stream still open` : `HTTP ${res.status}, no event within ${timeout} ms`,
		);
		controller.abort();
	} catch (e) {
		check("SSE not buffered", false, String(e?.message ?? e));
	}
	return checks;
}
