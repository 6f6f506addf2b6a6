/**
 * @module worker/account/flash
 * The one-time result of a form on the account page (post/redirect/get): every POST answers
 * `303 See Other` and leaves its result here, the next `GET /account` shows it once and clears
 * it, so reloading the page shows nothing again and sends nothing again.
 *
 * The result can be a new API key's secret, which must not appear in a URL, a log or storage
 * (AGENTS.md: never store a token). So the flash is a short-lived `__Host-` cookie, encrypted
 * with AES-GCM under a key derived from `SMCP_SECRET`, with the session's nonce as associated
 * data: it is opaque to anything but this Worker, and useless to any other session.
 */
import { cookieValue, type WebSession } from "../identity/web-session";
import { fromBase64url, toBase64url } from "../../shared/base64url.mjs";

/** What the next page view shows once. */
export interface Flash {
	/** A sentence saying what was done. */
	notice?: string;
	/** A sentence saying what went wrong and what to do. */
	error?: string;
	/** A key just created: its secret, shown this once. */
	newKey?: { key: string; name: string };
}

const COOKIE = "__Host-smcp-flash";
/** Long enough for a slow redirect, short enough that a forgotten tab does not keep a secret. */
const TTL_SECONDS = 120;
const enc = new TextEncoder();

async function aesKey(secret: string): Promise<CryptoKey> {
	const base = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveKey"]);
	return crypto.subtle.deriveKey(
		{ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode("smcp/flash/v1") },
		base,
		{ name: "AES-GCM", length: 256 },
		false,
		["encrypt", "decrypt"],
	);
}

/**
 * The `Set-Cookie` value carrying `flash` to the next page view of this session.
 *
 * @example
 * ```ts
 * return see("/account", await flashCookie(secret, session, { notice: "Key revoked." }));
 * ```
 */
export async function flashCookie(secret: string, session: WebSession, flash: Flash): Promise<string> {
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const sealed = new Uint8Array(
		await crypto.subtle.encrypt(
			{ name: "AES-GCM", iv, additionalData: enc.encode(session.nonce) },
			await aesKey(secret),
			enc.encode(JSON.stringify(flash)),
		),
	);
	return `${COOKIE}=${toBase64url(iv)}.${toBase64url(sealed)}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${TTL_SECONDS}`;
}

/** The `Set-Cookie` value that removes the flash once shown. */
export const clearFlash = () => `${COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;

/** The request's flash for this session, or null (absent, tampered, or another session's). */
export async function readFlash(secret: string, session: WebSession, request: Request): Promise<Flash | null> {
	const [iv, sealed] = (cookieValue(request, COOKIE) ?? "").split(".").map(fromBase64url);
	if (!iv || !sealed) return null;
	try {
		const plain = await crypto.subtle.decrypt(
			{ name: "AES-GCM", iv, additionalData: enc.encode(session.nonce) },
			await aesKey(secret),
			sealed,
		);
		const f = JSON.parse(new TextDecoder().decode(plain)) as Flash;
		return f && typeof f === "object" ? f : null;
	} catch {
		return null;
	}
}
