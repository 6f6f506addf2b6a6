/**
 * The isolate's `globalOutbound` (`Egress`, worker/apps/egress.ts), called directly as the runtime
 * calls it. App code reaches it without the runner's `fetch` (a `WebSocket` does:
 * apps-raw-network.test.ts), so it keeps its own budget: requests per isolate per minute, and the
 * response body capped as the per-call gateway caps it (docs/apps.md "Capability model").
 */
import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_EGRESS_RESPONSE_BYTES } from "../../shared/apps/runner";
import { mockNetwork } from "./apps-helpers";

let net: ReturnType<typeof mockNetwork>;
beforeEach(() => {
	net = mockNetwork({
		"https://api.example.com/ok": () => new Response("fine"),
		"https://api.example.com/huge": () =>
			new Response(new Uint8Array(MAX_EGRESS_RESPONSE_BYTES + 1024), {
				headers: { "Content-Length": String(MAX_EGRESS_RESPONSE_BYTES + 1024) },
			}),
		"https://api.example.com/huge-stream": () =>
			new Response(
				new ReadableStream({
					start(c) {
						for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(MAX_EGRESS_RESPONSE_BYTES / 4));
						c.close();
					},
				}),
			),
	});
});
afterEach(() => net.restore());

/** The door of one isolate, as `worker/apps/run.ts` builds it. */
const door = (isolate: string, subRequests = 3) =>
	(exports as unknown as Record<string, (o: { props: unknown }) => Fetcher>).Egress!({
		props: { tenant: "t_test", app: "door", egress: ["api.example.com"], allowLoopback: false, isolate, subRequests },
	});

describe("the globalOutbound door (Egress) has its own budget", () => {
	it("an app that reaches the globalOutbound door in a loop is cut off after limits.subRequests a minute per isolate", async () => {
		const d = door(`t_test:door:${crypto.randomUUID()}`);
		const statuses: number[] = [];
		for (let i = 0; i < 6; i++) statuses.push((await d.fetch("https://api.example.com/ok")).status);
		expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
		expect(net.sent).toHaveLength(3);
		// Another isolate (another app, version or secrets epoch) has its own budget.
		expect((await door(`t_test:door:${crypto.randomUUID()}`).fetch("https://api.example.com/ok")).status).toBe(200);
	});

	it("a huge response through the globalOutbound door is cut at MAX_EGRESS_RESPONSE_BYTES, announced or streamed", async () => {
		const d = door(`t_test:door:${crypto.randomUUID()}`, 10);
		const announced = await d.fetch("https://api.example.com/huge");
		expect(announced.status).toBe(502);
		expect(await announced.text()).toMatch(/over 4194304 bytes/);
		const streamed = await d.fetch("https://api.example.com/huge-stream");
		expect(streamed.status).toBe(200);
		await expect(streamed.arrayBuffer()).rejects.toThrow();
		// A refused host still costs nothing upstream.
		expect((await d.fetch("https://evil.example.net/")).status).toBe(403);
		expect(net.sent.map((s) => new URL(s.url).host)).toEqual(["api.example.com", "api.example.com"]);
	});
});
