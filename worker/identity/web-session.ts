/**
 * @module worker/identity/web-session
 * The browser session of a signed-in person on SMCP's own pages (the account page, and the
 * consent page, where a live session stands in for the password). A `__Host-` cookie holding the
 * user id, the account's session epoch, an expiry and a random nonce, MACed with a key derived
 * from `SMCP_SECRET`; `HttpOnly`, `Secure`, `SameSite=Lax`. Forms carry a CSRF token derived from
 * the cookie's nonce, so a token is worthless without the cookie and a cookie is worthless
 * without a token (OWASP CSRF Prevention, "Signed Double-Submit Cookie").
 *
 * A MAC and an expiry alone cannot end a session: a copied cookie would stay valid for its hour
 * after sign-out. So each account has a **session epoch** in `DIRECTORY_KV`
 * (`account:epoch:<userId>`), written into every cookie and compared on every read. Sign-out,
 * password change, an operator's password reset, member removal and account deletion call
 * {@link endAllSessions}, which bumps it: every cookie issued before is refused from then on (OWASP
 * Session Management Cheat Sheet, "Session Expiration": invalidate on the server side). KV is
 * eventually consistent, so another location may accept an old cookie for up to KV's cache time
 * (about 60 s); the location that bumped refuses it at once.
 *
 * On the consent page a session never approves by itself: the page drawn for one consent handle
 * carries {@link consentProof}, a MAC over the session nonce and that handle, and the approval is
 * accepted only with the proof for the handle it posts (a session cannot approve another
 * consent, e.g. one an attacker started and framed or linked).
 */
import { fromBase64url, toBase64url } from "../../shared/base64url.mjs";

export const SESSION_COOKIE = "__Host-smcp-account";
/** One hour: the page is for managing, not for staying signed in. */
const TTL_SECONDS = 3600;

const enc = new TextEncoder();

async function mac(secret: string, purpose: string, data: string): Promise<string> {
	const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	return toBase64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`smcp/${purpose}/v1\n${data}`))));
}

function same(a: string, b: string): boolean {
	if (a.length !== b.length) return false;
	let d = 0;
	for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
	return d === 0;
}

const epochKey = (userId: string) => `account:epoch:${userId}`;

/** A verified browser session. */
export interface WebSession {
	userId: string;
	nonce: string;
	expiresAt: number;
	/** The account's session epoch when the cookie was issued. */
	epoch: number;
}

/** The account's current session epoch (0 until the first bump). */
export async function sessionEpoch(kv: KVNamespace, userId: string): Promise<number> {
	const n = Number((await kv.get(epochKey(userId))) ?? 0);
	return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/**
 * Ends every web session of `userId` at once, in every browser: bumps the account's session
 * epoch. Call it on sign-out, password change, password reset, member removal and deletion.
 *
 * @example
 * ```ts
 * await dir.removeMember(tenantId, userId);
 * await endAllSessions(env.DIRECTORY_KV, userId);
 * ```
 */
export async function endAllSessions(kv: KVNamespace, userId: string): Promise<void> {
	await kv.put(epochKey(userId), String((await sessionEpoch(kv, userId)) + 1));
}

/** The `Set-Cookie` value for a new session of `userId`, at the account's current epoch. */
export async function issueSession(secret: string, kv: KVNamespace, userId: string): Promise<{ cookie: string; session: WebSession }> {
	const session: WebSession = {
		userId,
		nonce: toBase64url(crypto.getRandomValues(new Uint8Array(16))),
		expiresAt: Date.now() + TTL_SECONDS * 1000,
		epoch: await sessionEpoch(kv, userId),
	};
	const body = toBase64url(enc.encode(JSON.stringify(session)));
	const cookie = `${SESSION_COOKIE}=${body}.${await mac(secret, "session", body)}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${TTL_SECONDS}`;
	return { cookie, session };
}

/** The `Set-Cookie` value that removes the cookie from this browser (pair it with {@link endAllSessions}). */
export const clearSession = () => `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;

/**
 * The value of cookie `name` on the request, or undefined.
 *
 * @example
 * ```ts
 * cookieValue(new Request("https://x", { headers: { Cookie: "a=1; b=2" } }), "b"); // "2"
 * ```
 */
export function cookieValue(request: Request, name: string): string | undefined {
	return (request.headers.get("Cookie") ?? "")
		.split(";")
		.map((c) => c.trim())
		.find((c) => c.startsWith(`${name}=`))
		?.slice(name.length + 1);
}

/** An AES-256-GCM key for sealed cookies of one purpose, derived (HKDF-SHA-256) from `SMCP_SECRET`. */
async function sealingKey(secret: string, purpose: string): Promise<CryptoKey> {
	const base = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveKey"]);
	return crypto.subtle.deriveKey(
		{ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode(`smcp/${purpose}/v1`) },
		base,
		{ name: "AES-GCM", length: 256 },
		false,
		["encrypt", "decrypt"],
	);
}

/**
 * `text` sealed for a cookie: AES-GCM under a key of `purpose` only, bound to `context` (associated
 * data, e.g. the web session it belongs to); `iv.ciphertext`, base64url. Opaque and tamper-evident
 * to anything but this Worker; read it back with {@link openSealed}.
 *
 * @example
 * ```ts
 * const value = await sealText(secret, "flash", JSON.stringify(flash), session.nonce);
 * ```
 */
export async function sealText(secret: string, purpose: string, text: string, context = ""): Promise<string> {
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const sealed = await crypto.subtle.encrypt(
		{ name: "AES-GCM", iv, additionalData: enc.encode(context) },
		await sealingKey(secret, purpose),
		enc.encode(text),
	);
	return `${toBase64url(iv)}.${toBase64url(new Uint8Array(sealed))}`;
}

/** The text {@link sealText} sealed for `purpose` and `context`, or null (absent, malformed, tampered, another purpose or context). */
export async function openSealed(secret: string, purpose: string, value: string | undefined, context = ""): Promise<string | null> {
	const [iv, sealed] = (value ?? "").split(".").map(fromBase64url);
	if (!iv || !sealed) return null;
	try {
		const plain = await crypto.subtle.decrypt(
			{ name: "AES-GCM", iv, additionalData: enc.encode(context) },
			await sealingKey(secret, purpose),
			sealed,
		);
		return new TextDecoder().decode(plain);
	} catch {
		return null;
	}
}

/** The request's session, when its cookie is present, intact, unexpired and of the account's current epoch. */
export async function readSession(secret: string, kv: KVNamespace, request: Request): Promise<WebSession | null> {
	const raw = cookieValue(request, SESSION_COOKIE);
	if (!raw) return null;
	const [body, sig] = raw.split(".");
	if (!body || !sig || !same(sig, await mac(secret, "session", body))) return null;
	const bytes = fromBase64url(body);
	if (!bytes) return null;
	let s: WebSession;
	try {
		s = JSON.parse(new TextDecoder().decode(bytes)) as WebSession;
	} catch {
		return null;
	}
	if (typeof s.userId !== "string" || typeof s.nonce !== "string" || typeof s.epoch !== "number" || !(s.expiresAt > Date.now()))
		return null;
	return s.epoch === (await sessionEpoch(kv, s.userId)) ? s : null;
}

/** The CSRF token for forms of this session. */
export function csrfToken(secret: string, session: WebSession): Promise<string> {
	return mac(secret, "csrf", session.nonce);
}

/** Whether a posted CSRF token belongs to this session. */
export async function checkCsrf(secret: string, session: WebSession, token: string | null): Promise<boolean> {
	return token !== null && same(token, await csrfToken(secret, session));
}

/**
 * The proof that the consent page for `handle` was drawn for this session: posted back with the
 * approval, it lets the session stand in for the password for that handle only.
 */
export function consentProof(secret: string, session: WebSession, handle: string): Promise<string> {
	return mac(secret, "consent", `${session.nonce}\n${handle}`);
}

/** Whether `proof` is {@link consentProof} of this session for this `handle`. */
export async function checkConsentProof(secret: string, session: WebSession, handle: string, proof: string | null): Promise<boolean> {
	return proof !== null && handle !== "" && same(proof, await consentProof(secret, session, handle));
}
