/**
 * @module test/support/oauth-flow
 * A small headless "browser" and OAuth client for tests: dynamic registration, PKCE S256, the
 * consent page signed in and approved by posting its form, code exchange and refresh. Runs in
 * workerd (with `SELF.fetch`) and in Node (with global `fetch`) alike: WebCrypto and fetch only.
 */

export type Fetch = (input: string | Request, init?: RequestInit) => Promise<Response>;

/** Cookies by name, as a browser would keep them for one origin. */
export class CookieJar {
	readonly #cookies = new Map<string, string>();
	take(response: Response): void {
		for (const line of response.headers.getSetCookie()) {
			const [pair] = line.split(";");
			const eq = pair!.indexOf("=");
			if (eq > 0) this.#cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
		}
	}
	header(): string {
		return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
	}
}

const b64url = (bytes: Uint8Array) =>
	btoa(String.fromCharCode(...bytes))
		.replaceAll("+", "-")
		.replaceAll("/", "_")
		.replace(/=+$/, "");

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.1–4.2). */
export async function pkce(): Promise<{ verifier: string; challenge: string }> {
	const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
	return { verifier, challenge: b64url(digest) };
}

/** Reads a hidden input's value from the consent page. */
export function formValue(html: string, name: string): string {
	const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
	if (!m) throw new Error(`consent page has no input named ${name}`);
	return m[1]!.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">");
}

export interface Tokens {
	access_token: string;
	refresh_token?: string;
	scope?: string;
	expires_in?: number;
}

export interface FlowOptions {
	fetch: Fetch;
	origin: string;
	email: string;
	password: string;
	/** Scopes to request; default both. */
	scope?: string[];
	/** Scopes the person leaves checked on the consent page; default all requested. */
	grant?: string[];
	redirectUri?: string;
}

/** Registers a public client (RFC 7591) and returns its id. */
export async function registerClient(fetch: Fetch, origin: string, redirectUri: string, name = "Test client"): Promise<string> {
	const res = await fetch(`${origin}/register`, {
		method: "POST",
		headers: { "Content-Type": "application/json" },
		body: JSON.stringify({
			client_name: name,
			redirect_uris: [redirectUri],
			grant_types: ["authorization_code", "refresh_token"],
			response_types: ["code"],
			token_endpoint_auth_method: "none",
		}),
	});
	if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
	return ((await res.json()) as { client_id: string }).client_id;
}

/** Who signs in on the consent page, and what they leave checked. */
export interface Person {
	email: string;
	password: string;
	/** Scopes the person leaves checked; default every scope offered. */
	grant?: string[];
	/** SMCP's origin (the consent form posts there). */
	origin: string;
}

/**
 * Plays the person on SMCP's consent page: opens `authorizeUrl`, signs in, approves, and returns
 * where the consent POST redirects the browser (the client's redirect URI with `code` and
 * `state`, or with `error`). Follows nothing itself.
 */
export async function consentRedirect(fetch: Fetch, authorizeUrl: string, o: Person): Promise<URL> {
	const jar = new CookieJar();
	const page = await fetch(authorizeUrl, { redirect: "manual" });
	jar.take(page);
	const html = await page.text();
	if (page.status !== 200)
		throw new Error(`authorize page answered ${page.status}, expected the consent form (200): ${html.slice(0, 200)}`);
	const form = new URLSearchParams({
		handle: formValue(html, "handle"),
		q: formValue(html, "q"),
		email: o.email,
		password: o.password,
		action: "approve",
	});
	const offered = [...html.matchAll(/name="scope" value="([^"]*)"/g)].map((m) => m[1]!);
	for (const s of o.grant ?? offered) form.append("scope", s);
	const res = await fetch(`${o.origin}/authorize`, {
		method: "POST",
		redirect: "manual",
		headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header(), Origin: o.origin },
		body: form.toString(),
	});
	const location = res.headers.get("Location");
	if (res.status !== 302 || !location) {
		throw new Error(
			`consent POST answered ${res.status}, expected a 302 to the client's callback (a 200 is the form shown again: wrong email or password, or no scope checked): ${(await res.text()).slice(0, 300)}`,
		);
	}
	return new URL(location);
}

/** Signs in on the consent page and approves; returns the authorization code. */
export async function approveInBrowser(fetch: Fetch, authorizeUrl: string, o: Person): Promise<string> {
	const location = await consentRedirect(fetch, authorizeUrl, o);
	const code = location.searchParams.get("code");
	if (!code) throw new Error(`no code in redirect: ${location.searchParams.get("error")}`);
	return code;
}

/** The whole flow: register, authorize with PKCE, consent, exchange. */
/**
 * An `/authorize` URL of the authorization-code flow with PKCE (S256), as a client builds it;
 * `resource` (RFC 8707) only when given, other parameters in `extra`.
 */
export function authorizeUrl(
	origin: string,
	q: { clientId: string; redirectUri: string; challenge: string; scope?: string; state?: string; resource?: string },
	extra: Record<string, string> = {},
): URL {
	const u = new URL(`${origin}/authorize`);
	u.search = new URLSearchParams({
		response_type: "code",
		client_id: q.clientId,
		redirect_uri: q.redirectUri,
		scope: q.scope ?? "mcp:read mcp:write",
		state: q.state ?? "s",
		code_challenge: q.challenge,
		code_challenge_method: "S256",
		...(q.resource === undefined ? {} : { resource: q.resource }),
		...extra,
	}).toString();
	return u;
}

export async function obtainTokens(o: FlowOptions): Promise<Tokens & { clientId: string; redirectUri: string }> {
	const redirectUri = o.redirectUri ?? "http://127.0.0.1:9/callback";
	const clientId = await registerClient(o.fetch, o.origin, redirectUri);
	const { verifier, challenge } = await pkce();
	const authorize = authorizeUrl(o.origin, {
		clientId,
		redirectUri,
		challenge,
		scope: (o.scope ?? ["mcp:read", "mcp:write"]).join(" "),
		state: b64url(crypto.getRandomValues(new Uint8Array(12))),
		resource: o.origin,
	});
	const code = await approveInBrowser(o.fetch, authorize.toString(), {
		email: o.email,
		password: o.password,
		grant: o.grant,
		origin: o.origin,
	});
	const res = await o.fetch(`${o.origin}/token`, {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			grant_type: "authorization_code",
			code,
			redirect_uri: redirectUri,
			client_id: clientId,
			code_verifier: verifier,
			resource: o.origin,
		}).toString(),
	});
	if (res.status !== 200) throw new Error(`token exchange: ${res.status} ${await res.text()}`);
	return { ...((await res.json()) as Tokens), clientId, redirectUri };
}

/** Uses a refresh token (rotation: the response carries a new one). */
export async function refresh(fetch: Fetch, origin: string, clientId: string, refreshToken: string): Promise<Response> {
	return fetch(`${origin}/token`, {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			grant_type: "refresh_token",
			refresh_token: refreshToken,
			client_id: clientId,
			resource: origin,
		}).toString(),
	});
}
