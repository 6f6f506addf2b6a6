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
import { cookieValue, openSealed, sealText, type WebSession } from "../identity/web-session";

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
/**
 * The `Set-Cookie` value carrying `flash` to the next page view of this session.
 *
 * @example
 * ```ts
 * return see("/account", await flashCookie(secret, session, { notice: "Key revoked." }));
 * ```
 */
export async function flashCookie(secret: string, session: WebSession, flash: Flash): Promise<string> {
	const value = await sealText(secret, "flash", JSON.stringify(flash), session.nonce);
	return `${COOKIE}=${value}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${TTL_SECONDS}`;
}

/** The `Set-Cookie` value that removes the flash once shown. */
export const clearFlash = () => `${COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;

/** The request's flash for this session, or null (absent, tampered, or another session's). */
export async function readFlash(secret: string, session: WebSession, request: Request): Promise<Flash | null> {
	const plain = await openSealed(secret, "flash", cookieValue(request, COOKIE), session.nonce);
	if (plain === null) return null;
	try {
		const f = JSON.parse(plain) as Flash;
		return f && typeof f === "object" ? f : null;
	} catch {
		return null;
	}
}
