/**
 * The connected-apps page in a real browser (Debian's Chromium driven by playwright-core) against
 * `wrangler dev`: sign in with the keyboard, see the connected client, revoke it and watch its next
 * call fail, create an API key and use it from a headless MCP client with only the chosen scopes.
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { obtainTokens } from "../support/oauth-flow";
import { startWrangler, type DevServer } from "./wrangler";

const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
const CHROMIUM = process.env.SMCP_CHROMIUM ?? "/usr/bin/chromium";
let dev: DevServer;
let browser: Browser;

beforeAll(async () => {
	if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set SMCP_CHROMIUM)`);
	dev = await startWrangler({ persistDir: mkdtempSync(join(tmpdir(), "smcp-browser-")) });
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-background-networking",
			"--disable-component-update",
			"--no-first-run",
		],
	});
});
afterAll(async () => {
	await browser?.close();
	await dev?.stop();
});

const mcp = (token: string, body: unknown, session?: string) =>
	fetch(`${dev.origin}/mcp`, {
		method: "POST",
		headers: {
			Authorization: `Bearer ${token}`,
			"Content-Type": "application/json",
			Accept: "application/json, text/event-stream",
			...(session ? { "Mcp-Session-Id": session } : {}),
		},
		body: JSON.stringify(body),
	});
const INIT = {
	jsonrpc: "2.0",
	id: 1,
	method: "initialize",
	params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "b", version: "1" } },
};

describe("connected-apps page in Chromium", () => {
	it("sign in with the keyboard, revoke a connected client, create a key and use it", async () => {
		// A client connected through the real consent flow, with a live MCP session.
		const tokens = await obtainTokens({ fetch, origin: dev.origin, ...DEV });
		const init = await mcp(tokens.access_token, INIT);
		expect(init.status).toBe(200);
		const session = init.headers.get("Mcp-Session-Id")!;

		const context = await browser.newContext();
		const page = await context.newPage();
		await page.goto(`${dev.origin}/account`);
		await page.getByLabel("Email").focus();
		await page.keyboard.type(DEV.email);
		await page.keyboard.press("Tab");
		await page.keyboard.type(DEV.password);
		await page.keyboard.press("Enter");
		await page.getByText("Signed in as").waitFor({ timeout: 10_000 });
		const row = page.getByRole("row", { name: /Test client/ });
		expect(await row.count()).toBe(1);
		mkdirSync("test-results", { recursive: true });
		await page.screenshot({ path: "test-results/account-page.png", fullPage: true });

		await page.getByRole("button", { name: "Revoke Test client" }).click();
		await page.waitForLoadState();
		expect(await page.getByText("No apps are connected to this workspace.").count()).toBe(1);
		const refused = await mcp(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, session);
		expect(refused.status).toBe(401);

		await page.getByLabel("Name").fill("browser-made key");
		// Read only: leave "mcp:write" unchecked.
		await page.getByRole("button", { name: "Create key" }).click();
		const key = await page.locator("#newkey").inputValue();
		expect(key).toMatch(/^smcp_[0-9a-f]{8}_/);
		await page.screenshot({ path: "test-results/account-page-key.png", fullPage: true });

		const client = new Client({ name: "headless-with-key", version: "1" });
		await client.connect(
			new StreamableHTTPClientTransport(new URL(`${dev.origin}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }),
		);
		const names = (await client.listTools()).tools.map((t) => t.name).sort();
		expect(names).toEqual(["audit_log", "open_nodes", "read_graph", "search_nodes"]);
		expect((await client.callTool({ name: "read_graph", arguments: {} })).isError).toBeFalsy();
		await client.close();

		// Reload: the key is listed by prefix only, with its last use, and never shown again.
		await page.goto(`${dev.origin}/account`);
		expect(await page.content()).not.toContain(key);
		expect(await page.getByRole("row", { name: /browser-made key/ }).count()).toBe(1);
		await context.close();
	});

	it("the consent screen works in a real browser: sign in, approve, and the code reaches the client", async () => {
		const { registerClient, pkce } = await import("../support/oauth-flow");
		const redirect = "http://127.0.0.1:9/callback";
		const clientId = await registerClient(fetch, dev.origin, redirect, "Browser Consent Test");
		const { challenge } = await pkce();
		const url = new URL(`${dev.origin}/authorize`);
		url.search = new URLSearchParams({
			response_type: "code",
			client_id: clientId,
			redirect_uri: redirect,
			scope: "mcp:read mcp:write",
			state: "s1",
			code_challenge: challenge,
			code_challenge_method: "S256",
			resource: dev.origin,
		}).toString();
		const context = await browser.newContext();
		const page = await context.newPage();
		let landed = "";
		// The client's redirect URI: capture it instead of connecting to port 9.
		await page.route("http://127.0.0.1:9/**", (route) => {
			landed = route.request().url();
			return route.fulfill({ status: 200, body: "ok" });
		});
		await page.goto(url.toString());
		expect(await page.getByText("Browser Consent Test").count()).toBeGreaterThan(0);
		await page.screenshot({ path: "test-results/consent-page.png", fullPage: true });
		await page.getByLabel("Email").fill(DEV.email);
		await page.getByLabel("Password").fill(DEV.password);
		// The person grants less than asked: untick write.
		await page.getByLabel(/Create, change and delete/).uncheck();
		await page.getByRole("button", { name: "Sign in and approve" }).click();
		await page.waitForURL("http://127.0.0.1:9/**");
		const back = new URL(landed);
		expect(back.searchParams.get("code")).toBeTruthy();
		expect(back.searchParams.get("state")).toBe("s1");
		await context.close();
	});

	it("the page cannot be framed and loads nothing from elsewhere", async () => {
		const context = await browser.newContext();
		const page = await context.newPage();
		const requests: string[] = [];
		page.on("request", (r) => void requests.push(r.url()));
		const res = await page.goto(`${dev.origin}/account`);
		expect(res!.headers()["x-frame-options"]).toBe("DENY");
		expect(res!.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
		expect(requests.every((u) => u.startsWith(dev.origin))).toBe(true);
		await context.close();
	});
});
