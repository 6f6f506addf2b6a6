/**
 * Upstream sign-in when it is not configured (the default): no button, a posted `action=oidc`
 * changes nothing and spends nothing, and `/oidc/callback` is a local page that redirects nowhere.
 * The configured flow is covered end to end in test/e2e/oidc.test.ts.
 */
import { describe, expect, it } from "vitest";
import { authorizeUrl, CookieJar, formValue, pkce, registerClient } from "../support/oauth-flow";
import { createAccount, ORIGIN, selfFetch } from "./helpers";

const REDIRECT = "http://127.0.0.1:9/callback";

async function openConsent() {
	const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
	const { challenge } = await pkce();
	const url = authorizeUrl(ORIGIN, { clientId, redirectUri: REDIRECT, challenge, scope: "mcp:read", state: "s" });
	const jar = new CookieJar();
	const page = await selfFetch(url.toString(), { redirect: "manual" });
	jar.take(page);
	return { jar, html: await page.text() };
}

function post(jar: CookieJar, fields: Record<string, string>) {
	return selfFetch(`${ORIGIN}/authorize`, {
		method: "POST",
		redirect: "manual",
		headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header(), Origin: ORIGIN },
		body: new URLSearchParams(fields).toString(),
	});
}

describe("upstream sign-in, not configured", () => {
	it("the consent page offers no upstream sign-in", async () => {
		const { html } = await openConsent();
		expect(html).not.toContain(`value="oidc"`);
	});

	it("a hand-made action=oidc redraws the page without spending the handle; password sign-in still works", async () => {
		const { jar, html } = await openConsent();
		const base = { handle: formValue(html, "handle"), q: formValue(html, "q"), scope: "mcp:read" };
		const res = await post(jar, { ...base, action: "oidc" });
		expect(res.status).toBe(200);
		expect(res.headers.get("Location")).toBeNull();
		expect(await res.text()).toContain("Single sign-on is not available");
		const account = await createAccount();
		const approved = await post(jar, { ...base, action: "approve", email: account.email, password: account.password });
		expect(approved.status).toBe(302);
		expect(new URL(approved.headers.get("Location")!).searchParams.get("code")).toBeTruthy();
	});

	it("/oidc/callback answers with a local page and never a Location, whatever the query", async () => {
		for (const query of ["", "?code=x&state=y", `?error=access_denied&state=y`]) {
			const res = await selfFetch(`${ORIGIN}/oidc/callback${query}`, { redirect: "manual" });
			expect(res.status).toBe(404);
			expect(res.headers.get("Location")).toBeNull();
			expect(res.headers.get("Content-Type")).toContain("text/html");
		}
	});
});
