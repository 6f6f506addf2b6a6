/**
 * @module test/e2e/mock-oidc
 * A minimal OpenID provider on 127.0.0.1 for end-to-end tests: discovery, an `/authorize` that
 * signs the configured test user in at once and redirects back with a code, a `/token` endpoint
 * that checks the client secret and PKCE and returns an RS256 ID token, and `/jwks`. `misbehave`
 * makes it issue a bad ID token (wrong nonce, wrong audience) to test SMCP's checks.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const json = (value: unknown) => b64url(new TextEncoder().encode(JSON.stringify(value)));

/** The person the mock signs in. */
export interface MockUser {
	sub: string;
	email: string;
	email_verified: boolean;
	name?: string;
}

export interface MockOidcProvider {
	issuer: string;
	clientId: string;
	clientSecret: string;
	/** Who `/authorize` signs in next. */
	user: MockUser;
	/** Makes the next ID tokens wrong on purpose; `undefined` = correct tokens. */
	misbehave: "wrong_nonce" | "wrong_audience" | undefined;
	/** Every code, ID token and state the mock handed out or saw (for log checks). */
	issued: { codes: string[]; idTokens: string[]; states: string[] };
	/** How many requests reached `/token`. */
	tokenRequests: number;
	close(): Promise<void>;
}

interface PendingCode {
	nonce: string;
	challenge: string;
	redirectUri: string;
	user: MockUser;
}

/**
 * Starts the mock on a free loopback port.
 *
 * @example
 * ```ts
 * const idp = await startMockOidc({ sub: "u1", email: "ada@example.test", email_verified: true });
 * // SMCP_OIDC_ISSUER = idp.issuer, SMCP_OIDC_CLIENT_ID = idp.clientId, …
 * ```
 */
export async function startMockOidc(user: MockUser): Promise<MockOidcProvider> {
	const pair = (await crypto.subtle.generateKey(
		{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
		true,
		["sign", "verify"],
	)) as CryptoKeyPair;
	const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
	const kid = "mock-key-1";
	const codes = new Map<string, PendingCode>();

	const server: Server = createServer((req, res) => {
		handle(req)
			.then(({ status, headers, body }) => {
				res.writeHead(status, headers);
				res.end(body);
			})
			.catch(() => {
				res.writeHead(500);
				res.end();
			});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

	const mock: MockOidcProvider = {
		issuer,
		clientId: "smcp-e2e-client",
		clientSecret: "mock-client-secret-0123456789",
		user,
		misbehave: undefined,
		issued: { codes: [], idTokens: [], states: [] },
		tokenRequests: 0,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};

	async function signIdToken(p: PendingCode): Promise<string> {
		const now = Math.floor(Date.now() / 1000);
		const claims = {
			iss: issuer,
			sub: p.user.sub,
			aud: mock.misbehave === "wrong_audience" ? "someone-else" : mock.clientId,
			exp: now + 300,
			iat: now,
			nonce: mock.misbehave === "wrong_nonce" ? "not-the-nonce-smcp-sent" : p.nonce,
			email: p.user.email,
			email_verified: p.user.email_verified,
			...(p.user.name ? { name: p.user.name } : {}),
		};
		const input = `${json({ alg: "RS256", typ: "JWT", kid })}.${json(claims)}`;
		const sig = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, new TextEncoder().encode(input)));
		return `${input}.${b64url(sig)}`;
	}

	async function handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body?: string }> {
		const url = new URL(req.url ?? "/", issuer);
		const asJson = (status: number, value: unknown) => ({
			status,
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify(value),
		});
		if (url.pathname === "/.well-known/openid-configuration") {
			return asJson(200, {
				issuer,
				authorization_endpoint: `${issuer}/authorize`,
				token_endpoint: `${issuer}/token`,
				jwks_uri: `${issuer}/jwks`,
				response_types_supported: ["code"],
				subject_types_supported: ["public"],
				id_token_signing_alg_values_supported: ["RS256"],
				token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
				code_challenge_methods_supported: ["S256"],
			});
		}
		if (url.pathname === "/jwks")
			return asJson(200, { keys: [{ kty: "RSA", n: publicJwk.n, e: publicJwk.e, kid, use: "sig", alg: "RS256" }] });
		if (url.pathname === "/authorize") {
			const q = url.searchParams;
			if (
				q.get("client_id") !== mock.clientId ||
				q.get("response_type") !== "code" ||
				q.get("code_challenge_method") !== "S256" ||
				!q.get("scope")?.split(" ").includes("openid")
			) {
				return asJson(400, { error: "invalid_request" });
			}
			const code = b64url(crypto.getRandomValues(new Uint8Array(24)));
			codes.set(code, {
				nonce: q.get("nonce") ?? "",
				challenge: q.get("code_challenge") ?? "",
				redirectUri: q.get("redirect_uri") ?? "",
				user: mock.user,
			});
			mock.issued.codes.push(code);
			mock.issued.states.push(q.get("state") ?? "");
			const back = new URL(q.get("redirect_uri") ?? "");
			back.searchParams.set("code", code);
			back.searchParams.set("state", q.get("state") ?? "");
			return { status: 302, headers: { Location: back.href } };
		}
		if (url.pathname === "/token" && req.method === "POST") {
			mock.tokenRequests++;
			let raw = "";
			for await (const chunk of req) raw += chunk;
			const form = new URLSearchParams(raw);
			const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
			const [id, secret] = basic
				? Buffer.from(basic, "base64").toString().split(":").map(decodeURIComponent)
				: [form.get("client_id"), form.get("client_secret")];
			if (id !== mock.clientId || secret !== mock.clientSecret) return asJson(401, { error: "invalid_client" });
			const pending = codes.get(form.get("code") ?? "");
			codes.delete(form.get("code") ?? "");
			if (!pending || form.get("grant_type") !== "authorization_code" || form.get("redirect_uri") !== pending.redirectUri)
				return asJson(400, { error: "invalid_grant" });
			const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(form.get("code_verifier") ?? "")));
			if (b64url(digest) !== pending.challenge) return asJson(400, { error: "invalid_grant" });
			const idToken = await signIdToken(pending);
			mock.issued.idTokens.push(idToken);
			return asJson(200, {
				access_token: b64url(crypto.getRandomValues(new Uint8Array(24))),
				token_type: "Bearer",
				expires_in: 300,
				id_token: idToken,
			});
		}
		return { status: 404, headers: {} };
	}

	return mock;
}
