/**
 * Hosted apps: what a tenant's code can and cannot reach. Each test is named after the attack it
 * runs from inside an app isolate (docs/security.md, "Tenant apps"). Versions are written straight
 * into the kernel tables, as a deploy stores them; calls go through the real lanes.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppManifestInput } from "../../shared/apps/manifest";
import { appLogs, auditRows, DEFINE_APP, installApp, kernel, mockNetwork, setSecret } from "./apps-helpers";
import { connectMcp, signedIn } from "./helpers";

const tool = (name: string, scope: "mcp:read" | "mcp:write" = "mcp:read", inputSchema: Record<string, unknown> = { type: "object" }) => ({
	name,
	description: `probe ${name}`,
	inputSchema,
	scope,
});

/** The attacker's app: one tool per attempt. */
const PROBE_JS = `import { defineApp, AppError } from "./sdk.js";
import { env as workerEnv } from "cloudflare:workers";
export default defineApp({ tools: {
	echo: async (args) => ({ echoed: args }),
	fetch_url: async ({ url }, ctx) => {
		try { const r = await ctx.fetch(url); return { status: r.status, body: (await r.text()).slice(0, 200) }; }
		catch (e) { return { refused: String(e.message) }; }
	},
	global_fetch: async ({ url }) => {
		try { const r = await fetch(url); return { status: r.status }; } catch (e) { return { refused: String(e.message) }; }
	},
	fetch_many: async ({ url, n }, ctx) => {
		const out = [];
		for (let i = 0; i < n; i++) { try { out.push((await ctx.fetch(url)).status); } catch (e) { out.push(String(e.message)); } }
		return { out };
	},
	put: async ({ key, value }, ctx) => { await ctx.storage.put(key, value); return "stored"; },
	get: async ({ key }, ctx) => ({ value: (await ctx.storage.get(key)) ?? null }),
	secret: async ({ name }, ctx) => ({ has: ctx.secrets.has(name), value: ctx.secrets.get(name) ?? null }),
	inspect: async () => {
		const p = globalThis.process;
		return {
			globals: Object.keys(globalThis).filter((k) => /TENANTS|SESSIONS|LOADER|SMCP|KV|OAUTH|DIRECTORY/i.test(k)),
			workerEnv: Object.keys(workerEnv ?? {}),
			processEnv: p && p.env ? Object.keys(p.env) : [],
			fetchWritable: Object.getOwnPropertyDescriptor(globalThis, "fetch").writable,
		};
	},
	spin: async () => { for (;;) {} },
	bomb: async () => { let s = "x"; for (let i = 0; i < 26; i++) s += s; return s; },
	huge: async () => ({ data: "y".repeat(300000) }),
	boom: async () => { throw new TypeError("kaboom at internal/path.js"); },
	fn: async () => ({ f: () => 1 }),
	date: async () => new Date(0),
	leak: async ({ mode }, ctx) => {
		const v = ctx.secrets.get("PLAIN_TOKEN");
		if (mode === "cut") {
			// The secret straddles the platform's cuts: 4,000 characters of a log line, 4,096 of an error.
			console.log("x".repeat(3990) + v);
			throw new AppError("y".repeat(4090) + v);
		}
		console.log("the token is " + v);
		if (mode === "throw") throw new AppError("failed with " + v);
		return "token=" + v;
	},
}});
`;

const probeManifest = (name = "probe", extra: Partial<AppManifestInput> = {}): AppManifestInput => ({
	name,
	version: "1.0.0",
	main: "index.js",
	tools: [
		tool("echo", "mcp:read", { type: "object", properties: { n: { type: "integer", maximum: 10 } }, additionalProperties: false }),
		tool("fetch_url"),
		tool("global_fetch"),
		tool("fetch_many"),
		tool("put", "mcp:write"),
		tool("get"),
		tool("secret"),
		tool("inspect"),
		tool("spin"),
		tool("bomb"),
		tool("huge"),
		tool("boom"),
		tool("fn"),
		tool("date"),
		tool("leak"),
	],
	egress: ["api.example.com", "127.0.0.1:9999"],
	secrets: ["PLAIN_TOKEN", "HEADER_TOKEN"],
	secretHeaders: [{ host: "api.example.com", header: "Authorization", secret: "HEADER_TOKEN", prefix: "Bearer " }],
	limits: { subRequests: 3, timeoutMs: 5000 },
	...extra,
});
const PROBE = { "index.js": PROBE_JS, "sdk.js": DEFINE_APP };

const PLAIN = "plain-secret-value-4242";
const HEADER = "header-secret-value-7777";

/** A tenant with the probe app, its secrets, and a connected client. */
async function probeTenant(app = "probe") {
	const s = await signedIn();
	await installApp(s.account.tenantId, probeManifest(app), PROBE);
	await setSecret(s.account.tenantId, "PLAIN_TOKEN", PLAIN);
	await setSecret(s.account.tenantId, "HEADER_TOKEN", HEADER);
	const { client } = await connectMcp(s.tokens.access_token);
	const call = async (name: string, args: Record<string, unknown> = {}) =>
		(await client.callTool({ name: `${app}__${name}`, arguments: args })) as {
			content: { type: string; text: string }[];
			structuredContent?: Record<string, unknown>;
			isError?: boolean;
		};
	return { ...s, client, call, tenantId: s.account.tenantId };
}

let net: ReturnType<typeof mockNetwork>;
beforeEach(() => {
	net = mockNetwork({
		"https://api.example.com/ok": () => new Response("hello from the api"),
		"https://api.example.com/off-list": () => new Response(null, { status: 302, headers: { Location: "https://evil.example.net/steal" } }),
		"https://api.example.com/on-list": () => new Response(null, { status: 302, headers: { Location: "https://api.example.com/ok" } }),
		"https://api.example.com/to-ip": () =>
			new Response(null, { status: 301, headers: { Location: "http://169.254.169.254/latest/meta-data" } }),
		"http://127.0.0.1:9999/mock": () => new Response("loopback mock"),
	});
});
afterEach(() => net.restore());

describe("tenant apps: execution", () => {
	it("runs a hosted tool with validated arguments and audits the call", async () => {
		const t = await probeTenant();
		const r = await t.call("echo", { n: 3 });
		expect(r.isError).toBeFalsy();
		expect(r.structuredContent).toEqual({ echoed: { n: 3 } });
		const row = (await auditRows(t.tenantId)).find((x) => x.tool === "probe__echo");
		expect(row).toMatchObject({ decision: "allowed", outcome: "ok", method: "tools/call" });
	});

	it("invalid arguments are refused before the isolate sees them", async () => {
		const t = await probeTenant();
		const r = await t.call("echo", { n: 11, extra: "no" });
		expect(r.isError).toBe(true);
		expect(r.content[0]!.text).toMatch(/Invalid arguments for tool probe__echo/);
		expect((await auditRows(t.tenantId)).find((x) => x.tool === "probe__echo")?.outcome).toBe("invalid_arguments");
	});

	it("write-scoped hosted tools are refused to a read-only token", async () => {
		const s = await signedIn({ scope: ["mcp:read"] });
		await installApp(s.account.tenantId, probeManifest(), PROBE);
		const { client } = await connectMcp(s.tokens.access_token);
		const listed = (await client.listTools()).tools.map((x) => x.name);
		expect(listed).toContain("probe__get");
		expect(listed).not.toContain("probe__put");
		// The same step-up as a built-in write tool: 403 insufficient_scope (test/integration/apps-scope.test.ts).
		await expect(client.callTool({ name: "probe__put", arguments: { key: "k", value: 1 } })).rejects.toMatchObject({ code: 403 });
	});
});

describe("tenant apps: attacks from inside an app", () => {
	it("tenant A's code cannot reach tenant B's storage, secrets or tools", async () => {
		const a = await probeTenant();
		const b = await signedIn();
		await installApp(b.account.tenantId, probeManifest(), PROBE); // the same app, the same code hash
		const bc = (await connectMcp(b.tokens.access_token)).client;
		expect((await a.call("put", { key: "k", value: "tenant-a-data" })).content[0]!.text).toBe("stored");
		const read = (await bc.callTool({ name: "probe__get", arguments: { key: "k" } })) as { structuredContent?: unknown };
		expect(read.structuredContent).toEqual({ value: null });
		const secret = (await bc.callTool({ name: "probe__secret", arguments: { name: "PLAIN_TOKEN" } })) as { structuredContent?: unknown };
		expect(secret.structuredContent).toEqual({ has: false, value: null });
		// A's tools are not B's: not listed, not callable.
		const c = await signedIn();
		const cc = (await connectMcp(c.tokens.access_token)).client;
		expect((await cc.listTools()).tools.some((x) => x.name.startsWith("probe__"))).toBe(false);
		await expect(cc.callTool({ name: "probe__get", arguments: { key: "k" } })).rejects.toThrow(/Unknown tool/);
	});

	it("cannot reach a host outside its list: directly, by redirect, by IP literal", async () => {
		const t = await probeTenant();
		const attempts = [
			"https://evil.example.net/steal",
			"https://api.example.com.evil.example.net/",
			"http://api.example.com/ok",
			"https://93.184.216.34/",
			"http://169.254.169.254/latest/meta-data",
			"http://127.0.0.1:8787/admin/tenants",
			"http://[::1]:9999/mock",
			"https://user:pass@api.example.com/ok",
		];
		for (const url of attempts) {
			const r = await t.call("fetch_url", { url });
			expect((r.structuredContent as { refused?: string }).refused, url).toMatch(/egress refused/);
		}
		const off = await t.call("fetch_url", { url: "https://api.example.com/off-list" });
		expect((off.structuredContent as { refused?: string }).refused).toMatch(/not in the app's egress list \(reached by a redirect\)/);
		const toIp = await t.call("fetch_url", { url: "https://api.example.com/to-ip" });
		expect((toIp.structuredContent as { refused?: string }).refused).toMatch(/egress refused/);
		const on = await t.call("fetch_url", { url: "https://api.example.com/on-list" });
		expect(on.structuredContent).toEqual({ status: 200, body: "hello from the api" });
		// The global fetch goes the same way.
		expect(
			((await t.call("global_fetch", { url: "https://evil.example.net/" })).structuredContent as { refused?: string }).refused,
		).toMatch(/egress refused/);
		// Nothing but listed hosts ever reached the network.
		expect(net.sent.map((s) => new URL(s.url).host).filter((h) => h !== "api.example.com")).toEqual([]);
	});

	it("cannot read SMCP's own bindings, secrets or environment", async () => {
		const t = await probeTenant();
		const r = await t.call("inspect");
		expect(r.structuredContent).toEqual({ globals: [], workerEnv: [], processEnv: [], fetchWritable: false });
		expect(JSON.stringify(r)).not.toMatch(/test-secret|test-secrets-key|test-admin-token/);
	});

	it("an endless loop is stopped with a tool error, and the tenant's next call works", async () => {
		const t = await probeTenant();
		const r = await t.call("spin");
		expect(r.isError).toBe(true);
		expect(r.content[0]!.text).toMatch(/stopped/);
		expect((await t.call("echo", { n: 1 })).structuredContent).toEqual({ echoed: { n: 1 } });
		expect((await auditRows(t.tenantId)).find((x) => x.tool === "probe__spin")).toMatchObject({
			decision: "error",
			outcome: "guard_stopped",
		});
	});

	it("a memory bomb, a huge result, a throw and a non-JSON result each give a clean tool error", async () => {
		const t = await probeTenant();
		const cases: [string, RegExp][] = [
			["bomb", /over 262144 bytes/],
			["huge", /over 262144 bytes/],
			["boom", /^The tool failed\. Its logs have the details\.$/],
			["fn", /returned a function at \$\.f/],
			["date", /instance of Date/],
		];
		for (const [name, text] of cases) {
			const r = await t.call(name);
			expect(r.isError, name).toBe(true);
			expect(r.content[0]!.text, name).toMatch(text);
			expect(r.content[0]!.text).not.toMatch(/kaboom|internal\/path/);
		}
		const lines = await appLogs(t.tenantId, "probe");
		expect(lines.some((l) => l.level === "error" && l.message.includes("kaboom"))).toBe(true);
	});

	it("a crashing app affects neither the built-in tools nor another tenant", async () => {
		const a = await probeTenant();
		const b = await probeTenant();
		await a.call("spin");
		await a.call("boom");
		const builtIn = (await a.client.callTool({ name: "read_graph", arguments: {} })) as { isError?: boolean };
		expect(builtIn.isError).toBeFalsy();
		expect((await b.call("echo", { n: 2 })).structuredContent).toEqual({ echoed: { n: 2 } });
	});

	it("the subrequest limit is enforced per call (limits.subRequests)", async () => {
		const t = await probeTenant();
		const r = await t.call("fetch_many", { url: "https://api.example.com/ok", n: 5 });
		const out = (r.structuredContent as { out: unknown[] }).out;
		expect(out.slice(0, 3)).toEqual([200, 200, 200]);
		expect(String(out[3])).toMatch(/made its 3 requests/);
		expect(String(out[4])).toMatch(/made its 3 requests/);
		expect(net.sent.length).toBe(3);
		// The next call has its own budget; the audit row lists each request without its path.
		expect(((await t.call("fetch_many", { url: "https://api.example.com/ok", n: 1 })).structuredContent as { out: unknown[] }).out).toEqual(
			[200],
		);
		const row = (await auditRows(t.tenantId)).find((x) => x.tool === "probe__fetch_many");
		expect(row?.outcome).toBe("ok; egress: GET api.example.com 200 18B");
	});

	it("a header secret is injected by the gateway and never visible to the code", async () => {
		const t = await probeTenant();
		const seen = await t.call("secret", { name: "HEADER_TOKEN" });
		expect(seen.structuredContent).toEqual({ has: true, value: null });
		await t.call("fetch_url", { url: "https://api.example.com/ok" });
		expect(net.sent.at(-1)?.headers.authorization).toBe(`Bearer ${HEADER}`);
		// Loopback reaches the mock only because this deployment runs on loopback.
		expect((await t.call("fetch_url", { url: "http://127.0.0.1:9999/mock" })).structuredContent).toEqual({
			status: 200,
			body: "loopback mock",
		});
		expect(net.sent.at(-1)?.headers.authorization).toBeUndefined();
	});

	it("secrets never appear in logs, audit rows, errors, responses or app logs", async () => {
		const t = await probeTenant();
		const returned = await t.call("leak", { mode: "return" });
		expect(returned.content[0]!.text).toBe("token=[redacted]");
		const thrown = await t.call("leak", { mode: "throw" });
		expect(thrown.content[0]!.text).toBe("failed with [redacted]");
		const lines = await appLogs(t.tenantId, "probe", 2);
		expect(lines.map((l) => l.message)).toContain("the token is [redacted]");
		const everything = JSON.stringify([
			returned,
			thrown,
			lines,
			await auditRows(t.tenantId),
			await kernel(t.tenantId).exportAudit(0, 1000),
		]);
		expect(everything).not.toContain(PLAIN);
		expect(everything).not.toContain(HEADER);
	});

	it("a secret cut in half by a log line's or an error's length cap: its first characters are not left behind", async () => {
		const t = await probeTenant();
		const thrown = await t.call("leak", { mode: "cut" });
		const lines = await appLogs(t.tenantId, "probe", 5);
		const prefix = PLAIN.slice(0, 6);
		expect(lines.length).toBeGreaterThan(0);
		for (const text of [thrown.content[0]!.text, ...lines.map((l) => l.message)]) expect(text).not.toContain(prefix);
	});
});
