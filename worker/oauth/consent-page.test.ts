/**
 * @module worker/oauth/consent-page.test
 * Unit tests for the server-rendered pages: escaping of client-controlled strings, security
 * headers, no external resources, plain-language scopes and the loopback warning.
 */
import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";
import { describe, expect, it } from "vitest";
import { escapeHtml, renderAuthorizePage, renderErrorPage } from "./consent-page";

function consent(overrides: Partial<ConsentDescription> = {}): ConsentDescription {
	return {
		clientId: "client-123",
		clientName: "Example Client",
		redirectUri: "https://app.example.com/callback",
		redirectHost: "app.example.com",
		redirectIsLoopback: false,
		scope: ["mcp:read", "mcp:write"],
		...overrides,
	};
}

async function page(overrides: Partial<ConsentDescription> = {}, extra: Partial<Parameters<typeof renderAuthorizePage>[0]> = {}) {
	const res = renderAuthorizePage({ consent: consent(overrides), handle: "h4ndle", query: "client_id=client-123&state=xyz", ...extra });
	return { res, html: await res.text() };
}

const HOSTILE = [`<script>alert(1)</script>`, `"onmouseover="alert(1)`, `'onfocus='alert(1)`, `x" autofocus onfocus="alert(1)`];

describe("escapeHtml", () => {
	it("escapes every character that can open a tag or leave an attribute", () => {
		expect(escapeHtml(`<a href="x" onclick='y'>&amp;`)).toBe("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;");
	});
});

describe("renderAuthorizePage", () => {
	it.each(HOSTILE)("consent page escapes a hostile client name (stored XSS via dynamic registration): %s", async (name) => {
		const { html } = await page({ clientName: name });
		expect(html).not.toContain(name);
		expect(html).not.toContain("<script>");
		// No quote survives to end the attribute or element it sits in.
		expect(html).not.toMatch(/onmouseover="|onfocus="|onfocus='/i);
		expect(html).toContain(escapeHtml(name));
	});

	it("escapes hostile scopes, redirect host and CIMD domain (client-controlled metadata)", async () => {
		const { html } = await page({
			scope: ["mcp:read", `"><img src=x onerror=alert(1)>`],
			redirectHost: `<b>evil</b>`,
			clientDomain: `"><svg onload=alert(1)>`,
		});
		expect(html).not.toContain("<img");
		expect(html).not.toContain("<svg");
		expect(html).not.toContain("<b>evil</b>");
		expect(html).toContain(escapeHtml(`"><img src=x onerror=alert(1)>`));
	});

	it("escapes the handle, query and prefilled email in hidden and text fields (attribute breakout)", async () => {
		const { html } = await page({}, { handle: `"><script>1</script>`, query: `a="b"&c=<d>`, email: `x"autofocus onfocus="alert(1)` });
		expect(html).not.toContain("<script>");
		expect(html).not.toContain(`onfocus="`);
		expect(html).toContain(`value="${escapeHtml(`x"autofocus onfocus="alert(1)`)}"`);
		expect(html).toContain(`name="q" value="${escapeHtml(`a="b"&c=<d>`)}"`);
	});

	it("sets CSP without form-action, and the anti-framing and privacy headers (clickjacking)", async () => {
		const { res, html } = await page();
		const csp = res.headers.get("Content-Security-Policy") ?? "";
		const nonce = /style-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
		expect(csp).toBe(`default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'`);
		expect(csp).not.toContain("form-action");
		expect(html).toContain(`<style nonce="${nonce}">`);
		expect(res.headers.get("X-Frame-Options")).toBe("DENY");
		expect(res.headers.get("Referrer-Policy")).toBe("same-origin");
		expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
	});

	it("uses a fresh style nonce per response", async () => {
		const a = (await page()).res.headers.get("Content-Security-Policy");
		const b = (await page()).res.headers.get("Content-Security-Policy");
		expect(a).not.toBe(b);
	});

	it("loads nothing external, not even the client's logo (tracking pixel / mixed content)", async () => {
		const { html } = await page({ logoUri: "https://evil.example/logo.png", clientUri: "https://evil.example/" });
		expect(html).not.toMatch(/https?:\/\//);
		// Only the brand's link home, on this origin.
		expect(html.match(/\s(src|href)="[^"]*"/gi)).toEqual([' href="/"']);
		expect(html).not.toContain("<script");
	});

	it("describes SMCP scopes in plain words as checkboxes ticked by default", async () => {
		const { html } = await page();
		expect(html).toContain("Read your memory graph and other SMCP data");
		expect(html).toContain("Create, change and delete your SMCP data");
		expect(html).toMatch(/<input type="checkbox" id="scope-0" name="scope" value="mcp:read" checked>/);
		expect(html).toMatch(/<input type="checkbox" id="scope-1" name="scope" value="mcp:write" checked>/);
		expect(html).toContain(`<label for="scope-0">`);
	});

	it("keeps the person's choice when the page is shown again", async () => {
		const { html } = await page({}, { checked: ["mcp:read"], error: "Email or password is incorrect." });
		expect(html).toMatch(/value="mcp:read" checked>/);
		expect(html).toMatch(/value="mcp:write">/);
		expect(html).toContain(`role="alert">Email or password is incorrect.</p>`);
	});

	it("shows an unknown scope verbatim and says it will not be granted", async () => {
		const { html } = await page({ scope: ["mcp:read", "admin:everything"] });
		expect(html).toContain("<code>admin:everything</code>");
		expect(html).toContain("will not be granted");
		expect(html).not.toMatch(/value="admin:everything"/);
	});

	it("warns that any program on the computer could receive a loopback approval (RFC 8252 §8.3)", async () => {
		const { html } = await page({ redirectHost: "127.0.0.1", redirectIsLoopback: true });
		expect(html).toContain("Any program on that computer could receive the approval");
		expect(html).toContain("<strong>127.0.0.1</strong>");
		const remote = await page();
		expect(remote.html).not.toContain("Any program on that computer");
		expect(remote.html).toContain("<strong>app.example.com</strong>");
	});

	it("shows a CIMD client's verified domain, and flags other names as unverified (consent phishing)", async () => {
		expect((await page({ clientDomain: "client.example.org" })).html).toContain("Verified domain: <strong>client.example.org</strong>");
		expect((await page()).html).toContain("it has not been verified");
	});

	it("has the sign-in fields, hidden fields and both buttons; Deny works with empty fields", async () => {
		const { html } = await page();
		expect(html).toContain(`<html lang="en">`);
		expect(html).toMatch(/<h1>Allow Example Client to use your account\?<\/h1>/);
		expect(html).toContain(`<form method="post" action="/authorize">`);
		expect(html).toContain(`<input type="hidden" name="handle" value="h4ndle">`);
		expect(html).toContain(`<label for="email">Email</label>`);
		expect(html).toContain(`<label for="password">Password</label>`);
		expect(html).toMatch(/<input type="password" id="password" name="password" autocomplete="current-password" required>/);
		expect(html).toContain(`<button class="btn" type="submit" name="action" value="approve">Sign in and approve</button>`);
		expect(html).toContain(`<button class="btn secondary" type="submit" name="action" value="deny" formnovalidate>Deny</button>`);
	});

	it("offers upstream sign-in only when configured, escaped, after the password button (Enter still signs in locally)", async () => {
		expect((await page()).html).not.toContain(`value="oidc"`);
		const { html } = await page({}, { sso: { name: `Acme <SSO>` } });
		expect(html).toContain("<legend>Sign in with Acme &lt;SSO&gt;</legend>");
		expect(html).toContain(
			`<button class="btn secondary" type="submit" name="action" value="oidc" formnovalidate>Continue with Acme &lt;SSO&gt;</button>`,
		);
		expect(html).toContain("is connected only after you have signed in there");
		// HTML implicit submission uses the form's first submit button.
		expect(html.indexOf(`value="approve"`)).toBeLessThan(html.indexOf(`value="oidc"`));
		expect(html.indexOf(`value="oidc"`)).toBeLessThan(html.indexOf("</form>"));
	});

	it("a signed-in browser sees who it is and posts the handle's proof instead of a password (remembered sign-in)", async () => {
		const { html } = await page({}, { session: { email: `ada@example.com`, proof: `pr"oof` } });
		expect(html).toContain("Signed in as <strong>ada@example.com</strong>");
		expect(html).toContain(`<input type="hidden" name="proof" value="pr&quot;oof">`);
		// The password is optional (another account), and the button no longer says "Sign in".
		expect(html).toMatch(/<input type="password" id="password" name="password" autocomplete="current-password">/);
		expect(html).toContain(`value="approve">Approve</button>`);
		// The consent itself is still asked.
		expect(html).toContain(`name="scope" value="mcp:read" checked`);
	});

	it("merges the consent transaction's cookie without weakening the page's own headers", async () => {
		const tx = new Headers({ "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY" });
		tx.append("Set-Cookie", "__Host-oauth-consent-abc=1; Path=/; Secure; HttpOnly; SameSite=Lax");
		tx.append("Set-Cookie", "__Host-other=2; Path=/; Secure");
		const { res } = await page({}, { headers: tx });
		expect(res.headers.getSetCookie()).toEqual([
			"__Host-oauth-consent-abc=1; Path=/; Secure; HttpOnly; SameSite=Lax",
			"__Host-other=2; Path=/; Secure",
		]);
		expect(res.headers.get("Content-Security-Policy")).toMatch(/^default-src 'none'; style-src 'nonce-/);
	});
});

describe("renderErrorPage", () => {
	it("escapes its text and carries the same security headers", async () => {
		const res = renderErrorPage(400, "Bad <title>", `<img src=x onerror=alert(1)>`);
		const html = await res.text();
		expect(res.status).toBe(400);
		expect(html).not.toContain("<img");
		expect(html).toContain("<h1>Bad &lt;title&gt;</h1>");
		expect(res.headers.get("Content-Security-Policy")).toMatch(/frame-ancestors 'none'$/);
		expect(res.headers.get("X-Frame-Options")).toBe("DENY");
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(res.headers.get("Location")).toBeNull();
	});
});
