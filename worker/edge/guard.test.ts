import { describe, expect, it } from "vitest";
import type { Config } from "../../shared/config";
import { guard, readCapped, UNREADABLE } from "./guard";

const CAP = 1024;
const config: Config = {
	origin: "https://mcp.example.com",
	allowedHosts: new Set(["mcp.example.com"]),
	allowedOrigins: new Set(["https://mcp.example.com", "https://app.example.com"]),
	maxBodyBytes: CAP,
	secret: "unit-secret-0123456789abcdef0123456789abcdef",
};
const URL_ = "https://mcp.example.com/mcp";

/** A stream of `chunks` chunks of `size` bytes each; `state.pulled` counts the chunks handed out. */
function chunked(chunks: number, size: number, state = { pulled: 0, cancelled: false }): ReadableStream<Uint8Array> {
	return new ReadableStream<Uint8Array>({
		pull(controller) {
			if (state.pulled === chunks) return controller.close();
			state.pulled++;
			controller.enqueue(new Uint8Array(size).fill(0x61));
		},
		cancel() {
			state.cancelled = true;
		},
	});
}

/** A request whose body is a stream (no Content-Length unless given). */
function streamed(body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Request {
	return new Request(URL_, { method: "POST", headers: { Host: "mcp.example.com", ...headers }, body, duplex: "half" } as RequestInit);
}

async function expectForbidden(result: Awaited<ReturnType<typeof guard>>): Promise<void> {
	if (!("stop" in result)) throw new Error("expected the guard to stop the request");
	expect(result.stop.status).toBe(403);
	expect(result.stop.headers.get("Content-Type")).toBe("application/json");
	const body = (await result.stop.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
	expect(body.jsonrpc).toBe("2.0");
	expect(body.id).toBeNull();
	expect(typeof body.error.code).toBe("number");
}

async function expectTooLarge(result: Awaited<ReturnType<typeof guard>>): Promise<void> {
	if (!("stop" in result)) throw new Error("expected the guard to stop the request");
	expect(result.stop.status).toBe(413);
	const body = (await result.stop.json()) as { id: unknown; error: { code: number } };
	expect(body.id).toBeNull();
	expect(body.error.code).toBe(-32600);
}

describe("guard: Host allow-list", () => {
	it("rejects a disallowed Host with 403 and a JSON-RPC error without id (DNS rebinding)", async () => {
		await expectForbidden(await guard(new Request(URL_, { headers: { Host: "attacker.example" } }), config));
	});

	it("rejects a Host that differs only by port or a trailing dot", async () => {
		await expectForbidden(await guard(new Request(URL_, { headers: { Host: "mcp.example.com:8443" } }), config));
		await expectForbidden(await guard(new Request(URL_, { headers: { Host: "mcp.example.com." } }), config));
	});

	it("matches Host case-insensitively", async () => {
		const g = await guard(new Request(URL_, { headers: { Host: "MCP.Example.COM" } }), config);
		expect("request" in g).toBe(true);
	});

	it("falls back to the URL host when there is no Host header", async () => {
		expect("request" in (await guard(new Request(URL_), config))).toBe(true);
		await expectForbidden(await guard(new Request("https://attacker.example/mcp"), config));
	});

	it("fails closed with an empty allow-list (no skipped check)", async () => {
		await expectForbidden(await guard(new Request(URL_, { headers: { Host: "mcp.example.com" } }), { ...config, allowedHosts: new Set() }));
	});
});

describe("guard: Origin allow-list", () => {
	it("rejects a present, disallowed Origin with 403 (CVE-2025-66414 DNS rebinding)", async () => {
		await expectForbidden(
			await guard(new Request(URL_, { headers: { Host: "mcp.example.com", Origin: "https://attacker.example" } }), config),
		);
	});

	it.each(["null", "", "https://mcp.example.com.attacker.example", "http://mcp.example.com", "https://mcp.example.com/"])(
		"rejects Origin %j",
		async (origin) => {
			await expectForbidden(await guard(new Request(URL_, { headers: { Host: "mcp.example.com", Origin: origin } }), config));
		},
	);

	it("passes a request without Origin (non-browser client)", async () => {
		const g = await guard(new Request(URL_, { headers: { Host: "mcp.example.com" } }), config);
		expect("request" in g).toBe(true);
	});

	it("passes an allow-listed Origin", async () => {
		for (const origin of ["https://mcp.example.com", "https://app.example.com"]) {
			const g = await guard(new Request(URL_, { headers: { Host: "mcp.example.com", Origin: origin } }), config);
			expect("request" in g, origin).toBe(true);
		}
	});
});

describe("guard: body cap", () => {
	it("refuses a declared Content-Length over the cap with 413 without reading the body", async () => {
		const state = { pulled: 0, cancelled: false };
		const req = streamed(chunked(10, CAP, state), { "Content-Length": String(CAP * 10) });
		await expectTooLarge(await guard(req, config));
		expect(state.pulled).toBeLessThanOrEqual(1);
	});

	it("refuses a chunked body over the cap without Content-Length (Hono chunked bypass)", async () => {
		const state = { pulled: 0, cancelled: false };
		const req = streamed(chunked(64, 100, state), { "Transfer-Encoding": "chunked" });
		expect(req.headers.get("Content-Length")).toBeNull();
		await expectTooLarge(await guard(req, config));
		// It stopped reading shortly after the cap instead of draining the stream.
		expect(state.pulled).toBeLessThan(64);
		expect(state.cancelled).toBe(true);
	});

	it("refuses a small declared Content-Length with a larger streamed body (Hono Content-Length lie bypass)", async () => {
		const req = streamed(chunked(4, CAP, { pulled: 0, cancelled: false }), { "Content-Length": "10", "Transfer-Encoding": "chunked" });
		await expectTooLarge(await guard(req, config));
	});

	it("refuses a body one byte over the cap and accepts one exactly at it", async () => {
		await expectTooLarge(await guard(streamed(chunked(1, CAP + 1)), config));
		const g = await guard(streamed(chunked(1, CAP)), config);
		if (!("request" in g)) throw new Error("expected a body at the cap to pass");
		expect((await g.request.arrayBuffer()).byteLength).toBe(CAP);
	});

	it("passes a body under the cap on intact, with Transfer-Encoding removed and an exact Content-Length", async () => {
		const payload = new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"héllo"}}');
		const body = new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(payload.slice(0, 10));
				controller.enqueue(payload.slice(10));
				controller.close();
			},
		});
		const req = streamed(body, {
			"Transfer-Encoding": "chunked",
			"Content-Type": "application/json",
			Authorization: "Bearer t",
			Origin: "https://app.example.com",
		});
		const g = await guard(req, config);
		if (!("request" in g)) throw new Error("expected the request to pass");
		expect(new Uint8Array(await g.request.arrayBuffer())).toEqual(payload);
		expect(g.request.headers.get("Transfer-Encoding")).toBeNull();
		expect(g.request.headers.get("Content-Length")).toBe(String(payload.byteLength));
		expect(g.request.method).toBe("POST");
		expect(g.request.url).toBe(URL_);
		expect(g.request.headers.get("Authorization")).toBe("Bearer t");
		expect(g.request.headers.get("Content-Type")).toBe("application/json");
	});

	it("passes a bodiless GET through untouched", async () => {
		const req = new Request(URL_, { headers: { Host: "mcp.example.com" } });
		const g = await guard(req, config);
		expect("request" in g && g.request).toBe(req);
	});

	it("checks Host before the body (a rebinding request never gets its body read)", async () => {
		const state = { pulled: 0, cancelled: false };
		const req = new Request(URL_, {
			method: "POST",
			headers: { Host: "attacker.example" },
			body: chunked(4, 10, state),
			duplex: "half",
		} as RequestInit);
		await expectForbidden(await guard(req, config));
		expect(state.pulled).toBeLessThanOrEqual(1);
	});

	/** A request as the runtime hands it over when a client sent `method` with a body (fetch() cannot build one). */
	const withBody = (method: string, body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) => {
		const req = new Request(URL_, {
			method: "POST",
			headers: { Host: "mcp.example.com", ...headers },
			body,
			duplex: "half",
		} as RequestInit);
		Object.defineProperty(req, "method", { value: method });
		return req;
	};

	async function expectBadRequest(result: Awaited<ReturnType<typeof guard>>, message: RegExp): Promise<void> {
		if (!("stop" in result)) throw new Error("expected the guard to stop the request");
		expect(result.stop.status).toBe(400);
		const body = (await result.stop.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
		expect(body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } });
		expect(body.error.message).toMatch(message);
	}

	it("GET or HEAD with a body (declared, chunked, or lying) → 400, never rebuilt into a request the runtime refuses", async () => {
		for (const method of ["GET", "HEAD"]) {
			await expectBadRequest(await guard(withBody(method, "{}", { "Content-Length": "2" }), config), /GET and HEAD/);
			await expectBadRequest(await guard(withBody(method, chunked(3, 10)), config), /GET and HEAD/);
			await expectBadRequest(await guard(withBody(method, chunked(3, 10), { "Content-Length": "0" }), config), /GET and HEAD/);
			const state = { pulled: 0, cancelled: false };
			await expectBadRequest(await guard(withBody(method, chunked(1000, 1000, state)), config), /GET and HEAD/);
			expect(state.pulled).toBeLessThanOrEqual(2);
		}
	});

	it("GET with an empty chunked body passes on, without a body", async () => {
		const g = await guard(withBody("GET", chunked(0, 1), { "Transfer-Encoding": "chunked" }), config);
		if (!("request" in g)) throw new Error("expected the request to pass");
		expect(g.request.method).toBe("GET");
		expect(g.request.body).toBeNull();
	});

	it("a body that fails mid-read (malformed chunked encoding, a client that disconnects) → 400, not a thrown error", async () => {
		const failing = () =>
			new ReadableStream<Uint8Array>({
				start(c) {
					c.enqueue(new TextEncoder().encode('{"jsonrpc":'));
					c.error(new TypeError("Invalid chunked encoding"));
				},
			});
		await expectBadRequest(await guard(streamed(failing()), config), /could not be read/);
		await expectBadRequest(await guard(withBody("GET", failing()), config), /GET and HEAD|could not be read/);
	});
});

describe("readCapped", () => {
	it("returns the concatenated bytes when under the cap", async () => {
		const bytes = await readCapped(chunked(3, 5), 100);
		expect(bytes).toEqual(new Uint8Array(15).fill(0x61));
	});

	it("returns an empty array for an empty stream", async () => {
		const bytes = await readCapped(chunked(0, 5), 100);
		expect(bytes).toEqual(new Uint8Array(0));
	});

	it("accepts exactly max bytes and refuses max + 1", async () => {
		expect(((await readCapped(chunked(4, 25), 100)) as Uint8Array).byteLength).toBe(100);
		expect(await readCapped(chunked(101, 1), 100)).toBeNull();
	});

	it("stops and cancels the stream once over the cap (unbounded stream)", async () => {
		const state = { pulled: 0, cancelled: false };
		const endless = new ReadableStream<Uint8Array>({
			pull(controller) {
				state.pulled++;
				controller.enqueue(new Uint8Array(64));
			},
			cancel() {
				state.cancelled = true;
			},
		});
		expect(await readCapped(endless, 1000)).toBeNull();
		expect(state.cancelled).toBe(true);
		expect(state.pulled).toBeLessThan(20);
	});

	it("reports a stream that fails mid-read as UNREADABLE", async () => {
		const failing = new ReadableStream<Uint8Array>({
			pull(c) {
				c.error(new TypeError("connection reset"));
			},
		});
		expect(await readCapped(failing, 100)).toBe(UNREADABLE);
	});
});
