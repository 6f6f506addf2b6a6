/**
 * The connected-apps page over HTTP: sign-in, CSRF, revoking a grant, creating and revoking keys,
 * roles. (test/e2e/account-browser.test.ts drives the same page in a real browser.)
 */
import { describe, expect, it } from "vitest";
import { CookieJar } from "../support/oauth-flow";
import { INIT, ORIGIN, rawPost, selfFetch, signedIn } from "./helpers";

async function signIn(email: string, password: string) {
	const jar = new CookieJar();
	const res = await selfFetch(`${ORIGIN}/account/sign-in`, {
		method: "POST",
		redirect: "manual",
		headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN },
		body: new URLSearchParams({ email, password }).toString(),
	});
	jar.take(res);
	return { res, jar };
}

async function page(jar: CookieJar, tenant?: string) {
	const res = await selfFetch(`${ORIGIN}/account${tenant ? `?tenant=${tenant}` : ""}`, { headers: { Cookie: jar.header() } });
	const html = await res.text();
	const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
	return { res, html, csrf };
}

const post = (jar: CookieJar | null, path: string, fields: Record<string, string | string[]>) => {
	const form = new URLSearchParams();
	for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) form.append(k, x);
	return selfFetch(`${ORIGIN}${path}`, {
		method: "POST",
		redirect: "manual",
		headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN, ...(jar ? { Cookie: jar.header() } : {}) },
		body: form.toString(),
	});
};

describe("connected-apps page", () => {
	// First in this file: nothing has opened a consent page yet, so nothing has seeded the account.
	it("the development account (wrangler dev) can sign in here before any app connected", async () => {
		const { res } = await signIn("dev@smcp.local", "smcp-dev-password");
		expect(res.status).toBe(303);
	});

	it("signs in with a __Host- session cookie, strict CSP, and shows the connected client", async () => {
		const { account } = await signedIn();
		const { res, jar } = await signIn(account.email, account.password);
		expect(res.status).toBe(303);
		const cookie = res.headers.get("Set-Cookie")!;
		expect(cookie).toMatch(/^__Host-smcp-account=/);
		expect(cookie).toMatch(/HttpOnly/);
		expect(cookie).toMatch(/Secure/);
		expect(cookie).toMatch(/SameSite=Lax/);
		const p = await page(jar);
		expect(p.res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
		expect(p.res.headers.get("Content-Security-Policy")).toContain("form-action 'self'");
		expect(p.html).toContain("Test client");
		expect(p.html).toContain(account.email);
	});

	it("a wrong password shows the form again with a generic error", async () => {
		const { account } = await signedIn();
		const { res } = await signIn(account.email, "not the password");
		expect(res.status).toBe(200);
		expect(await res.text()).toContain("Email or password is incorrect.");
	});

	it("revoking a grant on the page makes the client's token fail on its live session (401)", async () => {
		const { account, tokens } = await signedIn();
		const init = await rawPost(tokens.access_token, INIT);
		const session = init.headers.get("Mcp-Session-Id")!;
		const { jar } = await signIn(account.email, account.password);
		const p = await page(jar);
		const grant = /name="grant" value="([^"]+)"/.exec(p.html)![1]!;
		const res = await post(jar, "/account/grants/revoke", { csrf: p.csrf, tenant: account.tenantId, grant, user: account.userId });
		expect(res.status).toBe(303);
		expect(
			(await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": session })).status,
		).toBe(401);
		expect((await page(jar)).html).toContain("No apps are connected");
	});

	it("a form without the CSRF token (cross-site request forgery) is refused", async () => {
		const { account } = await signedIn();
		const { jar } = await signIn(account.email, account.password);
		const res = await post(jar, "/account/keys", { tenant: account.tenantId, name: "x", scope: "mcp:read", days: "1" });
		expect(res.status).toBe(403);
		const foreign = await selfFetch(`${ORIGIN}/account/keys`, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "http://evil.example", Cookie: jar.header() },
			body: "tenant=x",
		});
		expect(foreign.status).toBe(403);
	});

	it("an owner creates a key (shown once), uses it, and revokes it", async () => {
		const { account } = await signedIn();
		const { jar } = await signIn(account.email, account.password);
		const p = await page(jar);
		const created = await post(jar, "/account/keys", {
			csrf: p.csrf,
			tenant: account.tenantId,
			name: "laptop",
			scope: "mcp:read",
			days: "7",
		});
		// Post/redirect/get: the key is shown by the page the redirect leads to, once.
		expect(created.status).toBe(303);
		jar.take(created);
		const shown = await page(jar);
		jar.take(shown.res);
		const key = /id="newkey" readonly value="([^"]+)"/.exec(shown.html)![1]!;
		expect(key).toMatch(/^smcp_/);
		expect((await rawPost(key, INIT)).status).toBe(200);
		const again = await page(jar);
		expect(again.html).not.toContain(key);
		const keyId = /name="key" value="([0-9a-f]{8})"/.exec(again.html)![1]!;
		expect((await post(jar, "/account/keys/revoke", { csrf: again.csrf, tenant: account.tenantId, key: keyId })).status).toBe(303);
		expect((await rawPost(key, INIT)).status).toBe(401);
	});

	it("a workspace the person does not belong to is not found", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const { jar } = await signIn(a.account.email, a.account.password);
		const p = await page(jar);
		const res = await post(jar, "/account/keys", { csrf: p.csrf, tenant: b.account.tenantId, name: "x", scope: "mcp:read", days: "1" });
		expect(res.status).toBe(404);
		expect((await page(jar, b.account.tenantId)).html).not.toContain(b.account.email);
	});

	it("reloading after Create key neither makes a second key nor shows the secret again (duplicate form submission)", async () => {
		const { account } = await signedIn();
		const { jar } = await signIn(account.email, account.password);
		const p = await page(jar);
		const created = await post(jar, "/account/keys", {
			csrf: p.csrf,
			tenant: account.tenantId,
			name: "once",
			scope: "mcp:read",
			days: "7",
		});
		expect(created.status).toBe(303);
		expect(created.headers.get("Location")).not.toMatch(/smcp_/);
		jar.take(created);
		const first = await page(jar);
		expect(first.html).toContain('id="newkey"');
		// The page that showed the key clears the flash; the browser's reload is a GET of the same URL.
		jar.take(first.res);
		const reload = await page(jar);
		expect(reload.html).not.toContain('id="newkey"');
		expect(reload.html.match(/<h3>once /g)).toHaveLength(1);
	});

	it("a replayed flash cookie does not show a key to another session (flash theft)", async () => {
		const { account } = await signedIn();
		const a = await signIn(account.email, account.password);
		const p = await page(a.jar);
		const created = await post(a.jar, "/account/keys", { csrf: p.csrf, tenant: account.tenantId, name: "k", scope: "mcp:read", days: "7" });
		const flash = created.headers
			.getSetCookie()
			.find((c) => c.startsWith("__Host-smcp-flash="))!
			.split(";")[0]!;
		const b = await signIn(account.email, account.password);
		const res = await selfFetch(`${ORIGIN}/account`, { headers: { Cookie: `${b.jar.header()}; ${flash}` } });
		expect(await res.text()).not.toContain('id="newkey"');
	});

	it("a copied session cookie stops working once its owner signs out (stateless session replay)", async () => {
		const { account } = await signedIn();
		const { jar } = await signIn(account.email, account.password);
		const copied = jar.header();
		const p = await page(jar);
		expect((await post(jar, "/account/sign-out", { csrf: p.csrf })).status).toBe(303);
		const replay = await selfFetch(`${ORIGIN}/account`, { headers: { Cookie: copied } });
		expect(await replay.text()).toContain("Sign in");
		expect(
			(
				await post({ header: () => copied } as CookieJar, "/account/keys", {
					csrf: p.csrf,
					tenant: account.tenantId,
					name: "x",
					scope: "mcp:read",
					days: "1",
				})
			).status,
		).toBe(403);
	});

	it("changing the password ends every other session at once; this browser stays signed in (session survives password change)", async () => {
		const { account } = await signedIn();
		const other = await signIn(account.email, account.password);
		const mine = await signIn(account.email, account.password);
		const p = await page(mine.jar);
		const wrong = await post(mine.jar, "/account/password", { csrf: p.csrf, current: "not it at all", password: "a brand new passphrase" });
		expect(wrong.status).toBe(303);
		mine.jar.take(wrong);
		expect((await page(mine.jar)).html).toContain("The current password is not right");
		const res = await post(mine.jar, "/account/password", { csrf: p.csrf, current: account.password, password: "a brand new passphrase" });
		expect(res.status).toBe(303);
		mine.jar.take(res);
		expect((await page(mine.jar)).html).toContain("Password changed");
		expect(await (await selfFetch(`${ORIGIN}/account`, { headers: { Cookie: other.jar.header() } })).text()).toContain("Sign in");
		expect((await signIn(account.email, "a brand new passphrase")).res.status).toBe(303);
		expect((await signIn(account.email, account.password)).res.status).toBe(200);
	});

	it("an operator's password reset ends the account's web sessions (session survives password reset)", async () => {
		const { account } = await signedIn();
		const { jar } = await signIn(account.email, account.password);
		expect((await page(jar)).html).toContain("Sign out");
		const reset = await selfFetch(`${ORIGIN}/admin/users/${account.userId}/password`, {
			method: "POST",
			headers: { Authorization: "Bearer test-admin-token-0123456789abcdef0123456789", "Content-Type": "application/json" },
			body: JSON.stringify({ password: "operator chose this one" }),
		});
		expect(reset.status).toBe(200);
		expect((await page(jar)).html).toContain("Sign in");
	});

	it("revoking asks for confirmation first and says what it did; activity names the app, not its id", async () => {
		const { account, tokens } = await signedIn();
		await rawPost(tokens.access_token, INIT);
		const { jar } = await signIn(account.email, account.password);
		const p = await page(jar);
		expect(p.html).toMatch(/<details><summary class="btn danger small" aria-label="Revoke Test client">/);
		expect(p.html).toContain("Disconnect Test client?");
		expect(p.html).toContain("Read your memory graph");
		expect(p.html).not.toMatch(/<code>[0-9A-Za-z_-]{16,}<\/code>/); // no raw client id in the activity
		expect(p.html).toContain("<strong>Test client</strong>");
		const grant = /name="grant" value="([^"]+)"/.exec(p.html)![1]!;
		const res = await post(jar, "/account/grants/revoke", { csrf: p.csrf, tenant: account.tenantId, grant, user: account.userId });
		jar.take(res);
		expect((await page(jar)).html).toContain("Revoked Test client: its tokens no longer work");
	});

	it("a signed-out visitor gets the sign-in form; a forged session cookie is ignored", async () => {
		const res = await selfFetch(`${ORIGIN}/account`, { headers: { Cookie: "__Host-smcp-account=eyJ1c2VySWQiOiJ1X3gifQ.forged" } });
		expect(await res.text()).toContain("<h1>Sign in</h1>");
	});
});
