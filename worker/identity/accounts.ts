/**
 * @module worker/identity/accounts
 * Local accounts in `DIRECTORY_KV`: an email maps to a PBKDF2 password hash and a user ID, and a
 * user ID maps to the account (its tenant). Runs in workerd, so it uses WebCrypto only.
 *
 * Key layout (also written by `scripts/create-account.mjs`, which mirrors {@link accountRecords}):
 *
 * | key                          | value                              |
 * | ---------------------------- | ---------------------------------- |
 * | `account:email:<email>`      | `{ userId, passwordHash }`         |
 * | `account:user:<userId>`      | {@link Account} JSON               |
 *
 * `<email>` is trimmed and lower-cased. Accounts are created by the operator command or, in
 * development only, by {@link ensureDevAccount}; there is no public sign-up, so the non-atomic
 * "check then put" in {@link AccountDirectory.create} (KV has no compare-and-swap) is acceptable.
 */
import { log } from "../../shared/log";
import { isLoopbackHost } from "../../shared/config";
import type { Env } from "../../shared/env";

/** A local account. `userId` and `tenantId` never contain `:` (the OAuth provider forbids it in `userId`). */
export interface Account {
	userId: string;
	email: string;
	/** The tenant this account works in by default. */
	tenantId: string;
	/** Every tenant the account may use; today just `[tenantId]`. */
	tenants: string[];
	/** Milliseconds since the Unix epoch. */
	createdAt: number;
}

/**
 * Called by {@link AccountDirectory.signIn} before the password is checked, with the account the
 * email names (null for an unknown email) and the normalised email: false refuses the attempt
 * without running PBKDF2 (worker/identity/sign-in-throttle.ts).
 */
export type SignInGate = (account: Account | null, email: string) => Promise<boolean>;

/** Why an account could not be created. */
export type CreateAccountError = { reason: "email_taken" } | { reason: "weak_password" } | { reason: "invalid_email" };

/** Result of {@link AccountDirectory.create} and {@link buildAccountRecords}. */
export type AccountResult<T> = { ok: true; value: T } | { ok: false; error: CreateAccountError };

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
const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const HASH_SCHEME = "pbkdf2-sha256";

/**
 * Hashes a password as `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>` with a fresh
 * 16-byte salt. `scripts/create-account.mjs` produces the same format; keep them in step.
 *
 * @example
 * ```ts
 * const stored = await hashPassword("correct horse battery");
 * await verifyPasswordHash("correct horse battery", stored); // true
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
	const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
	const hash = await pbkdf2(password, salt, PBKDF2_ITERATIONS);
	return `${HASH_SCHEME}$${PBKDF2_ITERATIONS}$${toBase64url(salt)}$${toBase64url(hash)}`;
}

/**
 * Whether `password` matches a hash from {@link hashPassword}. A malformed stored value fails
 * closed (`false`) rather than throwing. The comparison takes the same time wherever the bytes differ.
 */
export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
	const parts = stored.split("$");
	if (parts.length !== 4 || parts[0] !== HASH_SCHEME) return false;
	const iterations = Number(parts[1]);
	if (!Number.isInteger(iterations) || iterations < 1 || iterations > PBKDF2_ITERATIONS) return false;
	let salt: Uint8Array;
	let expected: Uint8Array;
	try {
		salt = fromBase64url(parts[2] ?? "");
		expected = fromBase64url(parts[3] ?? "");
	} catch {
		return false;
	}
	if (salt.length === 0 || expected.length !== HASH_BYTES) return false;
	const actual = await pbkdf2(password, salt, iterations);
	return constantTimeEqual(actual, expected);
}

/**
 * Builds the KV records for a new account: validates the email and password, hashes the password
 * and draws fresh IDs (or uses `ids`, for tests and tooling). Writes nothing.
 *
 * @example
 * ```ts
 * const built = await buildAccountRecords("ada@example.com", "a long passphrase");
 * if (built.ok) for (const { key, value } of built.value.records) await kv.put(key, value);
 * ```
 */
export async function buildAccountRecords(
	email: string,
	password: string,
	ids: { userId?: string; tenantId?: string; createdAt?: number } = {},
): Promise<AccountResult<{ account: Account; records: { key: string; value: string }[] }>> {
	const normalized = normalizeEmail(email);
	if (normalized === null) return { ok: false, error: { reason: "invalid_email" } };
	if (password.length < MIN_PASSWORD_LENGTH) return { ok: false, error: { reason: "weak_password" } };
	const tenantId = ids.tenantId ?? newId("t_");
	const account: Account = {
		userId: ids.userId ?? newId("u_"),
		email: normalized,
		tenantId,
		tenants: [tenantId],
		createdAt: ids.createdAt ?? Date.now(),
	};
	return { ok: true, value: { account, records: accountRecords(account, await hashPassword(password)) } };
}

/**
 * The two KV records for an account, user record first so that an email record never points at a
 * missing user if the second write fails.
 */
export function accountRecords(account: Account, passwordHash: string): { key: string; value: string }[] {
	return [
		{ key: userKey(account.userId), value: JSON.stringify(account) },
		{ key: emailKey(account.email), value: JSON.stringify({ userId: account.userId, passwordHash }) },
	];
}

/**
 * The account store over `DIRECTORY_KV`.
 *
 * @example
 * ```ts
 * const accounts = new AccountDirectory(env.DIRECTORY_KV);
 * const account = await accounts.authenticate(email, password); // null: say nothing more
 * ```
 */
export class AccountDirectory {
	readonly #kv: KVNamespace;

	constructor(kv: KVNamespace) {
		this.#kv = kv;
	}

	/** Creates an account, or says why not. Not atomic: callers are the operator and dev seeding. */
	async create(email: string, password: string): Promise<AccountResult<Account>> {
		const built = await buildAccountRecords(email, password);
		if (!built.ok) return built;
		const { account, records } = built.value;
		if ((await this.#kv.get(emailKey(account.email))) !== null) return { ok: false, error: { reason: "email_taken" } };
		for (const { key, value } of records) await this.#kv.put(key, value);
		return { ok: true, value: account };
	}

	/**
	 * The account for these credentials, or `null`. An unknown email still costs one PBKDF2
	 * verification against a dummy hash, so response time does not reveal which emails have
	 * accounts (OWASP Authentication Cheat Sheet, "Authentication and Error Messages").
	 */
	async authenticate(email: string, password: string): Promise<Account | null> {
		return (await this.signIn(email, password)).account;
	}

	/**
	 * Like {@link authenticate}, and also names the existing account a wrong password was tried
	 * on, so the attempt can be written to that account's audit trail. Never show `attempted` to
	 * the person signing in: that would reveal which emails have accounts. `gate` may refuse the
	 * attempt before the password is checked (`refused`).
	 */
	async signIn(
		email: string,
		password: string,
		gate?: SignInGate,
	): Promise<{ account: Account | null; attempted: Account | null; refused?: true }> {
		const normalized = normalizeEmail(email);
		const entry = normalized === null ? null : await this.#kv.get<EmailEntry>(emailKey(normalized), "json");
		if (!isEmailEntry(entry)) {
			if (gate && !(await gate(null, normalized ?? email.trim().toLowerCase().slice(0, 254))))
				return { account: null, attempted: null, refused: true };
			await verifyPasswordHash(password, DUMMY_HASH);
			return { account: null, attempted: null };
		}
		const known = gate ? await this.get(entry.userId) : null;
		if (gate && !(await gate(known, normalized!))) return { account: null, attempted: null, refused: true };
		if (!(await verifyPasswordHash(password, entry.passwordHash)))
			return { account: null, attempted: known ?? (await this.get(entry.userId)) };
		return { account: known ?? (await this.get(entry.userId)), attempted: null };
	}

	/**
	 * The account registered under this email (trimmed, lower-cased), or `null`. No password is
	 * checked: call it only with an email someone else has verified (an OpenID provider's
	 * `email_verified`, see `worker/identity/oidc/accounts.ts`), never with one typed into a form.
	 */
	async findByEmail(email: string): Promise<Account | null> {
		const normalized = normalizeEmail(email);
		const entry = normalized === null ? null : await this.#kv.get<EmailEntry>(emailKey(normalized), "json");
		return isEmailEntry(entry) ? this.get(entry.userId) : null;
	}

	/** The account with this user ID, or `null`. */
	async get(userId: string): Promise<Account | null> {
		const account = await this.#kv.get<Account>(userKey(userId), "json");
		return isAccount(account) ? account : null;
	}
}

/** Dev seeding already done (or under way) in this isolate, per namespace binding object. */
const seeded = new WeakMap<KVNamespace, Promise<void>>();

/**
 * Development only: creates the `SMCP_DEV_EMAIL` / `SMCP_DEV_PASSWORD` account (from `.dev.vars`)
 * when the request arrived on a loopback host, so `wrangler dev` works on a fresh clone. A
 * deployment is never served on a loopback hostname, so a stray dev secret there does nothing.
 * Idempotent, and runs once per isolate.
 */
export async function ensureDevAccount(env: Env, requestUrl: URL): Promise<void> {
	const email = env.SMCP_DEV_EMAIL;
	const password = env.SMCP_DEV_PASSWORD;
	if (!email || !password || !isLoopbackHost(requestUrl.hostname)) return;
	let pending = seeded.get(env.DIRECTORY_KV);
	if (!pending) {
		pending = seedDevAccount(env.DIRECTORY_KV, email, password);
		seeded.set(env.DIRECTORY_KV, pending);
		// A KV failure should be retried on the next request, not remembered.
		pending.catch(() => seeded.delete(env.DIRECTORY_KV));
	}
	await pending;
}

async function seedDevAccount(kv: KVNamespace, email: string, password: string): Promise<void> {
	const directory = new AccountDirectory(kv);
	const normalized = normalizeEmail(email);
	if (normalized !== null && (await kv.get(emailKey(normalized))) !== null) return;
	const created = await directory.create(email, password);
	if (created.ok) {
		log("info", "accounts.dev_account_created", { userId: created.value.userId, tenantId: created.value.tenantId });
	} else if (created.error.reason !== "email_taken") {
		// Never log the password itself; the reason is enough to fix .dev.vars.
		log("error", "accounts.dev_account_rejected", {
			reason: created.error.reason,
			fix: `Set SMCP_DEV_EMAIL to an address and SMCP_DEV_PASSWORD to at least ${MIN_PASSWORD_LENGTH} characters in .dev.vars`,
		});
	}
}

interface EmailEntry {
	userId: string;
	passwordHash: string;
}

/**
 * Any well-formed hash works here: it only has to cost one real PBKDF2 run at the same iteration
 * count. Its "hash" bytes are the fixed pattern 0..31, not derived from any password.
 */
const DUMMY_HASH = `${HASH_SCHEME}$${PBKDF2_ITERATIONS}$c21jcC1kdW1teS1zYWx0IQ$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8`;

const emailKey = (email: string) => `account:email:${email}`;
const userKey = (userId: string) => `account:user:${userId}`;

/** Trimmed, lower-cased email, or `null` when it is not plausibly one address (RFC 5321 §4.5.3.1.3 length). */
function normalizeEmail(email: string): string | null {
	const e = email.trim().toLowerCase();
	if (e.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) return null;
	// Control characters would end up in KV keys and logs.
	if (/[\u0000-\u001f\u007f]/.test(e)) return null;
	return e;
}

/** `prefix` + 32 random hex characters (128 bits). */
function newId(prefix: "u_" | "t_"): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
	const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BYTES * 8);
	return new Uint8Array(bits);
}

/** workerd's `crypto.subtle.timingSafeEqual` when present; otherwise an XOR accumulator (Node). */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false; // lengths are public (always HASH_BYTES)
	const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBufferView, y: ArrayBufferView) => boolean };
	if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
	return diff === 0;
}

function isEmailEntry(v: unknown): v is EmailEntry {
	const e = v as EmailEntry | null;
	return !!e && typeof e === "object" && typeof e.userId === "string" && typeof e.passwordHash === "string";
}

function isAccount(v: unknown): v is Account {
	const a = v as Account | null;
	return (
		!!a &&
		typeof a === "object" &&
		typeof a.userId === "string" &&
		typeof a.email === "string" &&
		typeof a.tenantId === "string" &&
		Array.isArray(a.tenants) &&
		typeof a.createdAt === "number"
	);
}

function toBase64url(bytes: Uint8Array): string {
	let s = "";
	for (const b of bytes) s += String.fromCharCode(b);
	return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(s: string): Uint8Array {
	if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new TypeError("not base64url");
	const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
