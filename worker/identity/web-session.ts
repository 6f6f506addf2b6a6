/**
 * @module worker/identity/web-session
 * The browser session of a signed-in person on SMCP's own pages (the connected-apps page, and the
 * workspace choice during consent). A `__Host-` cookie holding the user id, an expiry and a random
 * nonce, MACed with a key derived from `SMCP_SECRET`; `HttpOnly`, `Secure`, `SameSite=Lax`. Forms
 * carry a CSRF token derived from the cookie's nonce, so a token is worthless without the cookie
 * and a cookie is worthless without a token (OWASP CSRF Prevention, "Signed Double-Submit Cookie").
 */

export const SESSION_COOKIE = "__Host-smcp-account";
/** One hour: the page is for managing, not for staying signed in. */
const TTL_SECONDS = 3600;

const enc = new TextEncoder();
const b64url = (bytes: Uint8Array) =>
	btoa(String.fromCharCode(...bytes))
		.replaceAll("+", "-")
		.replaceAll("/", "_")
		.replace(/=+$/, "");

async function mac(secret: string, purpose: string, data: string): Promise<string> {
	const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`smcp/${purpose}/v1\n${data}`))));
}

function same(a: string, b: string): boolean {
	if (a.length !== b.length) return false;
	let d = 0;
	for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
	return d === 0;
}

/** A verified browser session. */
export interface WebSession {
	userId: string;
	nonce: string;
	expiresAt: number;
}

/** The `Set-Cookie` value for a new session of `userId`. */
export async function issueSession(secret: string, userId: string): Promise<{ cookie: string; session: WebSession }> {
	const session: WebSession = {
		userId,
		nonce: b64url(crypto.getRandomValues(new Uint8Array(16))),
		expiresAt: Date.now() + TTL_SECONDS * 1000,
	};
	const body = b64url(enc.encode(JSON.stringify(session)));
	const cookie = `${SESSION_COOKIE}=${body}.${await mac(secret, "session", body)}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${TTL_SECONDS}`;
	return { cookie, session };
}

/** The `Set-Cookie` value that ends the session. */
export const clearSession = () => `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;

/** The request's session, when its cookie is present, intact and unexpired. */
export async function readSession(secret: string, request: Request): Promise<WebSession | null> {
	const raw = (request.headers.get("Cookie") ?? "")
		.split(";")
		.map((c) => c.trim())
		.find((c) => c.startsWith(`${SESSION_COOKIE}=`))
		?.slice(SESSION_COOKIE.length + 1);
	if (!raw) return null;
	const [body, sig] = raw.split(".");
	if (!body || !sig || !same(sig, await mac(secret, "session", body))) return null;
	try {
		const s = JSON.parse(
			new TextDecoder().decode(Uint8Array.from(atob(body.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0))),
		) as WebSession;
		return typeof s.userId === "string" && typeof s.nonce === "string" && s.expiresAt > Date.now() ? s : null;
	} catch {
		return null;
	}
}

/** The CSRF token for forms of this session. */
export function csrfToken(secret: string, session: WebSession): Promise<string> {
	return mac(secret, "csrf", session.nonce);
}

/** Whether a posted CSRF token belongs to this session. */
export async function checkCsrf(secret: string, session: WebSession, token: string | null): Promise<boolean> {
	return token !== null && same(token, await csrfToken(secret, session));
}
