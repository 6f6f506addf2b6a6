/**
 * @module worker/identity/oidc/id-token
 * Verification of OpenID Connect ID tokens: a JWS in compact serialization (RFC 7515 §7.1)
 * checked with `jose` against a JWK Set (RFC 7517 §5), then the claims checks of OpenID Connect
 * Core 1.0 §3.1.3.7, which stay here (with their own rejection reasons for logs and audit).
 *
 * Pure: no network and no clock of its own (the caller passes `now`), so every rejection is
 * unit-tested (`worker/identity/oidc/id-token.test.ts`). Fetching and caching the JWK Set is
 * `worker/identity/oidc/issuer.ts`'s job (refetched when a `kid` is unknown: key rotation).
 *
 * The signature is checked before any claim is read: an unverified payload is attacker data.
 * Only the asymmetric algorithms in {@link ID_TOKEN_ALGORITHMS} are accepted, whatever the header
 * says: `none` (RFC 7518 §3.6) and the HMAC family (a public key used as an HMAC secret, the
 * "algorithm confusion" attack, RFC 8725 §2.1 and §3.1) are refused before a key is looked up.
 * RSA keys under 2048 bits are refused (RFC 8725 §3.5).
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, errors, type JSONWebKeySet } from "jose";
import { err, ok, type Result } from "../../../shared/errors";

/**
 * The JWS algorithms SMCP accepts for ID tokens (RFC 8725 §3.1: an explicit allow-list):
 * asymmetric only. RS256 is the one every OpenID provider must support (OIDC Core §15.1).
 */
export const ID_TOKEN_ALGORITHMS = [
	"RS256",
	"RS384",
	"RS512",
	"PS256",
	"PS384",
	"PS512",
	"ES256",
	"ES384",
	"ES512",
	"EdDSA",
	"Ed25519",
] as const;
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
const MIN_RSA_MODULUS_BITS = 2048;
/** The JWK Sets already prepared for jose (issuer.ts hands out the same object until it refetches). */
const prepared = new WeakMap<JwkSet, ReturnType<typeof createLocalJWKSet>>();
class WeakKey extends Error {}

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
	const verified = await verifyJwsSignature(token, jwks);
	if (!verified.ok) return verified;
	return checkIdTokenClaims(verified.value, expect);
}

/**
 * Checks the JWS signature with the key `kid` names (or the only key that fits when the header
 * has no `kid`) and returns the payload. `unknown_key` tells the caller a refetch of the JWK Set
 * may help (key rotation, OIDC Core §10.1.1).
 */
export async function verifyJwsSignature(token: string, jwks: JwkSet): Promise<Result<Record<string, unknown>, IdTokenRejection>> {
	if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_CHARS)
		return err({ reason: "malformed", detail: "size" });
	if (token.split(".").length !== 3) return err({ reason: "malformed", detail: "not three parts (a JWE or a JWT with no signature part)" });
	let header: ReturnType<typeof decodeProtectedHeader>;
	try {
		header = decodeProtectedHeader(token);
	} catch {
		return err({ reason: "malformed", detail: "bad base64url or JSON" });
	}
	if (typeof header.alg !== "string") return err({ reason: "malformed", detail: "no alg" });
	if (header.kid !== undefined && typeof header.kid !== "string") return err({ reason: "malformed", detail: "kid not a string" });
	if (!(ID_TOKEN_ALGORITHMS as readonly string[]).includes(header.alg))
		return err({ reason: "unsupported_alg", alg: header.alg.slice(0, 16) });
	// RFC 7515 §4.1.11: a recipient MUST reject a JWS whose `crit` extensions it does not understand; SMCP understands none.
	if (header.crit !== undefined) return err({ reason: "malformed", detail: "crit header" });
	let keys = prepared.get(jwks);
	if (!keys) {
		keys = createLocalJWKSet({ keys: Array.isArray(jwks.keys) ? jwks.keys : [] } as JSONWebKeySet);
		prepared.set(jwks, keys);
	}
	const getKey = keys;
	try {
		const { payload } = await compactVerify(
			token,
			async (h, t) => {
				const key = await getKey(h, t);
				const modulus = (key as CryptoKey).algorithm as { modulusLength?: number };
				if (typeof modulus.modulusLength === "number" && modulus.modulusLength < MIN_RSA_MODULUS_BITS) throw new WeakKey();
				return key;
			},
			{ algorithms: [...ID_TOKEN_ALGORITHMS], crit: {} },
		);
		const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(payload));
		if (value === null || typeof value !== "object" || Array.isArray(value))
			return err({ reason: "malformed", detail: "payload not an object" });
		return ok(value as Record<string, unknown>);
	} catch (e) {
		return err(rejection(e, header.kid));
	}
}

/** What a jose failure means for the caller. */
function rejection(e: unknown, kid: string | undefined): IdTokenRejection {
	if (e instanceof WeakKey) return { reason: "weak_key" };
	if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys)
		return { reason: "unknown_key", kid: kid?.slice(0, 64) ?? null };
	if (e instanceof errors.JOSEAlgNotAllowed) return { reason: "unsupported_alg", alg: "?" };
	if (e instanceof errors.JWSSignatureVerificationFailed) return { reason: "bad_signature" };
	if (e instanceof errors.JWSInvalid || e instanceof errors.JOSENotSupported || e instanceof SyntaxError)
		return { reason: "malformed", detail: e instanceof Error ? e.message.slice(0, 80) : "invalid" };
	// A JWK WebCrypto cannot import (bad coordinates, wrong sizes) verifies nothing.
	return { reason: "bad_signature" };
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

/** Compares two strings without an early exit on the first difference. */
function equalStrings(a: string, b: string): boolean {
	const x = new TextEncoder().encode(a);
	const y = new TextEncoder().encode(b);
	if (x.length !== y.length) return false;
	let diff = 0;
	for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
	return diff === 0;
}
