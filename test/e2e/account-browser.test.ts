/**
 * SMCP's pages in a real browser (Debian's Chromium driven by playwright-core) against
 * `wrangler dev` with a mock OpenID provider: sign in with the keyboard, revoke a connected client
 * (with confirmation) and watch its next call fail, create an API key, reload without making a
 * second one, use the key from a headless MCP client; the consent page, the remembered sign-in on
 * a second consent, single sign-on to `/account`; and every page at desktop and phone widths in
 * both colour schemes, with nothing wider than the viewport (screenshots in test-results/pages/).
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { obtainTokens } from "../support/oauth-flow";
import { startMockOidc, type MockOidcProvider } from "./mock-oidc";
import { startWrangler, type DevServer } from "./wrangler";

const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
const CHROMIUM = process.env.SMCP_CHROMIUM ?? "/usr/bin/chromium";
const SSO_USER = { sub: "browser-sso-1", email: "sso-browser@example.test", email_verified: true, name: "Browser Sso" };
let dev: DevServer;
let idp: MockOidcProvider;
let browser: Browser;

beforeAll(async () => {
	if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set SMCP_CHROMIUM)`);
	idp = await startMockOidc(SSO_USER);
	dev = await startWrangler({
		persistDir: mkdtempSync(join(tmpdir(), "smcp-browser-")),
		vars: {
			SMCP_OIDC_ISSUER: idp.issuer,
			SMCP_OIDC_CLIENT_ID: idp.clientId,
			SMCP_OIDC_CLIENT_SECRET: idp.clientSecret,
			SMCP_OIDC_NAME: "Mock SSO",
		},
	});
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
	await idp?.close();
});

/** Signs in on the account page's form. */
async function signInOnAccountPage(page: import("playwright-core").Page): Promise<void> {
	await page.goto(`${dev.origin}/account`);
	await page.getByLabel("Email").fill(DEV.email);
	await page.getByLabel("Password").fill(DEV.password);
	await page.getByRole("button", { name: "Sign in", exact: true }).click();
	await page.getByText("Signed in as").waitFor({ timeout: 10_000 });
}

/** An authorization URL for a freshly registered client whose redirect URI the test intercepts. */
async function authorizeUrl(name: string): Promise<string> {
	const { authorizeUrl: build, registerClient, pkce } = await import("../support/oauth-flow");
	const redirectUri = "http://127.0.0.1:9/callback";
	const clientId = await registerClient(fetch, dev.origin, redirectUri, name);
	const { challenge } = await pkce();
	return build(dev.origin, { clientId, redirectUri, challenge, state: "s1", resource: dev.origin }).toString();
}

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
		expect(await page.locator("h3", { hasText: "Test client" }).count()).toBe(1);
		mkdirSync("test-results", { recursive: true });
		await page.screenshot({ path: "test-results/account-page.png", fullPage: true });

		// Revoke asks first, then says what it did.
		await page.locator('summary[aria-label="Revoke Test client"]').click();
		expect(await page.getByText("Disconnect Test client?").isVisible()).toBe(true);
		await page.getByRole("button", { name: "Yes, revoke" }).click();
		await page.getByText("Revoked Test client").waitFor({ timeout: 10_000 });
		expect(await page.getByText("No apps are connected to this workspace.").count()).toBe(1);
		const refused = await mcp(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, session);
		expect(refused.status).toBe(401);

		await page.getByRole("region", { name: "API keys" }).getByLabel("Name").fill("browser-made key");
		// Read only: leave "mcp:write" unchecked.
		await page.getByRole("button", { name: "Create key" }).click();
		const key = await page.locator("#newkey").inputValue();
		expect(key).toMatch(/^smcp_[0-9a-f]{8}_/);
		await page.screenshot({ path: "test-results/account-page-key.png", fullPage: true });
		// Reload (post/redirect/get): no second key, and the secret is not shown again.
		await page.reload();
		expect(await page.locator("#newkey").count()).toBe(0);
		expect(await page.locator("h3", { hasText: "browser-made key" }).count()).toBe(1);

		const client = new Client({ name: "headless-with-key", version: "1" });
		await client.connect(
			new StreamableHTTPClientTransport(new URL(`${dev.origin}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }),
		);
		const names = (await client.listTools()).tools.map((t) => t.name).sort();
		expect(names).toEqual(["audit_log", "export_graph", "open_nodes", "read_graph", "search_nodes"]);
		expect((await client.callTool({ name: "read_graph", arguments: {} })).isError).toBeFalsy();
		await client.close();

		// Reload: the key is listed by prefix only, with its last use, and never shown again.
		await page.goto(`${dev.origin}/account`);
		expect(await page.content()).not.toContain(key);
		expect(await page.locator("h3", { hasText: "browser-made key" }).count()).toBe(1);
		await context.close();
	});

	it("the consent screen works in a real browser: sign in, approve, and the code reaches the client", async () => {
		const url = await authorizeUrl("Browser Consent Test");
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

	it("a browser signed in once approves the next client without the password; the consent is still asked (remembered sign-in)", async () => {
		const context = await browser.newContext();
		const page = await context.newPage();
		let landed = "";
		await page.route("http://127.0.0.1:9/**", (route) => {
			landed = route.request().url();
			return route.fulfill({ status: 200, body: "ok" });
		});
		await signInOnAccountPage(page);
		await page.goto(await authorizeUrl("Second Client"));
		expect(await page.getByText(`Signed in as ${DEV.email}`).count()).toBe(1);
		expect(await page.getByLabel(/Create, change and delete/).isChecked()).toBe(true);
		await page.getByRole("button", { name: "Approve", exact: true }).click();
		await page.waitForURL("http://127.0.0.1:9/**");
		expect(new URL(landed).searchParams.get("code")).toBeTruthy();
		await context.close();
	});

	it("a person whose account comes from single sign-on opens /account through the provider", async () => {
		const context = await browser.newContext();
		const page = await context.newPage();
		await page.goto(`${dev.origin}/account`);
		await page.getByRole("button", { name: "Continue with Mock SSO" }).click();
		await page.getByText("Signed in as").waitFor({ timeout: 10_000 });
		expect(page.url()).toBe(`${dev.origin}/account`);
		expect(await page.getByText(SSO_USER.email).count()).toBeGreaterThan(0);
		await context.close();
	});

	it("every page at desktop and phone widths, light and dark: nothing is wider than the screen (screenshots kept)", async () => {
		mkdirSync("test-results/pages", { recursive: true });
		const consentUrl = await authorizeUrl("A client with a rather long name, to see it wrap on a phone");
		for (const [width, height] of [
			[1280, 900],
			[390, 844],
		] as const) {
			for (const colorScheme of ["light", "dark"] as const) {
				const context = await browser.newContext({ viewport: { width, height }, colorScheme });
				const page = await context.newPage();
				const shots: [string, () => Promise<unknown>][] = [
					["landing", () => page.goto(`${dev.origin}/`)],
					["account-sign-in", () => page.goto(`${dev.origin}/account`)],
					["consent", () => page.goto(consentUrl)],
					["account", () => signInOnAccountPage(page)],
					["consent-signed-in", () => page.goto(consentUrl)],
				];
				for (const [name, open] of shots) {
					await open();
					// Strings: the test's TypeScript has no DOM library; these run in the page.
					await page.evaluate(`for (const d of document.querySelectorAll("details")) d.open = true`);
					const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
					await page.screenshot({ path: `test-results/pages/${name}-${width}-${colorScheme}.png`, fullPage: true });
					expect(overflow, `${name} at ${width}px (${colorScheme}) is ${overflow}px too wide`).toBeLessThanOrEqual(0);
				}
				const bg = (await page.evaluate("getComputedStyle(document.body).backgroundColor")) as string;
				expect(bg === "rgb(14, 16, 20)", `${colorScheme} background ${bg}`).toBe(colorScheme === "dark");
				await context.close();
			}
		}
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
