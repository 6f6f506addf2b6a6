/**
 * @module worker/identity/oidc/id-token
 * Verification of OpenID Connect ID tokens: a JWS in compact serialization (RFC 7515 §7.1)
 * signed with RS256 or ES256 (RFC 7518 §3.3, §3.4), checked against a JWK Set (RFC 7517 §5)
 * with WebCrypto, then the claims checks of OpenID Connect Core 1.0 §3.1.3.7.
 *
 * Pure: no network and no clock of its own (the caller passes `now`), so every rejection is
 * unit-tested (`worker/identity/oidc/id-token.test.ts`). Fetching the JWK Set is `worker/identity/oidc/issuer.ts`'s job.
 *
 * The signature is checked before any claim is read: an unverified payload is attacker data.
 * Only the two asymmetric algorithms are accepted, whatever the header says: `none` (RFC 7518
 * §3.6) and the HMAC family (a public key used as an HMAC secret, the "algorithm confusion"
 * attack, RFC 8725 §2.1 and §3.1) are refused before a key is even looked up.
 */
import { err, ok, type Result } from "../../../shared/errors";

/** The JWS algorithms SMCP accepts for ID tokens (RFC 8725 §3.1: an explicit allow-list). */
export const ID_TOKEN_ALGORITHMS = ["RS256", "ES256"] as const;
export type IdTokenAlgorithm = (typeof ID_TOKEN_ALGORITHMS)[number];

/** A public JSON Web Key (RFC 7517 §4), the members SMCP reads. */
export interface Jwk {
	kty: string;
	kid?: string;
	use?: string;
	alg?: string;
	key_ops?: string[];
	/** RSA modulus and exponent (RFC 7518 §6.3.1). */
	n?: string;
	e?: string;
	/** EC curve and coordinates (RFC 7518 §6.2.1). */
	crv?: string;
	x?: string;
	y?: string;
}

/** A JWK Set (RFC 7517 §5). */
export interface JwkSet {
	keys: Jwk[];
}

/** The claims SMCP relies on. Every one is checked before it is returned. */
export interface IdTokenClaims {
	iss: string;
	sub: string;
	aud: string | string[];
	exp: number;
	iat: number;
	nbf?: number;
	nonce?: string;
	azp?: string;
	email?: string;
	email_verified?: boolean;
	name?: string;
	[claim: string]: unknown;
}

/** What the ID token must match (OIDC Core §3.1.3.7). */
export interface IdTokenExpectations {
	/** The configured issuer, compared exactly (no normalisation: OIDC Discovery §4.3). */
	issuer: string;
	/** SMCP's client id at the issuer: MUST be in `aud`. */
	clientId: string;
	/** The nonce sent in the authentication request (OIDC Core §3.1.2.1, §15.5.2). */
	nonce: string;
	/** Seconds since the Unix epoch. */
	now: number;
	/** Allowed clock difference with the issuer; default 60 s. */
	skewSeconds?: number;
	/** Oldest acceptable `iat`: the token was issued moments ago by the token endpoint. Default 600 s. */
	maxAgeSeconds?: number;
}

/** Why an ID token was refused. For logs and audit only: the person sees one generic message. */
export type IdTokenRejection =
	| { reason: "malformed"; detail: string }
	| { reason: "unsupported_alg"; alg: string }
	| { reason: "unknown_key"; kid: string | null }
	| { reason: "weak_key" }
	| { reason: "bad_signature" }
	| { reason: "missing_claim"; claim: string }
	| { reason: "wrong_issuer" }
	| { reason: "wrong_audience" }
	| { reason: "wrong_azp" }
	| { reason: "expired" }
	| { reason: "not_yet_valid" }
	| { reason: "issued_too_long_ago" }
	| { reason: "nonce_mismatch" };

/** ID tokens are a few kilobytes; anything much larger is not one. */
const MAX_TOKEN_CHARS = 16 * 1024;
/** RFC 8725 §3.5 and NIST SP 800-131A: RSA keys shorter than 2048 bits are refused. */
const MIN_RSA_MODULUS_BYTES = 256;

/**
 * Verifies an ID token's signature against `jwks`, then its claims against `expect`.
 *
 * @example
 * ```ts
 * const checked = await verifyIdToken(idToken, jwks, { issuer, clientId, nonce, now: Math.floor(Date.now() / 1000) });
 * if (!checked.ok) log("warn", "oidc.id_token_rejected", { reason: checked.error.reason });
 * ```
 */
export async function verifyIdToken(
	token: string,
	jwks: JwkSet,
	expect: IdTokenExpectations,
): Promise<Result<IdTokenClaims, IdTokenRejection>> {
	const jws = decodeJws(token);
	if (!jws.ok) return jws;
	const verified = await verifyJwsSignature(jws.value, jwks);
	if (!verified.ok) return verified;
	return checkIdTokenClaims(jws.value.payload, expect);
}

/** A decoded, not yet verified, compact JWS. */
export interface DecodedJws {
	header: { alg: string; kid?: string; crit?: unknown; [member: string]: unknown };
	payload: Record<string, unknown>;
	signingInput: Uint8Array;
	signature: Uint8Array;
}

/** Splits and decodes a compact JWS (RFC 7515 §7.1) without trusting any of it. */
export function decodeJws(token: string): Result<DecodedJws, IdTokenRejection> {
	if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_CHARS)
		return err({ reason: "malformed", detail: "size" });
	const parts = token.split(".");
	if (parts.length !== 3) return err({ reason: "malformed", detail: "not three parts (a JWE or a JWT with no signature part)" });
	const [h, p, s] = parts as [string, string, string];
	const header = parseJsonPart(h);
	const payload = parseJsonPart(p);
	const signature = fromBase64url(s);
	if (!header || !payload || !signature) return err({ reason: "malformed", detail: "bad base64url or JSON" });
	if (typeof header.alg !== "string") return err({ reason: "malformed", detail: "no alg" });
	if (header.kid !== undefined && typeof header.kid !== "string") return err({ reason: "malformed", detail: "kid not a string" });
	return ok({ header: header as DecodedJws["header"], payload, signingInput: new TextEncoder().encode(`${h}.${p}`), signature });
}

/**
 * Checks the JWS signature with the key `kid` names (or the only key that fits when the header
 * has no `kid`). `unknown_key` tells the caller a refetch of the JWK Set may help (key rotation,
 * OIDC Core §10.1.1).
 */
export async function verifyJwsSignature(jws: DecodedJws, jwks: JwkSet): Promise<Result<true, IdTokenRejection>> {
	const alg = jws.header.alg;
	if (!(ID_TOKEN_ALGORITHMS as readonly string[]).includes(alg)) return err({ reason: "unsupported_alg", alg: alg.slice(0, 16) });
	// RFC 7515 §4.1.11: a recipient MUST reject a JWS whose `crit` extensions it does not understand; SMCP understands none.
	if (jws.header.crit !== undefined) return err({ reason: "malformed", detail: "crit header" });
	const jwk = selectKey(jwks, alg as IdTokenAlgorithm, jws.header.kid);
	if (!jwk) return err({ reason: "unknown_key", kid: jws.header.kid?.slice(0, 64) ?? null });
	if (jwk.kty === "RSA" && (fromBase64url(jwk.n ?? "")?.length ?? 0) < MIN_RSA_MODULUS_BYTES) return err({ reason: "weak_key" });
	let valid: boolean;
	try {
		valid = alg === "RS256" ? await verifyRs256(jwk, jws) : await verifyEs256(jwk, jws);
	} catch {
		// A JWK WebCrypto cannot import (bad coordinates, wrong sizes) verifies nothing.
		valid = false;
	}
	return valid ? ok(true) : err({ reason: "bad_signature" });
}

/** The claims checks of OIDC Core §3.1.3.7 (steps 2–4, 9–11), on a payload whose signature was verified. */
export function checkIdTokenClaims(payload: Record<string, unknown>, expect: IdTokenExpectations): Result<IdTokenClaims, IdTokenRejection> {
	const skew = expect.skewSeconds ?? 60;
	const maxAge = expect.maxAgeSeconds ?? 600;
	for (const claim of ["iss", "sub"] as const) {
		if (typeof payload[claim] !== "string" || (payload[claim] as string).length === 0) return err({ reason: "missing_claim", claim });
	}
	for (const claim of ["exp", "iat"] as const) {
		if (typeof payload[claim] !== "number" || !Number.isFinite(payload[claim])) return err({ reason: "missing_claim", claim });
	}
	const claims = payload as IdTokenClaims;
	// §3.1.3.7 (2): "The Issuer Identifier … MUST exactly match the value of the iss (issuer) Claim."
	if (claims.iss !== expect.issuer) return err({ reason: "wrong_issuer" });
	// §3.1.3.7 (3): "The Client MUST validate that the aud (audience) Claim contains its client_id value."
	const aud = claims.aud;
	const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === "string") ? aud : null;
	if (!audiences?.includes(expect.clientId)) return err({ reason: "wrong_audience" });
	// §3.1.3.7 (4)–(5): with several audiences `azp` must be present; when present it must be our client_id.
	if (claims.azp !== undefined && claims.azp !== expect.clientId) return err({ reason: "wrong_azp" });
	if (audiences.length > 1 && claims.azp === undefined) return err({ reason: "wrong_azp" });
	// §3.1.3.7 (9): "The current time MUST be before the time represented by the exp Claim" (with a small leeway).
	if (claims.exp <= expect.now - skew) return err({ reason: "expired" });
	// §3.1.3.7 (10): iat "can be used to reject tokens that were issued too far away from the current time".
	if (claims.iat > expect.now + skew) return err({ reason: "not_yet_valid" });
	if (claims.iat < expect.now - maxAge - skew) return err({ reason: "issued_too_long_ago" });
	if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || claims.nbf > expect.now + skew))
		return err({ reason: "not_yet_valid" });
	// §3.1.3.7 (11): the nonce "MUST be checked to verify that it is the same value as the one that was sent".
	if (typeof claims.nonce !== "string" || !equalStrings(claims.nonce, expect.nonce)) return err({ reason: "nonce_mismatch" });
	return ok(claims);
}

/**
 * The key for `alg` named by `kid`; without a `kid`, the one key of the right type (OIDC Core
 * §10.1: "If there are multiple keys in the referenced JWK Set document, a kid value MUST be
 * provided in the JOSE Header"). Keys marked for encryption or another algorithm never match.
 */
function selectKey(jwks: JwkSet, alg: IdTokenAlgorithm, kid: string | undefined): Jwk | undefined {
	const kty = alg === "RS256" ? "RSA" : "EC";
	const usable = (Array.isArray(jwks.keys) ? jwks.keys : []).filter(
		(k) =>
			k &&
			typeof k === "object" &&
			k.kty === kty &&
			(k.use === undefined || k.use === "sig") &&
			(k.alg === undefined || k.alg === alg) &&
			(k.key_ops === undefined || (Array.isArray(k.key_ops) && k.key_ops.includes("verify"))) &&
			(kty === "RSA" || k.crv === "P-256"),
	);
	if (kid !== undefined) return usable.find((k) => k.kid === kid);
	return usable.length === 1 ? usable[0] : undefined;
}

async function verifyRs256(jwk: Jwk, jws: DecodedJws): Promise<boolean> {
	if (typeof jwk.n !== "string" || typeof jwk.e !== "string") return false;
	// Import only the public members: `alg`, `use` and `key_ops` in a JWK must agree with the
	// import parameters or WebCrypto throws; they were already checked in selectKey().
	const key = await crypto.subtle.importKey(
		"jwk",
		{ kty: "RSA", n: jwk.n, e: jwk.e },
		{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
		false,
		["verify"],
	);
	return crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, jws.signature, jws.signingInput);
}

async function verifyEs256(jwk: Jwk, jws: DecodedJws): Promise<boolean> {
	// RFC 7518 §3.4: the signature is R || S, 32 bytes each for P-256 (the format WebCrypto uses),
	// not DER.
	if (jws.signature.length !== 64 || typeof jwk.x !== "string" || typeof jwk.y !== "string") return false;
	const key = await crypto.subtle.importKey(
		"jwk",
		{ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
		{ name: "ECDSA", namedCurve: "P-256" },
		false,
		["verify"],
	);
	return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, jws.signature, jws.signingInput);
}

function parseJsonPart(part: string): Record<string, unknown> | null {
	const bytes = fromBase64url(part);
	if (!bytes) return null;
	try {
		const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
		return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

/** Strict base64url without padding (RFC 7515 §2); `null` for anything else. */
export function fromBase64url(s: string): Uint8Array | null {
	if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
	const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Base64url without padding. */
export function toBase64url(bytes: Uint8Array): string {
	let s = "";
	for (const b of bytes) s += String.fromCharCode(b);
	return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Compares two strings without an early exit on the first difference. */
function equalStrings(a: string, b: string): boolean {
	const x = new TextEncoder().encode(a);
	const y = new TextEncoder().encode(b);
	if (x.length !== y.length) return false;
	let diff = 0;
	for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
	return diff === 0;
}
