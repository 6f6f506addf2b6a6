/**
 * The network layer in front of everything: Host/Origin allow-lists, CORS, body cap.
 * Scenarios trace to the attack catalog in docs/security.md §1.
 */
import { listDurableObjectIds } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { INIT, ORIGIN, rawPost, selfFetch, signedIn, testEnv } from "./helpers";

describe("Origin and Host", () => {
	it("an Origin that is not allowlisted → 403 JSON-RPC error without id, and no Durable Object is touched", async () => {
		const { tokens } = await signedIn();
		const before = (await listDurableObjectIds(testEnv.SESSIONS)).length;
		const res = await rawPost(tokens.access_token, INIT, { Origin: "https://evil.example" });
		expect(res.status).toBe(403);
		const body = (await res.json()) as Record<string, unknown>;
		expect(body.id).toBeNull();
		expect(body.error).toBeTruthy();
		expect((await listDurableObjectIds(testEnv.SESSIONS)).length).toBe(before);
	});

	it("DNS rebinding: a disallowed Host → 403", async () => {
		const res = await selfFetch(`${ORIGIN}/mcp`, { method: "POST", headers: { Host: "attacker.example:8787" } });
		expect(res.status).toBe(403);
	});

	it("no Origin header (a non-browser client) with a valid token is accepted", async () => {
		const { tokens } = await signedIn();
		expect((await rawPost(tokens.access_token, INIT)).status).toBe(200);
	});

	it("CORS: an allowed Origin is echoed, never '*' alongside Authorization, and mcp-session-id is exposed", async () => {
		const { tokens } = await signedIn();
		const res = await rawPost(tokens.access_token, INIT, { Origin: ORIGIN });
		expect(res.status).toBe(200);
		expect(res.headers.get("Access-Control-Allow-Origin")).toBe(ORIGIN);
		expect((res.headers.get("Access-Control-Expose-Headers") ?? "").toLowerCase()).toContain("mcp-session-id");
		const pre = await selfFetch(`${ORIGIN}/mcp`, {
			method: "OPTIONS",
			headers: {
				Origin: ORIGIN,
				"Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "authorization, mcp-session-id",
			},
		});
		expect(pre.headers.get("Access-Control-Allow-Origin")).not.toBe("*");
		const evil = await selfFetch(`${ORIGIN}/mcp`, {
			method: "OPTIONS",
			headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
		});
		expect(evil.status).toBe(403);
		expect(evil.headers.get("Access-Control-Allow-Origin")).toBeNull();
	});
});

describe("body cap", () => {
	const big = "x".repeat(4 * 1024 * 1024 + 10);

	it("a body over the limit with Content-Length → 413 before JSON parse and before any DO call", async () => {
		const before = (await listDurableObjectIds(testEnv.SESSIONS)).length;
		const res = await selfFetch(`${ORIGIN}/mcp`, { method: "POST", headers: { "Content-Type": "application/json" }, body: big });
		expect(res.status).toBe(413);
		expect((await listDurableObjectIds(testEnv.SESSIONS)).length).toBe(before);
	});

	it("a chunked body over the limit with no Content-Length → 413 (chunked-body bypass)", async () => {
		const { tokens } = await signedIn();
		const chunk = new TextEncoder().encode("y".repeat(1024 * 1024));
		let sent = 0;
		const body = new ReadableStream<Uint8Array>({
			pull(c) {
				if (sent++ < 5) c.enqueue(chunk);
				else c.close();
			},
		});
		const res = await selfFetch(`${ORIGIN}/mcp`, {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
				Authorization: `Bearer ${tokens.access_token}`,
			},
			body,
			// @ts-expect-error workerd accepts duplex for streamed request bodies
			duplex: "half",
		});
		expect(res.status).toBe(413);
	});

	it("the token endpoint and registration are capped too", async () => {
		const res = await selfFetch(`${ORIGIN}/register`, { method: "POST", headers: { "Content-Type": "application/json" }, body: big });
		expect(res.status).toBe(413);
	});
});

describe("localhost and 127.0.0.1 in development", () => {
	const ALIAS = "http://localhost:8787";

	it("a client on the other loopback name is refused before any sign-in, with the URL to use (audience mismatch after sign-in)", async () => {
		const mcp = await selfFetch(`${ALIAS}/mcp`, {
			method: "POST",
			headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
			body: JSON.stringify(INIT),
		});
		expect(mcp.status).toBe(421);
		expect(JSON.stringify(await mcp.json())).toContain(`${ORIGIN}/mcp`);
		for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-authorization-server", "/register", "/token"]) {
			const res = await selfFetch(`${ALIAS}${path}`, { method: path === "/register" || path === "/token" ? "POST" : "GET" });
			expect(res.status, path).toBe(421);
			expect(((await res.json()) as { error_description: string }).error_description).toContain(ORIGIN);
		}
		const consent = await selfFetch(`${ALIAS}/authorize?client_id=x`);
		expect(consent.status).toBe(421);
		expect(await consent.text()).toContain(`Use ${ORIGIN}`);
	});

	it("the account and landing pages on the other name redirect to the server's own URL", async () => {
		for (const path of ["/", "/account"]) {
			const res = await selfFetch(`${ALIAS}${path}`, { redirect: "manual" });
			expect(res.status).toBe(307);
			expect(res.headers.get("Location")).toBe(`${ORIGIN}${path}`);
		}
	});
});

describe("landing page", () => {
	it("says what the server is and links to /account, within the pages' CSP", async () => {
		const res = await selfFetch(`${ORIGIN}/`, { headers: { Accept: "text/html" } });
		expect(res.status).toBe(200);
		const html = await res.text();
		expect(html).toContain("is an MCP server");
		expect(html).toContain(`<pre>${ORIGIN}/mcp</pre>`);
		expect(html).toContain(`href="/account"`);
		expect(res.headers.get("Content-Security-Policy")).toMatch(/^default-src 'none'; style-src 'nonce-/);
		const plain = await selfFetch(`${ORIGIN}/`);
		expect(await plain.text()).toContain(`${ORIGIN}/mcp`);
	});
});
