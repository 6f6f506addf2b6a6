/**
 * @module bench/lib/oauth
 * Tokens for the load generator, always through the real OAuth 2.1 flow of each server: dynamic
 * client registration, authorization with PKCE S256 and `resource`, code exchange. For SMCP the
 * person signs in and approves on SMCP's own consent page, driven headlessly by the test suite's
 * `obtainTokens` (test/support/oauth-flow.ts); the fixtures approve at once (bench/fixtures/consent.ts).
 */
import { obtainTokens, pkce, registerClient } from "../../test/support/oauth-flow.ts";

/**
 * A token from SMCP for the account `email`.
 * @param {string} origin
 * @param {string} email
 * @param {string} password
 */
export async function smcpToken(origin, email, password) {
	const t = await obtainTokens({ fetch: globalThis.fetch, origin, email, password });
	return t.access_token;
}

/**
 * A token from a fixture (its `/authorize` approves without a page).
 * @param {string} origin
 */
export async function fixtureToken(origin) {
	const redirectUri = "http://127.0.0.1:9/callback";
	const clientId = await registerClient(globalThis.fetch, origin, redirectUri, "smcp-bench");
	const { verifier, challenge } = await pkce();
	const authorize = new URL("/authorize", origin);
	authorize.search = new URLSearchParams({
		response_type: "code",
		client_id: clientId,
		redirect_uri: redirectUri,
		scope: "mcp:read mcp:write",
		state: crypto.randomUUID(),
		code_challenge: challenge,
		code_challenge_method: "S256",
		resource: origin,
	}).toString();
	const res = await fetch(authorize, { redirect: "manual" });
	const location = res.headers.get("Location");
	const code = location ? new URL(location).searchParams.get("code") : null;
	if (res.status !== 302 || !code)
		throw new Error(`fixture authorize at ${origin}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
	const token = await fetch(new URL("/token", origin), {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			grant_type: "authorization_code",
			code,
			redirect_uri: redirectUri,
			client_id: clientId,
			code_verifier: verifier,
			resource: origin,
		}).toString(),
	});
	if (token.status !== 200) throw new Error(`fixture token exchange at ${origin}: HTTP ${token.status} ${await token.text()}`);
	return /** @type {{ access_token: string }} */ (await token.json()).access_token;
}
