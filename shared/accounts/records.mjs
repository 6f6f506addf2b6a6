/**
 * @module shared/accounts/records
 * The one definition of a local account's stored form, used by the Worker
 * (`worker/identity/accounts.ts`) and by the operator CLI (`smcp users create --local|--remote`,
 * which writes straight to `DIRECTORY_KV` through wrangler when the admin API is not reachable,
 * e.g. to seed storage before `wrangler dev` starts). Plain JavaScript so that Node runs it
 * without a build; WebCrypto only, so that workerd runs it too.
 *
 * | key                          | value                              |
 * | ---------------------------- | ---------------------------------- |
 * | `account:email:<email>`      | `{ userId, passwordHash }`         |
 * | `account:user:<userId>`      | the account JSON                   |
 */
import { toBase64url } from "../base64url.mjs";

/**
 * Shortest password accepted. NIST SP 800-63B-4 §3.1.1.2 makes length the main composition rule
 * and asks for 15 characters when, as here, the password is the only factor; 10 is this
 * project's floor. Raising it only affects new accounts.
 */
export const MIN_PASSWORD_LENGTH = 10;

/**
 * PBKDF2 iteration count. 100 000 is the most workerd's WebCrypto accepts (it throws above it);
 * the OWASP Password Storage Cheat Sheet asks for 600 000 with HMAC-SHA256, which the platform
 * cannot reach. The count is stored in each hash, so a later change keeps old hashes valid.
 */
export const PBKDF2_ITERATIONS = 100_000;
export const HASH_SCHEME = "pbkdf2-sha256";
export const HASH_BYTES = 32;
const SALT_BYTES = 16;

/**
 * Hashes a password as `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>` with a fresh
 * 16-byte salt.
 *
 * @example
 * ```js
 * const stored = await hashPassword("correct horse battery");
 * ```
 * @param {string} password
 * @returns {Promise<string>}
 */
export async function hashPassword(password) {
	const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
	const hash = await pbkdf2(password, salt, PBKDF2_ITERATIONS);
	return `${HASH_SCHEME}$${PBKDF2_ITERATIONS}$${toBase64url(salt)}$${toBase64url(hash)}`;
}

/**
 * PBKDF2-HMAC-SHA256 of `password`, {@link HASH_BYTES} long.
 * @param {string} password @param {Uint8Array} salt @param {number} iterations
 * @returns {Promise<Uint8Array>}
 */
export async function pbkdf2(password, salt, iterations) {
	const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
	const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BYTES * 8);
	return new Uint8Array(bits);
}

/**
 * The two KV records for an account, user record first so that an email record never points at a
 * missing user if the second write fails.
 *
 * @param {{ userId: string, email: string, tenantId: string, tenants: string[], createdAt: number }} account
 * @param {string} passwordHash
 * @returns {{ key: string, value: string }[]}
 */
export function accountRecords(account, passwordHash) {
	return [
		{ key: userKey(account.userId), value: JSON.stringify(account) },
		{ key: emailKey(account.email), value: JSON.stringify({ userId: account.userId, passwordHash }) },
	];
}

/** @param {string} email */
export const emailKey = (email) => `account:email:${email}`;
/** @param {string} userId */
export const userKey = (userId) => `account:user:${userId}`;

/**
 * Trimmed, lower-cased email, or `null` when it is not plausibly one address (RFC 5321 §4.5.3.1.3
 * length). Control characters would end up in KV keys and logs.
 *
 * @param {string} email
 * @returns {string | null}
 */
export function normalizeEmail(email) {
	const e = email.trim().toLowerCase();
	if (e.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) return null;
	if (/[\u0000-\u001f\u007f]/.test(e)) return null;
	return e;
}

/**
 * `prefix` + 32 random hex characters (128 bits).
 * @param {"u_" | "t_"} prefix
 * @returns {string}
 */
export function newId(prefix) {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Validates an email and a password and builds a new account's records (fresh ids unless `ids`
 * names them). Writes nothing.
 *
 * @param {string} email
 * @param {string} password
 * @param {{ userId?: string, tenantId?: string, createdAt?: number }} [ids]
 */
export async function buildAccountRecords(email, password, ids = {}) {
	const normalized = normalizeEmail(email);
	if (normalized === null) return /** @type {const} */ ({ ok: false, error: { reason: "invalid_email" } });
	if (password.length < MIN_PASSWORD_LENGTH) return /** @type {const} */ ({ ok: false, error: { reason: "weak_password" } });
	const tenantId = ids.tenantId ?? newId("t_");
	const account = {
		userId: ids.userId ?? newId("u_"),
		email: normalized,
		tenantId,
		tenants: [tenantId],
		createdAt: ids.createdAt ?? Date.now(),
	};
	return /** @type {const} */ ({ ok: true, value: { account, records: accountRecords(account, await hashPassword(password)) } });
}
