/**
 * Hosted apps on every lane: one catalog per tenant (built-in packs plus the tenant's active apps)
 * listed and called over `/mcp` 2025-11-25 (SDK v1), 2026-07-28 (SDK v2) and `/sse`; open
 * 2025-era sessions told when the list changes. The HTTP example (examples/weather-proxy, bundled
 * by esbuild in vitest.config.ts as the CLI bundles it) reaches its mock host only, with its key
 * injected by the gateway and never visible to its code.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppBundle } from "../../shared/apps/bundle";
import type { AppManifestInput } from "../../shared/apps/manifest";
import { announceToolsChanged } from "../../objects/tenant/tool-watchers";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { auditRows, installApp, kernel, mockNetwork, setSecret } from "./apps-helpers";
import { connectMcp, connectSse, ORIGIN, selfFetch, signedIn, testEnv } from "./helpers";

const bundles = JSON.parse((env as unknown as { TEST_APP_BUNDLES: string }).TEST_APP_BUNDLES) as Record<
	string,
	AppBundle<AppManifestInput>
>;
const KEY = "weather-key-abcdef123456";
const FORECAST = { daily: [{ date: "2026-01-01", min_c: 1, max_c: 7, summary: "rain" }] };

/** A tenant with the HTTP example deployed and its key set. */
async function weatherTenant() {
	const s = await signedIn();
	const b = bundles["weather-proxy"]!;
	await installApp(s.account.tenantId, b.manifest, b.modules);
	await setSecret(s.account.tenantId, "WEATHER_API_KEY", KEY);
	return s;
}

const withAuth = (token: string) => (url: string | URL, init?: RequestInit) => {
	const headers = new Headers(init?.headers);
	headers.set("Authorization", `Bearer ${token}`);
	return selfFetch(url.toString(), { ...init, headers });
};

let net: ReturnType<typeof mockNetwork>;
beforeEach(() => {
	net = mockNetwork({ "https://api.example-weather.test/v1/forecast": () => Response.json(FORECAST) });
});
afterEach(() => net.restore());

const expected = { city: "Oslo", days: [{ date: "2026-01-01", minC: 1, maxC: 7, summary: "rain" }], cached: false };

describe("one catalog per tenant", () => {
	it("the HTTP example is listed and called over /mcp 2025-11-25 with its key injected, never visible to its code", async () => {
		const s = await weatherTenant();
		const { client } = await connectMcp(s.tokens.access_token);
		const names = (await client.listTools()).tools.map((t) => t.name);
		expect(names).toContain("weather-proxy__forecast");
		expect(names).toContain("read_graph");
		const r = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo", days: 1 } })) as {
			structuredContent?: unknown;
		};
		expect(r.structuredContent).toEqual(expected);
		expect(net.sent).toHaveLength(1);
		expect(new URL(net.sent[0]!.url).host).toBe("api.example-weather.test");
		expect(net.sent[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
		// Cached in the app's own storage: the second call does not go out.
		const again = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo", days: 1 } })) as {
			structuredContent?: { cached: boolean };
		};
		expect(again.structuredContent?.cached).toBe(true);
		expect(net.sent).toHaveLength(1);
		const row = (await auditRows(s.account.tenantId)).find((x) => x.tool === "weather-proxy__forecast" && x.outcome.includes("egress"));
		expect(row?.outcome).toMatch(/^ok; egress: GET api\.example-weather\.test 200 \d+B$/);
		expect(JSON.stringify(await auditRows(s.account.tenantId))).not.toContain(KEY);
	});

	it("the same tools over 2026-07-28 (SDK v2 client), listed in name order", async () => {
		const s = await weatherTenant();
		const client = new ClientV2({ name: "itest-v2", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
		await client.connect(new TransportV2(new URL(`${ORIGIN}/mcp`), { fetch: withAuth(s.tokens.access_token) }));
		const names = (await client.listTools()).tools.map((t) => t.name);
		expect(names).toContain("weather-proxy__forecast");
		expect(names).toEqual([...names].sort());
		const r = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo", days: 1 } })) as {
			structuredContent?: unknown;
		};
		expect(r.structuredContent).toEqual(expected);
		await client.close();
	});

	it("the same tools over /sse, the answer on the session's stream", async () => {
		const s = await weatherTenant();
		const { client } = await connectSse(s.tokens.access_token);
		expect((await client.listTools()).tools.map((t) => t.name)).toContain("weather-proxy__forecast");
		const r = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo", days: 1 } })) as {
			structuredContent?: unknown;
		};
		expect(r.structuredContent).toEqual(expected);
		await client.close();
	});

	it("a second tenant sees none of it, on any lane", async () => {
		await weatherTenant();
		const other = await signedIn();
		const { client } = await connectMcp(other.tokens.access_token);
		expect((await client.listTools()).tools.some((t) => t.name.includes("__"))).toBe(false);
		await expect(client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo" } })).rejects.toThrow(/Unknown tool/);
		const sse = (await connectSse(other.tokens.access_token)).client;
		expect((await sse.listTools()).tools.some((t) => t.name.includes("__"))).toBe(false);
		await sse.close();
		expect(net.sent).toHaveLength(0);
	});

	it("a call on a session that ended is refused before anything runs", async () => {
		const s = await weatherTenant();
		const { client, transport } = await connectMcp(s.tokens.access_token);
		const sessionId = transport.sessionId!;
		await transport.terminateSession();
		const res = await selfFetch(`${ORIGIN}/mcp`, {
			method: "POST",
			headers: {
				Authorization: `Bearer ${s.tokens.access_token}`,
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
				"Mcp-Session-Id": sessionId,
				"MCP-Protocol-Version": "2025-11-25",
			},
			body: JSON.stringify({
				jsonrpc: "2.0",
				id: 9,
				method: "tools/call",
				params: { name: "weather-proxy__forecast", arguments: { city: "Oslo" } },
			}),
		});
		expect(res.status).toBe(404);
		expect(net.sent).toHaveLength(0);
		void client;
	});
});

describe("tools/list_changed", () => {
	it("open 2025-era sessions (Streamable HTTP and /sse) are told when an app is deployed", async () => {
		const s = await signedIn();
		const { client } = await connectMcp(s.tokens.access_token);
		const sse = (await connectSse(s.tokens.access_token)).client;
		expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true);
		const told = (c: typeof client) =>
			new Promise<void>((resolve) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
		const both = Promise.all([told(client), told(sse)]);
		// The standalone GET stream and the SSE stream register their sessions with the kernel.
		await client.listTools();
		await new Promise((r) => setTimeout(r, 100));
		const b = bundles["unit-converter"]!;
		await installApp(s.account.tenantId, b.manifest, b.modules);
		const count = await runInDurableObject(kernel(s.account.tenantId), (_o: TenantObject, state) =>
			announceToolsChanged(state.storage.sql, testEnv),
		);
		expect(count).toBe(2);
		await both;
		await new Promise((r) => setTimeout(r, 2100)); // the per-isolate catalog copy (2 s)
		expect((await client.listTools()).tools.some((t) => t.name.startsWith("unit-converter__"))).toBe(true);
		await sse.close();
	});
});
