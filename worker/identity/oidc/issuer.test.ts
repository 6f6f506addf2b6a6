/**
 * @module worker/identity/oidc/issuer.test
 * Unit tests for the provider I/O with a stubbed `fetch`: discovery must name the configured
 * issuer and https endpoints, redirects are not followed, the client authenticates with
 * form-encoded Basic credentials and PKCE, and upstream error text never reaches a failure.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { OidcConfig } from "./config";
import { discoverProvider, exchangeCode, providerKeys } from "./issuer";

let n = 0;
function config(overrides: Partial<OidcConfig> = {}): OidcConfig {
	// A fresh issuer per test: discovery is cached per isolate.
	const issuer = `https://login${++n}.example.com`;
	return {
		issuer,
		clientId: "smcp client",
		clientSecret: "p@ss:word",
		name: "SSO",
		allowedDomains: new Set(),
		redirectUri: "https://mcp.example.com/oidc/callback",
		loopbackDev: false,
		...overrides,
	};
}

function doc(issuer: string, overrides: Record<string, unknown> = {}) {
	return {
		issuer,
		authorization_endpoint: `${issuer}/authorize`,
		token_endpoint: `${issuer}/token`,
		jwks_uri: `${issuer}/jwks`,
		...overrides,
	};
}

function stubFetch(handler: (url: string, init?: RequestInit) => Response) {
	const calls: { url: string; init?: RequestInit }[] = [];
	vi.stubGlobal("fetch", async (input: URL | string, init?: RequestInit) => {
		calls.push({ url: String(input), init });
		return handler(String(input), init);
	});
	return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe("discoverProvider", () => {
	it("reads the endpoints from /.well-known/openid-configuration, without following redirects, and caches them", async () => {
		const c = config();
		const calls = stubFetch(() => Response.json(doc(c.issuer)));
		const first = await discoverProvider(c);
		expect(first.ok && first.value.tokenEndpoint.href).toBe(`${c.issuer}/token`);
		expect(first.ok && first.value.tokenAuth).toBe("client_secret_basic");
		expect(calls[0]!.url).toBe(`${c.issuer}/.well-known/openid-configuration`);
		expect(calls[0]!.init?.redirect).toBe("manual");
		await discoverProvider(c);
		expect(calls).toHaveLength(1);
	});

	it("refuses a document naming another issuer (impersonation / mix-up, Discovery §4.3)", async () => {
		const c = config();
		stubFetch(() => Response.json(doc("https://evil.example.com")));
		const r = await discoverProvider(c);
		expect(!r.ok && r.error.reason).toBe("discovery_invalid");
	});

	it("refuses non-https endpoints, so the browser is never sent to one", async () => {
		const c = config();
		stubFetch(() => Response.json(doc(c.issuer, { authorization_endpoint: "javascript:alert(1)" })));
		expect((await discoverProvider(c)).ok).toBe(false);
		const d = config();
		stubFetch(() => Response.json(doc(d.issuer, { token_endpoint: "http://login.example.com/token" })));
		expect((await discoverProvider(d)).ok).toBe(false);
	});

	it("does not cache failures, and a redirect is a failure", async () => {
		const c = config();
		stubFetch(() => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/" } }));
		const r = await discoverProvider(c);
		expect(!r.ok && r.error).toEqual({ reason: "discovery_unreachable", status: 302 });
		stubFetch(() => Response.json(doc(c.issuer)));
		expect((await discoverProvider(c)).ok).toBe(true);
	});

	it("uses client_secret_post when it is the only method offered, and refuses providers without S256", async () => {
		const c = config();
		stubFetch(() => Response.json(doc(c.issuer, { token_endpoint_auth_methods_supported: ["client_secret_post"] })));
		const r = await discoverProvider(c);
		expect(r.ok && r.value.tokenAuth).toBe("client_secret_post");
		const d = config();
		stubFetch(() => Response.json(doc(d.issuer, { code_challenge_methods_supported: ["plain"] })));
		expect((await discoverProvider(d)).ok).toBe(false);
	});
});

describe("exchangeCode", () => {
	async function metadata(c: OidcConfig, extra: Record<string, unknown> = {}) {
		stubFetch(() => Response.json(doc(c.issuer, extra)));
		const m = await discoverProvider(c);
		if (!m.ok) throw new Error("setup");
		return m.value;
	}

	it("sends the code, redirect_uri and PKCE verifier with form-encoded Basic credentials (RFC 6749 §2.3.1)", async () => {
		const c = config();
		const m = await metadata(c);
		const calls = stubFetch(() => Response.json({ id_token: "a.b.c", token_type: "Bearer" }));
		const r = await exchangeCode(c, m, "the-code", "the-verifier");
		expect(r.ok && r.value.idToken).toBe("a.b.c");
		const body = new URLSearchParams(String(calls[0]!.init?.body));
		expect(Object.fromEntries(body)).toEqual({
			grant_type: "authorization_code",
			code: "the-code",
			redirect_uri: c.redirectUri,
			code_verifier: "the-verifier",
		});
		const auth = new Headers(calls[0]!.init?.headers).get("Authorization")!;
		expect(atob(auth.replace("Basic ", ""))).toBe("smcp+client:p%40ss%3Aword");
	});

	it("sends the credentials in the body for client_secret_post", async () => {
		const c = config();
		const m = await metadata(c, { token_endpoint_auth_methods_supported: ["client_secret_post"] });
		const calls = stubFetch(() => Response.json({ id_token: "a.b.c" }));
		await exchangeCode(c, m, "x", "y");
		const body = new URLSearchParams(String(calls[0]!.init?.body));
		expect(body.get("client_id")).toBe("smcp client");
		expect(body.get("client_secret")).toBe("p@ss:word");
		expect(new Headers(calls[0]!.init?.headers).has("Authorization")).toBe(false);
	});

	it("keeps the error code, never the upstream description, and refuses a response without an ID token", async () => {
		const c = config();
		const m = await metadata(c);
		stubFetch(() =>
			Response.json({ error: "invalid_grant", error_description: "code abc123 for user ada@example.com expired" }, { status: 400 }),
		);
		const refused = await exchangeCode(c, m, "x", "y");
		expect(!refused.ok && refused.error).toEqual({ reason: "token_exchange_refused", status: 400, oauthError: "invalid_grant" });
		expect(JSON.stringify(refused)).not.toContain("abc123");
		stubFetch(() => Response.json({ access_token: "at" }));
		const noId = await exchangeCode(c, m, "x", "y");
		expect(!noId.ok && noId.error.reason).toBe("token_response_invalid");
	});
});

describe("providerKeys", () => {
	it("caches the JWK Set and refetches for an unknown kid at most once a minute", async () => {
		const c = config();
		stubFetch(() => Response.json(doc(c.issuer)));
		const m = await discoverProvider(c);
		if (!m.ok) throw new Error("setup");
		const calls = stubFetch(() => Response.json({ keys: [] }));
		await providerKeys(m.value);
		await providerKeys(m.value);
		await providerKeys(m.value, { refresh: true }); // fetched moments ago: no refetch storm
		expect(calls).toHaveLength(1);
		vi.spyOn(Date, "now").mockReturnValue(Date.now() + 61_000);
		await providerKeys(m.value, { refresh: true });
		expect(calls).toHaveLength(2);
		vi.restoreAllMocks();
	});
});
