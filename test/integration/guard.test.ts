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
