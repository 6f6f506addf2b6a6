/**
 * The authorization server and the consent screen: metadata, challenges, redirect validation,
 * sign-in, consent, PKCE, code and refresh-token handling. Scenarios trace to
 * the attack catalog in docs/security.md §3 and §4.
 */
import { describe, expect, it } from "vitest";
import { authorizeUrl as buildAuthorizeUrl, CookieJar, formValue, pkce, refresh, registerClient } from "../support/oauth-flow";
import { runInDurableObject } from "cloudflare:test";
import { createAccount, INIT, ORIGIN, rawPost, selfFetch, signedIn, testEnv } from "./helpers";

const REDIRECT = "http://127.0.0.1:9/callback";

async function authorizeUrl(clientId: string, extra: Record<string, string> = {}) {
	const { verifier, challenge } = await pkce();
	const u = buildAuthorizeUrl(ORIGIN, { clientId, redirectUri: REDIRECT, challenge, state: "st-123" }, extra);
	return { url: u.toString(), verifier };
}

async function openConsent(clientId: string, extra: Record<string, string> = {}) {
	const { url, verifier } = await authorizeUrl(clientId, extra);
	const jar = new CookieJar();
	const page = await selfFetch(url, { redirect: "manual" });
	jar.take(page);
	const html = await page.text();
	return { page, html, jar, verifier };
}

function postConsent(jar: CookieJar | null, fields: Record<string, string | string[]>) {
	const form = new URLSearchParams();
	for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) form.append(k, x);
	return selfFetch(`${ORIGIN}/authorize`, {
		method: "POST",
		redirect: "manual",
		headers: { "Content-Type": "application/x-www-form-urlencoded", ...(jar ? { Cookie: jar.header() } : {}), Origin: ORIGIN },
		body: form.toString(),
	});
}

describe("metadata and challenges", () => {
	it("serves RFC 9728 and RFC 8414 metadata naming the deployment origin as resource and issuer", async () => {
		const prm = (await (await selfFetch(`${ORIGIN}/.well-known/oauth-protected-resource`)).json()) as Record<string, unknown>;
		expect(prm.resource).toBe(ORIGIN);
		expect(prm.authorization_servers).toEqual([ORIGIN]);
		const as = (await (await selfFetch(`${ORIGIN}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
		expect(as.issuer).toBe(ORIGIN);
		expect(as.code_challenge_methods_supported).toEqual(["S256"]);
		expect(as.registration_endpoint).toBe(`${ORIGIN}/register`);
		expect(as.client_id_metadata_document_supported).toBe(true);
		expect(as.scopes_supported).toEqual(["mcp:read", "mcp:write"]);
	});

	it("/mcp and /sse without a token → 401 with WWW-Authenticate: Bearer resource_metadata=…", async () => {
		for (const [path, method] of [
			["/mcp", "POST"],
			["/sse", "GET"],
			["/sse/message", "POST"],
		] as const) {
			const res = await selfFetch(`${ORIGIN}${path}`, { method });
			expect(res.status).toBe(401);
			const challenge = res.headers.get("WWW-Authenticate")!;
			expect(challenge).toMatch(/^Bearer /);
			expect(challenge).toContain(`resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource"`);
			expect(challenge).not.toContain("error=");
		}
	});

	it("malformed bearers → 401, never 500", async () => {
		for (const auth of ["Bearer", "Bearer  x", "Basic abc", "Bearer a:b", "Bearer a:b:c:d", `Bearer ${"x".repeat(65536)}`]) {
			const res = await selfFetch(`${ORIGIN}/mcp`, { method: "POST", headers: { Authorization: auth } });
			expect(res.status).toBe(401);
		}
	});

	it("metadata ignores a spoofed Host: a foreign Host is refused before the provider answers", async () => {
		const res = await selfFetch(`${ORIGIN}/.well-known/oauth-authorization-server`, { headers: { Host: "evil.example" } });
		expect(res.status).toBe(403);
		const fwd = (await (
			await selfFetch(`${ORIGIN}/.well-known/oauth-authorization-server`, { headers: { "X-Forwarded-Host": "evil.example" } })
		).json()) as { issuer: string };
		expect(fwd.issuer).toBe(ORIGIN);
	});
});

describe("registration and authorize request validation", () => {
	it("rejects javascript:, data:, vbscript: and file: redirect URIs at registration", async () => {
		for (const uri of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " data:text/html,x", "vbscript:x", "file:///etc/passwd"]) {
			const res = await selfFetch(`${ORIGIN}/register`, {
				method: "POST",
				headers: { "Content-Type": "application/json" },
				body: JSON.stringify({ redirect_uris: [uri], token_endpoint_auth_method: "none" }),
			});
			expect(res.status).toBe(400);
		}
	});

	it("an unregistered redirect_uri at /authorize → 400 with no Location", async () => {
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { url } = await authorizeUrl(clientId, { redirect_uri: "https://evil.example/cb" });
		const res = await selfFetch(url, { redirect: "manual" });
		expect(res.status).toBe(400);
		expect(res.headers.get("Location")).toBeNull();
	});

	it("PKCE plain is refused", async () => {
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { url } = await authorizeUrl(clientId, { code_challenge_method: "plain" });
		const res = await selfFetch(url, { redirect: "manual" });
		expect([302, 400]).toContain(res.status);
		if (res.status === 302) expect(new URL(res.headers.get("Location")!).searchParams.get("error")).toBe("invalid_request");
	});
});

describe("consent screen", () => {
	it("is not frameable and shows client, redirect host and scopes in plain words", async () => {
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT, "Acme Notes");
		const { page, html } = await openConsent(clientId);
		expect(page.status).toBe(200);
		expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
		expect(page.headers.get("X-Frame-Options")).toBe("DENY");
		expect(page.headers.getSetCookie().some((c) => c.startsWith("__Host-") && /HttpOnly/i.test(c) && /Secure/i.test(c))).toBe(true);
		expect(html).toContain("Acme Notes");
		expect(html).toContain("127.0.0.1");
		expect(html).toMatch(/Read your memory graph/);
		expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
	});

	it("a wrong password shows the form again with a generic error, identical for an unknown email (no enumeration)", async () => {
		const account = await createAccount();
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const texts: string[] = [];
		for (const email of [account.email, "nobody@example.test"]) {
			const { html, jar } = await openConsent(clientId);
			const res = await postConsent(jar, {
				handle: formValue(html, "handle"),
				q: formValue(html, "q"),
				email,
				password: "wrong password!",
				scope: ["mcp:read"],
				action: "approve",
			});
			expect(res.headers.get("Location")).toBeNull();
			const body = await res.text();
			expect(body).toContain("Email or password is incorrect.");
			texts.push(body.replace(/value="[^"]*"/g, "").replace(/nonce-[^'"]+|nonce="[^"]*"/g, ""));
		}
		expect(texts[0]).toBe(texts[1]);
	});

	it("the handle is single-use: a replayed approval is refused without a redirect", async () => {
		const account = await createAccount();
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { html, jar } = await openConsent(clientId);
		const fields = {
			handle: formValue(html, "handle"),
			q: formValue(html, "q"),
			email: account.email,
			password: account.password,
			scope: ["mcp:read"],
			action: "approve",
		};
		expect((await postConsent(jar, fields)).status).toBe(302);
		const replay = await postConsent(jar, fields);
		expect(replay.status).toBe(400);
		expect(replay.headers.get("Location")).toBeNull();
	});

	it("a cross-site POST without the binding cookie (CSRF) is refused", async () => {
		const account = await createAccount();
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { html } = await openConsent(clientId);
		const res = await postConsent(null, {
			handle: formValue(html, "handle"),
			q: formValue(html, "q"),
			email: account.email,
			password: account.password,
			scope: ["mcp:read"],
			action: "approve",
		});
		expect(res.status).toBe(400);
		expect(res.headers.get("Location")).toBeNull();
	});

	it("a bare sign-in POST without the consent binding (password guessing) checks no password and writes nothing", async () => {
		const account = await createAccount();
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { html } = await openConsent(clientId);
		const res = await postConsent(null, {
			handle: formValue(html, "handle"),
			q: formValue(html, "q"),
			email: account.email,
			password: "a wrong guess!!",
			scope: ["mcp:read"],
			action: "approve",
		});
		expect(res.status).toBe(400);
		expect(await res.text()).not.toContain("Email or password is incorrect.");
		const rows = await runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)), (_o, st) =>
			st.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'audit'").toArray().length
				? st.storage.sql.exec("SELECT method FROM audit").toArray()
				: [],
		);
		expect(rows).toEqual([]);
	});

	it("a tampered q (another redirect_uri) cannot change where the code goes", async () => {
		const account = await createAccount();
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { html, jar } = await openConsent(clientId);
		const q = new URLSearchParams(formValue(html, "q"));
		q.set("redirect_uri", "https://evil.example/cb");
		const res = await postConsent(jar, {
			handle: formValue(html, "handle"),
			q: q.toString(),
			email: account.email,
			password: account.password,
			scope: ["mcp:read"],
			action: "approve",
		});
		const location = res.headers.get("Location");
		if (location) expect(location.startsWith(REDIRECT)).toBe(true);
		else expect(res.status).toBeGreaterThanOrEqual(400);
	});

	it("deny sends the browser back with error=access_denied and the client's state", async () => {
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { html, jar } = await openConsent(clientId);
		const res = await postConsent(jar, { handle: formValue(html, "handle"), q: formValue(html, "q"), action: "deny" });
		expect(res.status).toBe(302);
		const loc = new URL(res.headers.get("Location")!);
		expect(`${loc.origin}${loc.pathname}`).toBe(REDIRECT);
		expect(loc.searchParams.get("error")).toBe("access_denied");
		expect(loc.searchParams.get("state")).toBe("st-123");
	});
});

describe("tokens", () => {
	async function codeFor() {
		const account = await createAccount();
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { html, jar, verifier } = await openConsent(clientId, { resource: ORIGIN });
		const res = await postConsent(jar, {
			handle: formValue(html, "handle"),
			q: formValue(html, "q"),
			email: account.email,
			password: account.password,
			scope: ["mcp:read", "mcp:write"],
			action: "approve",
		});
		const code = new URL(res.headers.get("Location")!).searchParams.get("code")!;
		return { clientId, code, verifier };
	}
	const exchange = (clientId: string, code: string, verifier: string) =>
		selfFetch(`${ORIGIN}/token`, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: new URLSearchParams({
				grant_type: "authorization_code",
				code,
				redirect_uri: REDIRECT,
				client_id: clientId,
				code_verifier: verifier,
				resource: ORIGIN,
			}).toString(),
		});

	it("a wrong PKCE verifier → invalid_grant", async () => {
		const { clientId, code } = await codeFor();
		const res = await exchange(clientId, code, "w".repeat(43));
		expect(res.status).toBe(400);
		expect(((await res.json()) as { error: string }).error).toBe("invalid_grant");
	});

	it("token responses carry Cache-Control: no-store; an auth code replay → invalid_grant", async () => {
		const { clientId, code, verifier } = await codeFor();
		const first = await exchange(clientId, code, verifier);
		expect(first.status).toBe(200);
		expect(first.headers.get("Cache-Control")).toContain("no-store");
		const replay = await exchange(clientId, code, verifier);
		expect(replay.status).toBe(400);
		expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");
	});

	it("refresh rotates the refresh token and the new access token works on /mcp", async () => {
		const { tokens } = await signedIn();
		const res = await refresh(selfFetch, ORIGIN, tokens.clientId, tokens.refresh_token!);
		expect(res.status).toBe(200);
		const next = (await res.json()) as { access_token: string; refresh_token: string };
		expect(next.refresh_token).not.toBe(tokens.refresh_token);
		expect((await rawPost(next.access_token, INIT)).status).toBe(200);
	});

	it("a token for another resource (wrong audience) is refused", async () => {
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { url } = await authorizeUrl(clientId, { resource: "https://other.example" });
		const res = await selfFetch(url, { redirect: "manual" });
		const location = res.headers.get("Location");
		expect(res.status === 400 || (location !== null && new URL(location).searchParams.get("error") === "invalid_target")).toBe(true);
	});
});
