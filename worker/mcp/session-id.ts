/**
 * @module worker/mcp/session-id
 * Session ids that the front Worker can check without a Durable Object round trip. An id is 16
 * random bytes plus a 16-byte HMAC over those bytes and the principal (tenant, user, client), both
 * base64url: 44 visible ASCII characters (streamable-http §"Session Management": the id MUST be
 * visible ASCII and SHOULD be globally unique and cryptographically secure). A forged id, a
 * truncated one, or another principal's id fails the MAC and gets 404 before any object is touched
 * (docs/security.md attack 39–40).
 */
import type { VerifiedPrincipal } from "../../shared/rpc/principal";
import { toBase64url } from "../../shared/base64url.mjs";

const PREFIX = "smcp-session-v1";
const keys = new Map<string, Promise<CryptoKey>>();

/** Imports (once per isolate) the HMAC key derived from the deployment secret. */
function hmacKey(secret: string): Promise<CryptoKey> {
	let key = keys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		keys.set(secret, key);
	}
	return key;
}

async function mac(secret: string, nonce: string, p: VerifiedPrincipal): Promise<string> {
	const data = new TextEncoder().encode([PREFIX, nonce, p.tenantId, p.userId, p.clientId].join("\n"));
	const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), data));
	return toBase64url(sig.slice(0, 16));
}

/**
 * Mints a session id bound to `principal`.
 *
 * @example
 * ```ts
 * const id = await mintSessionId(env.SMCP_SECRET, principal); // 44 chars
 * ```
 */
export async function mintSessionId(secret: string, principal: VerifiedPrincipal): Promise<string> {
	const nonce = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
	return nonce + (await mac(secret, nonce, principal));
}

/** Whether `id` was minted by this deployment for exactly this principal. */
export async function verifySessionId(secret: string, principal: VerifiedPrincipal, id: string | null): Promise<boolean> {
	if (!id || !/^[A-Za-z0-9_-]{44}$/.test(id)) return false;
	const expected = await mac(secret, id.slice(0, 22), principal);
	const a = new TextEncoder().encode(expected);
	const b = new TextEncoder().encode(id.slice(22));
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
	return diff === 0;
}
