/**
 * @module worker/oauth/identifiers
 * Shape checks for the identifiers a client sends that end up in a KV key: bearer tokens on the MCP
 * endpoints, `client_id`, authorization codes, refresh tokens and subject tokens at `/token`, and
 * `client_id` at `/authorize`. The OAuth provider builds keys such as
 * `token:<user>:<grant>:<sha256>`, `grant:<user>:<grant>` and `client:<client_id>` straight from
 * them, and Workers KV throws for a key over 512 bytes, so an over-long identifier used to end as
 * a 500. Refused here instead, with the spec's error and before any storage is read:
 *
 * - RFC 6750 §2.1: a bearer token is a `b64token` (`ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
 *   "/"`, then `=` padding); the provider's own tokens add `:` between their parts. Anything else,
 *   or longer than {@link MAX_IDENTIFIER_BYTES}, is `401 invalid_token` with the RFC 9728
 *   challenge (RFC 6750 §3.1).
 * - RFC 6749 §5.2: an over-long `client_id` (form or HTTP Basic) is `401 invalid_client`; an
 *   over-long code, refresh token or subject token is `400 invalid_grant`.
 *
 * Real identifiers are far shorter: tokens are about 90 characters, API keys 57, client ids 16
 * (or a metadata URL).
 */
import { utf8Length } from "../../shared/utf8";

export { utf8Length };

/**
 * Longest identifier accepted, in UTF-8 bytes. With the provider's longest prefix and its 64-hex
 * token hash, every key it builds stays under KV's 512-byte limit.
 */
export const MAX_IDENTIFIER_BYTES = 400;

const B64TOKEN_WITH_PARTS = /^[A-Za-z0-9\-._~+/:]+=*$/;
const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

/** Whether an identifier is too long to be one SMCP or its provider issued. */
export const oversized = (value: string | null | undefined): boolean => value != null && utf8Length(value) > MAX_IDENTIFIER_BYTES;

/**
 * Whether a bearer token (as `Authorization: Bearer <token>` carries it) has the shape of a token
 * SMCP can have issued.
 *
 * @example
 * ```ts
 * wellFormedBearer("u_abc:GrAnT:s3cr3t"); // true
 * wellFormedBearer(`${"x".repeat(500)}:g:s`); // false: over the limit
 * wellFormedBearer("a:b:cé"); // false: not a b64token
 * ```
 */
export function wellFormedBearer(token: string): boolean {
	return token.length <= MAX_IDENTIFIER_BYTES && B64TOKEN_WITH_PARTS.test(token);
}

/**
 * The 401 for a request to a protected endpoint whose bearer token cannot be valid, or null when
 * the header is absent, not a bearer, or well formed (the provider decides those).
 *
 * @example
 * ```ts
 * const refused = malformedBearer(request, `${origin}/.well-known/oauth-protected-resource`);
 * if (refused) return refused;
 * ```
 */
export function malformedBearer(request: Request, resourceMetadataUrl: string): Response | null {
	const m = /^Bearer[\t ]+([^\s,]+)$/i.exec(request.headers.get("Authorization") ?? "");
	if (!m || wellFormedBearer(m[1]!)) return null;
	const description = "Invalid access token";
	return new Response(JSON.stringify({ error: "invalid_token", error_description: description }), {
		status: 401,
		headers: {
			"Content-Type": "application/json",
			...NO_STORE,
			"WWW-Authenticate": `Bearer realm="OAuth", resource_metadata="${resourceMetadataUrl}", error="invalid_token", error_description="${description}"`,
		},
	});
}

/** An OAuth error response of the token endpoint (RFC 6749 §5.2). */
function tokenError(status: number, error: string, description: string, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify({ error, error_description: description }), {
		status,
		headers: { "Content-Type": "application/json", ...NO_STORE, ...headers },
	});
}

/**
 * The client id an HTTP Basic `Authorization` header names (RFC 6749 §2.3.1: Base64 of the
 * form-encoded id and secret), or null without one; undefined when it cannot be decoded.
 */
function basicClientId(authorization: string | null): string | null | undefined {
	const m = /^Basic[\t ]+(\S+)$/i.exec(authorization ?? "");
	if (!m) return null;
	try {
		const decoded = atob(m[1]!);
		const colon = decoded.indexOf(":");
		const id = colon < 0 ? decoded : decoded.slice(0, colon);
		return decodeURIComponent(id.replaceAll("+", " "));
	} catch {
		return undefined;
	}
}

/**
 * The error for a token request that carries an identifier no issued credential can have, or null.
 * `form` is the parsed `application/x-www-form-urlencoded` body (null for another media type).
 *
 * @example
 * ```ts
 * const refused = oversizedTokenRequest(form, request.headers.get("Authorization"));
 * if (refused) return refused;
 * ```
 */
export function oversizedTokenRequest(form: URLSearchParams | null, authorization: string | null): Response | null {
	const basic = basicClientId(authorization);
	const invalidClient = (d: string) =>
		tokenError(401, "invalid_client", d, basic === null ? {} : { "WWW-Authenticate": 'Basic realm="OAuth"' });
	if (basic === undefined)
		return invalidClient(
			"Client authentication failed: the Basic credentials cannot be decoded (Base64 of client_id:client_secret, each form-encoded)",
		);
	if (oversized(basic) || oversized(form?.get("client_id")))
		return invalidClient(`Client authentication failed: client_id is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
	for (const field of ["code", "refresh_token", "subject_token"]) {
		if (oversized(form?.get(field))) return tokenError(400, "invalid_grant", `The ${field} is not valid: it is longer than any issued one`);
	}
	return null;
}
