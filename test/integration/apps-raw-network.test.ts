/**
 * Hosted apps: raw network doors that bypass the egress gateway's `fetch`. A bundle installed
 * straight into the kernel (skipping the deploy checks, which refuse a `cloudflare:sockets` import)
 * opens a TCP socket with `connect()`, a `WebSocket`, and a `fetch` asking for `Upgrade: websocket`,
 * each at a real loopback listener (`loopback-trap.setup.ts`) that the app's egress list even
 * names. None of them may reach it as a raw socket or an upgrade (docs/apps.md "Capability model").
 */
import { describe, expect, inject, it } from "vitest";
import type { AppManifestInput } from "../../shared/apps/manifest";
import { DEFINE_APP, installApp } from "./apps-helpers";
import { connectMcp, signedIn } from "./helpers";

const TRAP = inject("loopbackTrapPort");
/** The Worker's own fetch (the tests in this file mock nothing: the trap is real). */
const trapCounts = async (): Promise<{ raw: number; requests: number; upgrades: number }> =>
	(await fetch(`http://127.0.0.1:${TRAP}/__trap/count`)).json();

const RAW_JS = `import { defineApp } from "./sdk.js";
import { connect } from "cloudflare:sockets";
const within = (p, ms) => Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error("no answer within " + ms + " ms")), ms))]);
export default defineApp({ tools: {
	tcp: async ({ port }) => {
		try {
			const socket = connect({ hostname: "127.0.0.1", port });
			await within(socket.opened, 2000);
			const w = socket.writable.getWriter();
			await w.write(new TextEncoder().encode("smcp raw bytes\\r\\n"));
			await w.close();
			return { connected: true };
		} catch (e) { return { refused: String(e && e.message) }; }
	},
	ws: async ({ port }) => {
		try {
			const ws = new WebSocket("ws://127.0.0.1:" + port + "/socket");
			const opened = await within(new Promise((yes, no) => {
				ws.addEventListener("open", () => yes(true));
				ws.addEventListener("error", (e) => no(new Error("websocket error: " + (e && e.message))));
				ws.addEventListener("close", () => no(new Error("websocket closed")));
			}), 2000);
			ws.close();
			return { connected: opened };
		} catch (e) { return { refused: String(e && e.message) }; }
	},
	upgrade: async ({ port }) => {
		try {
			const r = await fetch("http://127.0.0.1:" + port + "/socket", {
				headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
			});
			return { status: r.status, webSocket: r.webSocket != null };
		} catch (e) { return { refused: String(e && e.message) }; }
	},
}});
`;

const tool = (name: string) => ({
	name,
	description: `raw ${name}`,
	inputSchema: { type: "object", properties: { port: { type: "integer" } } },
	scope: "mcp:read" as const,
});

/** The attacker's app; the trap's own address is on its egress list, the strongest case. */
const rawManifest = (): AppManifestInput => ({
	name: "raw",
	version: "1.0.0",
	main: "index.js",
	tools: [tool("tcp"), tool("ws"), tool("upgrade")],
	egress: [`127.0.0.1:${TRAP}`],
	secrets: [],
	limits: { timeoutMs: 5000 },
});

async function rawTenant() {
	const s = await signedIn();
	await installApp(s.account.tenantId, rawManifest(), { "index.js": RAW_JS, "sdk.js": DEFINE_APP });
	const { client } = await connectMcp(s.tokens.access_token);
	const call = async (name: string) =>
		(await client.callTool({ name: `raw__${name}`, arguments: { port: TRAP } })) as {
			structuredContent?: Record<string, unknown>;
			isError?: boolean;
		};
	return { ...s, call, tenantId: s.account.tenantId };
}

describe("tenant apps: raw network doors (a bundle that skipped the deploy checks)", () => {
	it("an app that imports cloudflare:sockets and connect()s to a loopback port reaches nothing", async () => {
		const t = await rawTenant();
		const before = await trapCounts();
		const r = await t.call("tcp");
		// The gateway's connect() handler closes the socket unopened: the code sees a lost connection.
		expect(r.structuredContent).toEqual({ refused: expect.any(String) });
		// Give a socket that did open time to show at the listener.
		await new Promise((done) => setTimeout(done, 200));
		expect(await trapCounts()).toEqual(before);
	});

	it("an app that opens a WebSocket, or fetches with Upgrade: websocket, to a loopback port gets no socket and no upgrade reaches it", async () => {
		const t = await rawTenant();
		const before = await trapCounts();
		const ws = await t.call("ws");
		// The gateway drops Upgrade: the server answers a plain GET, and the WebSocket fails to open.
		expect(ws.structuredContent).toEqual({ refused: expect.stringMatching(/101/) });
		const up = await t.call("upgrade");
		expect(up.structuredContent).toEqual({ status: 200, webSocket: false });
		await new Promise((done) => setTimeout(done, 200));
		const after = await trapCounts();
		// Plain HTTP to a listed host is allowed egress; a raw socket or an upgrade never arrives.
		expect({ raw: after.raw - before.raw, upgrades: after.upgrades - before.upgrades }).toEqual({ raw: 0, upgrades: 0 });
	});
});
