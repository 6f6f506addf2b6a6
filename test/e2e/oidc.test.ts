/**
 * @module test/e2e/oidc
 * Upstream sign-in end to end: `wrangler dev` with `SMCP_OIDC_*` pointing at a mock OpenID
 * provider on loopback. A headless "browser" (cookie jar, manual redirects) registers a client,
 * approves on SMCP's consent page with "Continue with …", signs in at the provider, comes back
 * through `/oidc/callback` with a code for the client, which gets a token that works on `/mcp`.
 * Then the failures: a bad ID token, a forged callback, and the logs.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CookieJar, formValue, obtainTokens, pkce, registerClient } from "../support/oauth-flow";
import { startMockOidc, type MockOidcProvider } from "./mock-oidc";
import { startWrangler, type DevServer } from "./wrangler";

const run = promisify(execFile);
const persistDir = mkdtempSync(join(tmpdir(), "smcp-oidc-"));
const REDIRECT = "http://127.0.0.1:9/callback";
const SSO_USER = { sub: "mock-user-1", email: "sso-user@example.test", email_verified: true, name: "Sso User" };
const LINKED = { email: "linked@example.test", password: "linked account password" };
let idp: MockOidcProvider;
let dev: DevServer;

beforeAll(async () => {
	idp = await startMockOidc(SSO_USER);
	// A local account whose email the provider will also vouch for: the second test links to it.
	const create = run(process.execPath, [
		"bin/smcp.mjs",
		"users",
		"create",
		"--email",
		LINKED.email,
		"--password-stdin",
		"--local",
		"--persist-to",
		persistDir,
	]);
	create.child.stdin!.end(LINKED.password);
	await create;
	dev = await startWrangler({
		persistDir,
		vars: {
			SMCP_OIDC_ISSUER: idp.issuer,
			SMCP_OIDC_CLIENT_ID: idp.clientId,
			SMCP_OIDC_CLIENT_SECRET: idp.clientSecret,
			SMCP_OIDC_NAME: "Mock SSO",
		},
	});
});

afterAll(async () => {
	await dev?.stop();
	await idp?.close();
});

interface Started {
	jar: CookieJar;
	state: string;
	verifier: string;
	clientId: string;
	/** The response to the "Continue with Mock SSO" POST. */
	continued: Response;
}

/** Registers a client, opens the consent page, checks the SSO button, and presses it. */
async function continueWithSso(scope = "mcp:read mcp:write", grant?: string[]): Promise<Started> {
	const clientId = await registerClient(fetch, dev.origin, REDIRECT, "OIDC e2e client");
	const { verifier, challenge } = await pkce();
	const state = crypto.randomUUID();
	const authorize = new URL(`${dev.origin}/authorize`);
	authorize.search = new URLSearchParams({
		response_type: "code",
		client_id: clientId,
		redirect_uri: REDIRECT,
		scope,
		state,
		code_challenge: challenge,
		code_challenge_method: "S256",
		resource: dev.origin,
	}).toString();
	const jar = new CookieJar();
	const page = await fetch(authorize, { redirect: "manual" });
	jar.take(page);
	const html = await page.text();
	expect(page.status).toBe(200);
	expect(html).toContain("Sign in with Mock SSO");
	expect(html).toMatch(
		/<button class="btn secondary" type="submit" name="action" value="oidc" formnovalidate>Continue with Mock SSO<\/button>/,
	);
	const form = new URLSearchParams({ handle: formValue(html, "handle"), q: formValue(html, "q"), action: "oidc" });
	for (const s of grant ?? [...html.matchAll(/name="scope" value="([^"]*)"/g)].map((m) => m[1]!)) form.append("scope", s);
	const continued = await fetch(`${dev.origin}/authorize`, {
		method: "POST",
		redirect: "manual",
		headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header(), Origin: dev.origin },
		body: form.toString(),
	});
	jar.take(continued);
	return { jar, state, verifier, clientId, continued };
}

/** Follows SMCP → provider → SMCP's callback, as a browser would; returns the callback's response. */
async function throughProvider(s: Started): Promise<Response> {
	expect(s.continued.status).toBe(302);
	const toProvider = new URL(s.continued.headers.get("Location")!);
	expect(toProvider.origin + toProvider.pathname).toBe(`${idp.issuer}/authorize`);
	expect(toProvider.searchParams.get("redirect_uri")).toBe(`${dev.origin}/oidc/callback`);
	expect(toProvider.searchParams.get("scope")).toBe("openid email profile");
	expect(toProvider.searchParams.get("code_challenge_method")).toBe("S256");
	expect(toProvider.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
	const atProvider = await fetch(toProvider, { redirect: "manual" });
	expect(atProvider.status).toBe(302);
	const callback = new URL(atProvider.headers.get("Location")!);
	expect(callback.origin + callback.pathname).toBe(`${dev.origin}/oidc/callback`);
	return fetch(callback, { redirect: "manual", headers: { Cookie: s.jar.header() } });
}

/** Exchanges the client's code at SMCP's /token. */
async function exchange(s: Started, code: string): Promise<{ access_token: string; scope: string }> {
	const res = await fetch(`${dev.origin}/token`, {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			grant_type: "authorization_code",
			code,
			redirect_uri: REDIRECT,
			client_id: s.clientId,
			code_verifier: s.verifier,
			resource: dev.origin,
		}).toString(),
	});
	expect(res.status).toBe(200);
	return (await res.json()) as { access_token: string; scope: string };
}

/** One raw JSON-RPC exchange on /mcp: initialize, initialized, then `method`. Returns the last result. */
async function mcp(token: string, method: string, params: unknown = {}): Promise<{ status: number; result: Record<string, unknown> }> {
	const post = (body: unknown, session?: string) =>
		fetch(`${dev.origin}/mcp`, {
			method: "POST",
			headers: {
				Authorization: `Bearer ${token}`,
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
				...(session ? { "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18" } : {}),
			},
			body: JSON.stringify(body),
		});
	const init = await post({
		jsonrpc: "2.0",
		id: 1,
		method: "initialize",
		params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "oidc-e2e", version: "1" } },
	});
	expect(init.status).toBe(200);
	await init.text();
	const session = init.headers.get("Mcp-Session-Id")!;
	await (await post({ jsonrpc: "2.0", method: "notifications/initialized" }, session)).text();
	const res = await post({ jsonrpc: "2.0", id: 2, method, params }, session);
	const text = await res.text();
	const payload = res.headers.get("Content-Type")?.includes("text/event-stream")
		? text
				.split("\n")
				.filter((l) => l.startsWith("data: "))
				.map((l) => JSON.parse(l.slice(6)))
				.find((m) => m.id === 2)
		: JSON.parse(text);
	return { status: res.status, result: payload?.result ?? {} };
}

describe("upstream sign-in (OIDC) through wrangler dev", () => {
	it("consent page → Continue with SSO → provider → /oidc/callback → client code → token → /mcp tools/list", async () => {
		idp.user = SSO_USER;
		const s = await continueWithSso("mcp:read mcp:write", ["mcp:read"]);
		const back = await throughProvider(s);
		expect(back.status).toBe(302);
		const toClient = new URL(back.headers.get("Location")!);
		expect(toClient.origin + toClient.pathname).toBe(REDIRECT);
		expect(toClient.searchParams.get("state")).toBe(s.state);
		const tokens = await exchange(s, toClient.searchParams.get("code")!);
		// The person ticked only mcp:read: the grant is what they chose, not what the client asked.
		expect(tokens.scope).toBe("mcp:read");
		const listed = await mcp(tokens.access_token, "tools/list");
		expect(listed.status).toBe(200);
		const names = (listed.result.tools as { name: string }[]).map((t) => t.name);
		expect(names).toContain("read_graph");
		expect(names).not.toContain("create_entities");
		// A new account was created just in time; the sign-in and the consent are in its audit trail.
		const audit = JSON.stringify((await mcp(tokens.access_token, "tools/call", { name: "audit_log", arguments: {} })).result);
		expect(audit).toContain("auth/sign_in");
		expect(audit).toContain("oidc:created");
		expect(audit).toContain("auth/consent");
	});

	it("links the local account with the same verified email: both sign-ins reach the same tenant", async () => {
		const local = await obtainTokens({ fetch, origin: dev.origin, email: LINKED.email, password: LINKED.password });
		const wrote = await mcp(local.access_token, "tools/call", {
			name: "create_entities",
			arguments: { entities: [{ name: "LinkedProof", entityType: "t", observations: [] }] },
		});
		expect(wrote.status).toBe(200);

		idp.user = { sub: "mock-user-linked", email: LINKED.email, email_verified: true };
		const s = await continueWithSso();
		const back = await throughProvider(s);
		expect(back.status).toBe(302);
		const tokens = await exchange(s, new URL(back.headers.get("Location")!).searchParams.get("code")!);
		const read = await mcp(tokens.access_token, "tools/call", { name: "open_nodes", arguments: { names: ["LinkedProof"] } });
		expect(JSON.stringify(read.result)).toContain("LinkedProof");
	});

	it.each(["wrong_nonce", "wrong_audience"] as const)(
		"an ID token with %s → a local error page, no code for the client",
		async (misbehave) => {
			idp.user = SSO_USER;
			idp.misbehave = misbehave;
			try {
				const back = await throughProvider(await continueWithSso());
				expect(back.status).toBe(400);
				expect(back.headers.get("Location")).toBeNull();
				expect(back.headers.get("Content-Type")).toContain("text/html");
				const html = await back.text();
				expect(html).toContain("SMCP could not sign you in with Mock SSO");
				const main = /<main>[\s\S]*<\/main>/.exec(html)?.[0] ?? "";
				expect(main).not.toMatch(/nonce|audience|aud\b|signature|token/i); // generic text: no hint for the forger
			} finally {
				idp.misbehave = undefined;
			}
		},
	);

	it("a callback without the browser's binding cookie (forged or replayed) → local page, provider never asked", async () => {
		idp.user = SSO_USER;
		const s = await continueWithSso();
		const atProvider = await fetch(new URL(s.continued.headers.get("Location")!), { redirect: "manual" });
		const callback = new URL(atProvider.headers.get("Location")!);
		const before = idp.tokenRequests;
		const forged = await fetch(callback, { redirect: "manual" }); // another browser: no cookie
		expect(forged.status).toBe(400);
		expect(forged.headers.get("Location")).toBeNull();
		expect(idp.tokenRequests).toBe(before);
		// The real browser still finishes; a second use of the same state is refused.
		const real = await fetch(callback, { redirect: "manual", headers: { Cookie: s.jar.header() } });
		expect(real.status).toBe(302);
		const replay = await fetch(callback, { redirect: "manual", headers: { Cookie: s.jar.header() } });
		expect(replay.status).toBe(400);
		expect(replay.headers.get("Location")).toBeNull();
	});

	it("the server's logs never contain the provider's codes, ID tokens, the state or the client secret", async () => {
		const logs = readFileSync(dev.logFile, "utf8");
		expect(logs).toContain("oidc.id_token_rejected");
		for (const secret of [idp.clientSecret, ...idp.issued.codes, ...idp.issued.idTokens, ...idp.issued.states].filter(Boolean)) {
			expect(logs).not.toContain(secret);
		}
		expect(idp.issued.codes.length).toBeGreaterThan(3);
	});
});
