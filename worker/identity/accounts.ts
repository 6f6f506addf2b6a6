/**
 * @module worker/identity/accounts
 * worker/identity/ (entry: this module) owns who people are: local accounts, tenants and
 * memberships, the web session cookie, API keys, and upstream sign-in (oidc/). It may import
 * shared/, npm packages and, for upstream sign-in only, worker/oauth/ (auth events, page helpers).
 *
 * Local accounts in `DIRECTORY_KV`: an email maps to a PBKDF2 password hash and a user ID, and a
 * user ID maps to the account (its tenant). Runs in workerd, so it uses WebCrypto only.
 *
 * Key layout (built in `shared/accounts/records.mjs`, shared with the operator CLI's
 * `smcp users create --local|--remote`):
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
import {
	accountRecords,
	buildAccountRecords as buildRecords,
	emailKey,
	HASH_BYTES,
	HASH_SCHEME,
	hashPassword,
	MIN_PASSWORD_LENGTH,
	normalizeEmail,
	PBKDF2_ITERATIONS,
	pbkdf2,
	userKey,
} from "../../shared/accounts/records.mjs";
import { fromBase64url } from "../../shared/base64url.mjs";

export { accountRecords, hashPassword, MIN_PASSWORD_LENGTH };

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
 * Whether `password` matches a hash from {@link hashPassword}. A malformed stored value fails
 * closed (`false`) rather than throwing. The comparison takes the same time wherever the bytes differ.
 */
export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
	const parts = stored.split("$");
	if (parts.length !== 4 || parts[0] !== HASH_SCHEME) return false;
	const iterations = Number(parts[1]);
	if (!Number.isInteger(iterations) || iterations < 1 || iterations > PBKDF2_ITERATIONS) return false;
	const salt = fromBase64url(parts[2] ?? "");
	const expected = fromBase64url(parts[3] ?? "");
	if (!salt || !expected || salt.length === 0 || expected.length !== HASH_BYTES) return false;
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
	return buildRecords(email, password, ids);
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

	/**
	 * Deletes an account's records: the email record first (so password sign-in stops at once and no
	 * email ever names a missing user), then the user record. Other records (tenants, grants, keys,
	 * links) are the caller's (worker/admin/deletion.ts).
	 */
	async remove(account: Account): Promise<void> {
		await this.#kv.delete(emailKey(account.email));
		await this.#kv.delete(userKey(account.userId));
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
