/**
 * @module worker/identity/oidc/id-token.test
 * Unit tests for ID token verification: tokens signed with freshly generated RSA and EC keys
 * (WebCrypto), then each forgery or mismatch OIDC Core §3.1.3.7 and RFC 8725 name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { toBase64url } from "../../../shared/base64url.mjs";
import { verifyIdToken, type IdTokenExpectations, type Jwk, type JwkSet } from "./id-token";

const ISSUER = "https://id.example.com";
const CLIENT = "smcp-client";
const NONCE = "n-0S6_WzA2Mj";
const NOW = 1_900_000_000;

interface Signer {
	alg: string;
	kid: string;
	jwk: Jwk;
	sign(data: Uint8Array): Promise<Uint8Array>;
}

async function rsaSigner(kid: string, modulusLength = 2048): Promise<Signer> {
	const algorithm = { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
	const pair = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
	const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as Jwk;
	return {
		alg: "RS256",
		kid,
		jwk: { kty: "RSA", n: jwk.n, e: jwk.e, kid, use: "sig", alg: "RS256" },
		sign: async (data) => new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, data)),
	};
}

async function ecSigner(kid: string): Promise<Signer> {
	const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
	const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as Jwk;
	return {
		alg: "ES256",
		kid,
		jwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid },
		sign: async (data) => new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data)),
	};
}

const enc = (value: unknown) => toBase64url(new TextEncoder().encode(JSON.stringify(value)));

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		iss: ISSUER,
		sub: "user-42",
		aud: CLIENT,
		exp: NOW + 300,
		iat: NOW - 5,
		nonce: NONCE,
		email: "ada@example.com",
		email_verified: true,
		...overrides,
	};
}

async function sign(signer: Signer, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
	const input = `${enc({ alg: signer.alg, typ: "JWT", kid: signer.kid, ...header })}.${enc(payload)}`;
	return `${input}.${toBase64url(await signer.sign(new TextEncoder().encode(input)))}`;
}

const expectations = (overrides: Partial<IdTokenExpectations> = {}): IdTokenExpectations => ({
	issuer: ISSUER,
	clientId: CLIENT,
	nonce: NONCE,
	now: NOW,
	...overrides,
});

let rsa: Signer;
let ec: Signer;
let jwks: JwkSet;

beforeAll(async () => {
	rsa = await rsaSigner("rsa-1");
	ec = await ecSigner("ec-1");
	jwks = { keys: [rsa.jwk, ec.jwk] };
});

async function reason(token: string, set: JwkSet = jwks, exp = expectations()): Promise<string> {
	const r = await verifyIdToken(token, set, exp);
	return r.ok ? "accepted" : r.error.reason;
}

describe("verifyIdToken: signatures", () => {
	it("accepts a valid RS256 token and returns its claims", async () => {
		const r = await verifyIdToken(await sign(rsa, claims()), jwks, expectations());
		expect(r.ok && r.value.sub).toBe("user-42");
		expect(r.ok && r.value.email_verified).toBe(true);
	});

	it("accepts a valid ES256 token", async () => {
		expect(await reason(await sign(ec, claims()))).toBe("accepted");
	});

	it("accepts a token without kid when exactly one key of its type is published", async () => {
		const token = await sign(rsa, claims(), { kid: undefined });
		expect(await reason(token, { keys: [rsa.jwk, ec.jwk] })).toBe("accepted");
	});

	it("refuses a tampered payload (bad signature)", async () => {
		const [h, , s] = (await sign(rsa, claims())).split(".");
		expect(await reason(`${h}.${enc(claims({ sub: "admin" }))}.${s}`)).toBe("bad_signature");
	});

	it("refuses a token signed by another key under a published kid (bad signature)", async () => {
		const impostor = await rsaSigner("rsa-1");
		expect(await reason(await sign(impostor, claims()))).toBe("bad_signature");
		const ecImpostor = await ecSigner("ec-1");
		expect(await reason(await sign(ecImpostor, claims()))).toBe("bad_signature");
	});

	it('refuses alg "none" (unsigned token), with or without a signature part', async () => {
		const unsigned = `${enc({ alg: "none", typ: "JWT" })}.${enc(claims())}`;
		expect(await reason(`${unsigned}.`)).toBe("unsupported_alg");
		expect(await reason(`${unsigned}.${toBase64url(new Uint8Array(8))}`)).toBe("unsupported_alg");
		expect(await reason(unsigned)).toBe("malformed");
	});

	it("refuses HS256 signed with the issuer's public key as the secret (algorithm confusion)", async () => {
		const input = `${enc({ alg: "HS256", kid: "rsa-1" })}.${enc(claims())}`;
		const secret = new TextEncoder().encode(JSON.stringify(rsa.jwk));
		const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
		expect(await reason(`${input}.${toBase64url(mac)}`)).toBe("unsupported_alg");
	});

	it("refuses an RS256 header on an EC key and vice versa (key type must match alg)", async () => {
		expect(await reason(await sign(rsa, claims()), { keys: [{ ...ec.jwk, kid: "rsa-1" }] })).toBe("unknown_key");
		expect(await reason(await sign(ec, claims()), { keys: [{ ...rsa.jwk, kid: "ec-1" }] })).toBe("unknown_key");
	});

	it("refuses a kid that is not in the JWK Set (kid not found)", async () => {
		expect(await reason(await sign(rsa, claims(), { kid: "rotated-away" }))).toBe("unknown_key");
	});

	it("refuses a token without kid when several keys could match", async () => {
		const other = await rsaSigner("rsa-2");
		expect(await reason(await sign(rsa, claims(), { kid: undefined }), { keys: [rsa.jwk, other.jwk] })).toBe("unknown_key");
	});

	it("ignores keys published for encryption or for another algorithm", async () => {
		expect(await reason(await sign(rsa, claims()), { keys: [{ ...rsa.jwk, use: "enc" }] })).toBe("unknown_key");
		expect(await reason(await sign(rsa, claims()), { keys: [{ ...rsa.jwk, alg: "PS256" }] })).toBe("unknown_key");
	});

	it("refuses RSA keys shorter than 2048 bits", async () => {
		const weak = await rsaSigner("weak", 1024);
		expect(await reason(await sign(weak, claims()), { keys: [weak.jwk] })).toBe("weak_key");
	});

	it("refuses a header with crit extensions it does not understand (RFC 7515 §4.1.11)", async () => {
		expect(await reason(await sign(rsa, claims(), { crit: ["exp"], exp: 1 }))).toBe("malformed");
	});

	it("refuses malformed tokens without throwing", async () => {
		for (const bad of ["", "a.b", "a.b.c.d.e", "!!.??.**", `${enc("x")}.${enc(claims())}.AA`, "x".repeat(20_000)]) {
			expect(await reason(bad)).toBe("malformed");
		}
	});
});

describe("verifyIdToken: claims (OIDC Core §3.1.3.7)", () => {
	it("refuses a token from another issuer (wrong iss), even a trailing-slash variant", async () => {
		expect(await reason(await sign(rsa, claims({ iss: "https://evil.example.com" })))).toBe("wrong_issuer");
		expect(await reason(await sign(rsa, claims({ iss: `${ISSUER}/` })))).toBe("wrong_issuer");
	});

	it("refuses a token for another client (wrong aud)", async () => {
		expect(await reason(await sign(rsa, claims({ aud: "someone-else" })))).toBe("wrong_audience");
		expect(await reason(await sign(rsa, claims({ aud: ["someone-else"] })))).toBe("wrong_audience");
		expect(await reason(await sign(rsa, claims({ aud: 42 })))).toBe("wrong_audience");
	});

	it("requires azp = our client when there are several audiences", async () => {
		expect(await reason(await sign(rsa, claims({ aud: [CLIENT, "other"] })))).toBe("wrong_azp");
		expect(await reason(await sign(rsa, claims({ aud: [CLIENT, "other"], azp: "other" })))).toBe("wrong_azp");
		expect(await reason(await sign(rsa, claims({ aud: [CLIENT, "other"], azp: CLIENT })))).toBe("accepted");
		expect(await reason(await sign(rsa, claims({ azp: "other" })))).toBe("wrong_azp");
	});

	it("refuses an expired token, allowing 60 s of clock skew", async () => {
		expect(await reason(await sign(rsa, claims({ exp: NOW - 61, iat: NOW - 120 })))).toBe("expired");
		expect(await reason(await sign(rsa, claims({ exp: NOW - 30, iat: NOW - 120 })))).toBe("accepted");
	});

	it("refuses a token issued in the future or too long ago (iat), or not yet valid (nbf)", async () => {
		expect(await reason(await sign(rsa, claims({ iat: NOW + 120 })))).toBe("not_yet_valid");
		expect(await reason(await sign(rsa, claims({ iat: NOW - 3600, exp: NOW + 3600 })))).toBe("issued_too_long_ago");
		expect(await reason(await sign(rsa, claims({ nbf: NOW + 120 })))).toBe("not_yet_valid");
	});

	it("refuses a wrong or missing nonce (replayed or injected ID token)", async () => {
		expect(await reason(await sign(rsa, claims({ nonce: "another-nonce" })))).toBe("nonce_mismatch");
		expect(await reason(await sign(rsa, claims({ nonce: undefined })))).toBe("nonce_mismatch");
		expect(await reason(await sign(ec, claims({ nonce: `${NONCE}x` })))).toBe("nonce_mismatch");
	});

	it("refuses tokens missing iss, sub, exp or iat", async () => {
		for (const claim of ["iss", "sub", "exp", "iat"]) {
			expect(await reason(await sign(rsa, claims({ [claim]: undefined })))).toBe("missing_claim");
		}
		expect(await reason(await sign(rsa, claims({ exp: "tomorrow" })))).toBe("missing_claim");
	});
});
