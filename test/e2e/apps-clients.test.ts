/**
 * Issue 14's "done means" against a real `wrangler dev`: a tenant deploys the HTTP example
 * (examples/weather-proxy) from the CLI and sets its key from stdin; Claude-style clients sign in
 * through the real OAuth flow (registration, PKCE, consent) and list and call its tool over `/mcp`
 * 2025-11-25 (SDK v1), `/mcp` 2026-07-28 (SDK v2, `@modelcontextprotocol/client`) and `/sse`
 * (SDK v1). A real loopback HTTP server plays the weather API and records every request: it sees
 * the key in the injected `Authorization` header only, and a second loopback server that the
 * manifest does not list sees nothing, not even through a redirect. A tool added to the deployed
 * copy shows what the code can see: never the key. A second tenant lists none of it and cannot
 * call it.
 *
 * The example calls `https://api.example-weather.test`; the copy deployed here names the mock's
 * `127.0.0.1:<port>` instead (loopback egress is allowed because this deployment's
 * `SMCP_PUBLIC_ORIGIN` is loopback, never because of anything the app says).
 */
import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import {
	Client as ClientV2,
	StreamableHTTPClientTransport as TransportV2,
	UnauthorizedError as UnauthorizedV2,
} from "@modelcontextprotocol/client";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentRedirect } from "../support/oauth-flow";
import { connectWithOAuth, MemoryAuthProvider } from "./oauth-client";
import { freePort, startWrangler, type DevServer } from "./wrangler";

const ADMIN = "e2e-admin-token-0123456789abcdef0123456789abcdef";
const SECRETS_KEY = "e2e-secrets-key-0123456789abcdef0123456789abcdef";
const KEY = `wx-live-${crypto.randomUUID()}`;
const EXAMPLE = resolve("examples/weather-proxy");
const OWNER = { email: "weather-owner@example.test", password: "weather owner password" };
const STRANGER = { email: "weather-stranger@example.test", password: "weather stranger password" };
const FORECAST = { daily: [{ date: "2026-01-01", min_c: 1, max_c: 7, summary: "rain" }] };

/** One request as the mock API saw it. */
interface Seen {
	method: string;
	url: string;
	headers: IncomingHttpHeaders;
}

/** A loopback HTTP server on a free port that records every request and answers with `answer`. */
async function mockApi(answer: (url: URL, res: import("node:http").ServerResponse) => void) {
	const seen: Seen[] = [];
	const port = await freePort();
	const server: Server = createServer((req, res) => {
		seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
		answer(new URL(req.url ?? "/", `http://127.0.0.1:${port}`), res);
	});
	await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
	return { port, host: `127.0.0.1:${port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let dev: DevServer;
let weather: Awaited<ReturnType<typeof mockApi>>;
let elsewhere: Awaited<ReturnType<typeof mockApi>>;

async function smcp(args: string[], stdin = "") {
	const p = promisify(execFile)(process.execPath, ["bin/smcp.mjs", ...args], {
		env: { ...process.env, SMCP_ADMIN_TOKEN: ADMIN, SMCP_API_KEY: "", SMCP_URL: dev.origin },
	});
	p.child.stdin!.end(stdin);
	const r = await p.catch((e: { code: number; stdout: string; stderr: string }) => e);
	if ("code" in r && r.code) throw new Error(`smcp ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
	return r.stdout;
}

/** Replaces `from` in `text`, failing loudly if the example no longer contains it. */
function swap(text: string, from: string, to: string): string {
	if (!text.includes(from)) throw new Error(`examples/weather-proxy no longer contains ${JSON.stringify(from)}: update this test`);
	return text.replaceAll(from, to);
}

/**
 * A copy of the example that calls the mock on `host` instead of api.example-weather.test, plus a
 * `peek` tool reporting what the code can see (the key through `ctx.secrets.get`, the isolate's
 * `process.env` and globals) and what `fetch` gives for a URL it did not list.
 */
function exampleCopy(host: string): string {
	const dir = mkdtempSync(join(tmpdir(), "smcp-weather-"));
	const manifest = JSON.parse(swap(readFileSync(join(EXAMPLE, "smcp.app.json"), "utf8"), "api.example-weather.test", host));
	manifest.tools.push({
		name: "peek",
		description: "What the app's code can see (test only).",
		inputSchema: { type: "object", properties: { url: { type: "string" } }, required: ["url"], additionalProperties: false },
		scope: "mcp:read",
	});
	writeFileSync(join(dir, "smcp.app.json"), JSON.stringify(manifest, null, "\t"));
	let code = readFileSync(join(EXAMPLE, "index.ts"), "utf8");
	code = swap(code, "https://api.example-weather.test", `http://${host}`);
	code = swap(code, "../../shared/apps/sdk", resolve("shared/apps/sdk"));
	code = swap(
		code,
		"export default defineApp({ tools: { forecast } });",
		`async function peek({ url }: { url: string }, ctx: ToolContext) {
	let reached = "";
	try {
		const res = await ctx.fetch(url);
		reached = \`status \${res.status}: \${await res.text()}\`;
	} catch (e) {
		reached = \`refused: \${(e as Error).message}\`;
	}
	const env = (globalThis as { process?: { env?: Record<string, unknown> } }).process?.env ?? {};
	return {
		has: ctx.secrets.has("WEATHER_API_KEY"),
		get: ctx.secrets.get("WEATHER_API_KEY") ?? null,
		secrets: JSON.stringify(ctx.secrets),
		env: JSON.stringify(env),
		globals: Object.getOwnPropertyNames(globalThis).filter((n) => /key|secret|token|smcp/i.test(n)),
		reached,
	};
}

export default defineApp({ tools: { forecast, peek } });`,
	);
	writeFileSync(join(dir, "index.ts"), code);
	return dir;
}

beforeAll(async () => {
	weather = await mockApi((url, res) => {
		if (url.pathname === "/v1/forecast") {
			res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(FORECAST));
		} else if (url.pathname === "/bounce") {
			// A redirect off the allow-list: the gateway must decide the next hop again and refuse it.
			res.writeHead(302, { Location: `http://${elsewhere.host}/stolen` }).end();
		} else res.writeHead(404).end();
	});
	elsewhere = await mockApi((_url, res) => res.writeHead(200).end("reached an unlisted host"));
	dev = await startWrangler({
		persistDir: mkdtempSync(join(tmpdir(), "smcp-apps-clients-")),
		vars: { SMCP_ADMIN_TOKEN: ADMIN, SMCP_SECRETS_KEY: SECRETS_KEY, SMCP_LOG_LEVEL: "debug" },
	});
});
afterAll(async () => {
	await dev?.stop();
	await weather?.close();
	await elsewhere?.close();
});

type Forecast = { structuredContent?: { city: string; days: unknown[]; cached: boolean }; isError?: boolean };
const expected = (city: string) => ({
	city,
	days: [{ date: "2026-01-01", minC: 1, maxC: 7, summary: "rain" }],
	cached: false,
});

/** A 2026-07-28 SDK v2 client that authorises itself like the v1 ones: discovery, registration, PKCE, consent. */
async function connectV2(who: { email: string; password: string }): Promise<ClientV2> {
	const auth = new MemoryAuthProvider();
	const transport = () => new TransportV2(new URL(`${dev.origin}/mcp`), { authProvider: auth as never });
	const client = () => new ClientV2({ name: "e2e-v2", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
	const first = client();
	try {
		await first.connect(transport());
		await first.listTools();
		return first;
	} catch (e) {
		if (!(e instanceof UnauthorizedV2) || !auth.authorizationUrl) throw e;
	}
	// The redirect's query as the browser brings it back: `code`, `state` and `iss` (RFC 9207, which v2 checks).
	const back = await consentRedirect(fetch, auth.authorizationUrl.toString(), { ...who, origin: dev.origin });
	await transport().finishAuth(back.searchParams);
	const authed = client();
	await authed.connect(transport());
	return authed;
}

describe("a tenant's HTTP app, deployed from the CLI, used by real clients", () => {
	let owner: { userId: string; tenantId: string };

	it("the owner deploys the weather example from the CLI and sets its key from stdin (never printed)", async () => {
		owner = JSON.parse(await smcp(["users", "create", "--email", OWNER.email, "--password-stdin"], OWNER.password));
		const deployed = await smcp(["apps", "deploy", exampleCopy(weather.host), "--tenant", owner.tenantId]);
		expect(deployed).toMatch(/^deployed weather-proxy 1\.0\.0 [0-9a-f]{64} \(new version, now active\)/);
		const set = await smcp(["secrets", "set", "WEATHER_API_KEY", "--tenant", owner.tenantId], `${KEY}\n`);
		expect(set).toMatch(/^set WEATHER_API_KEY/);
		expect(set).not.toContain(KEY);
		expect(await smcp(["apps", "list", "--tenant", owner.tenantId])).toContain(`egress: ${weather.host}`);
	});

	it("SDK v1 over /mcp (2025-11-25): lists the tool and calls it; the mock sees the key in the injected header only", async () => {
		const { client } = await connectWithOAuth("mcp", dev.origin, OWNER);
		const tools = (await client.listTools()).tools;
		const forecast = tools.find((t) => t.name === "weather-proxy__forecast");
		expect(forecast?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
		expect(tools.map((t) => t.name)).toContain("read_graph");
		const r = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo", days: 1 } })) as Forecast;
		expect(r.isError).toBeFalsy();
		expect(r.structuredContent).toEqual(expected("Oslo"));
		expect(weather.seen).toHaveLength(1);
		const [req] = weather.seen;
		expect(req!.method).toBe("GET");
		expect(req!.url).toBe("/v1/forecast?city=Oslo&days=1");
		expect(req!.headers.authorization).toBe(`Bearer ${KEY}`);
		// The key is in that one header and nowhere else in the request.
		const { authorization: _a, ...rest } = req!.headers;
		expect(JSON.stringify(rest) + req!.url).not.toContain(KEY);
		await client.close();
	});

	it("SDK v2 over /mcp (2026-07-28): the same tool, listed and called", async () => {
		const client = await connectV2(OWNER);
		expect((await client.listTools()).tools.map((t) => t.name)).toContain("weather-proxy__forecast");
		const r = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Bergen", days: 1 } })) as Forecast;
		expect(r.structuredContent).toEqual(expected("Bergen"));
		expect(weather.seen.at(-1)!.url).toBe("/v1/forecast?city=Bergen&days=1");
		expect(weather.seen.at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`);
		await client.close();
	});

	it("SDK v1 over /sse (2024-11-05): the same tool; a repeated call is served from the app's storage", async () => {
		const { client } = await connectWithOAuth("sse", dev.origin, OWNER);
		expect((await client.listTools()).tools.map((t) => t.name)).toContain("weather-proxy__forecast");
		const r = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Tromsø", days: 1 } })) as Forecast;
		expect(r.structuredContent).toEqual(expected("Tromsø"));
		const before = weather.seen.length;
		const again = (await client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Tromsø", days: 1 } })) as Forecast;
		expect(again.structuredContent?.cached).toBe(true);
		expect(weather.seen).toHaveLength(before);
		await client.close();
	});

	it("the app's code never sees the key, and reaches no host off its list (directly or by redirect)", async () => {
		const { client } = await connectWithOAuth("mcp", dev.origin, OWNER);
		const peek = async (url: string) =>
			((await client.callTool({ name: "weather-proxy__peek", arguments: { url } })) as { structuredContent: Record<string, unknown> })
				.structuredContent;
		const direct = await peek(`http://${elsewhere.host}/direct`);
		expect(direct).toMatchObject({ has: true, get: null, env: "{}", globals: [] });
		expect(direct.reached).toMatch(/^refused: /);
		expect(JSON.stringify(direct)).not.toContain(KEY);
		const bounced = await peek(`http://${weather.host}/bounce`);
		expect(bounced.reached).toMatch(/^refused: /);
		expect(JSON.stringify(bounced)).not.toContain(KEY);
		expect(elsewhere.seen).toEqual([]);
		// Every request the listed host saw is one of the tool's own, each with the key in its header.
		for (const s of weather.seen) {
			expect(s.url).toMatch(/^\/(v1\/forecast\?|bounce$)/);
			expect(s.headers.authorization).toBe(`Bearer ${KEY}`);
		}
		await client.close();
	});

	it("a second tenant lists none of the app's tools and cannot call them, on every lane", async () => {
		await smcp(["users", "create", "--email", STRANGER.email, "--password-stdin"], STRANGER.password);
		const before = weather.seen.length;
		const clients: Client[] = [];
		for (const kind of ["mcp", "sse"] as const) {
			const { client } = await connectWithOAuth(kind, dev.origin, STRANGER);
			clients.push(client);
			const names = (await client.listTools()).tools.map((t) => t.name);
			expect(names).toContain("read_graph");
			expect(names.filter((n) => n.includes("__"))).toEqual([]);
			await expect(client.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo" } })).rejects.toThrow(/Unknown tool/);
		}
		const v2 = await connectV2(STRANGER);
		expect((await v2.listTools()).tools.filter((t) => t.name.includes("__"))).toEqual([]);
		await expect(v2.callTool({ name: "weather-proxy__forecast", arguments: { city: "Oslo" } })).rejects.toThrow(/Unknown tool/);
		await v2.close();
		for (const c of clients) await c.close();
		expect(weather.seen).toHaveLength(before);
		expect(elsewhere.seen).toEqual([]);
	});

	it("the key is in no log line, audit row or app log", async () => {
		expect(readFileSync(dev.logFile, "utf8")).not.toContain(KEY);
		const audit = await smcp(["audit", "export", "--tenant", owner.tenantId]);
		expect(audit).toMatch(/egress: GET 127\.0\.0\.1:\d+ 200 \d+B/);
		expect(audit).not.toContain(KEY);
		expect(await smcp(["apps", "logs", "weather-proxy", "--tenant", owner.tenantId])).not.toContain(KEY);
	});
});
