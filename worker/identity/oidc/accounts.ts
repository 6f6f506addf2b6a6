/**
 * @module worker/identity/oidc/accounts
 * Maps a person signed in at the upstream OpenID provider to an SMCP account. The rule, also in
 * the README ("Upstream sign-in (OIDC)"):
 *
 * 1. When `SMCP_OIDC_ALLOWED_DOMAINS` is set, every upstream sign-in needs a verified email
 *    (`email_verified: true`) in one of those domains, even for an account already linked.
 * 2. `account:oidc:<issuer>:<sub>` names the linked account: sign in as it. The pair (`iss`,
 *    `sub`) is the only stable identifier of an OIDC user (OIDC Core §5.7: "MUST NOT use the
 *    email Claim as a unique identifier"), so a later email change upstream changes nothing.
 * 3. Otherwise the verified email finds a local account: link it and sign in, unless that account
 *    is already linked to a *different* `sub` of this issuer (an address reassigned upstream to
 *    someone new must not take over the previous holder's account).
 * 4. Otherwise create an account just in time with its own tenant, as the operator command would,
 *    but with an unusable password: a PBKDF2 hash of 256 random bits that are thrown away, so local
 *    password sign-in is impossible while an unknown email and this account still cost the same
 *    time to refuse (no enumeration). The operator can later set a password on purpose.
 *
 * Key layout (beside `worker/identity/accounts.ts`'s):
 *
 * | key                                     | value                          |
 * | --------------------------------------- | ------------------------------ |
 * | `account:oidc:<issuer>:<sub>`           | `{ userId, linkedAt }`         |
 * | `account:oidc-user:<userId>:<issuer>`   | `{ sub, linkedAt }`            |
 *
 * KV has no compare-and-swap: two first sign-ins of the same new person at the same instant can
 * create two accounts, of which the last link wins. Records are written in an order that never
 * leaves a link pointing at a missing account.
 */
import { err, ok, type Result } from "../../../shared/errors";
import { AccountDirectory, buildAccountRecords, type Account } from "../accounts";
import type { IdTokenClaims } from "./id-token";
import { emailDomainAllowed } from "./config";

/** How the upstream person got their SMCP account. */
export type OidcAccountHow = "existing" | "linked" | "created";

/** Why no account was chosen. `account`, when set, is whose audit trail the refusal belongs to. */
export type OidcAccountRefusal =
	| { reason: "invalid_subject" }
	| { reason: "email_not_verified"; account?: Account }
	| { reason: "domain_not_allowed"; account?: Account }
	| { reason: "linked_to_other_subject"; account: Account }
	| { reason: "link_points_nowhere" };

interface Link {
	userId: string;
	linkedAt: number;
}

interface ReverseLink {
	sub: string;
	linkedAt: number;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Links upstream identities to accounts in `DIRECTORY_KV`.
 *
 * @example
 * ```ts
 * const links = new OidcAccountLinks(env.DIRECTORY_KV);
 * const mapped = await links.resolve(config.issuer, claims, config.allowedDomains);
 * if (mapped.ok) props = { tenantId: mapped.value.account.tenantId, userId: mapped.value.account.userId };
 * ```
 */
export class OidcAccountLinks {
	readonly #kv: KVNamespace;
	readonly #accounts: AccountDirectory;

	constructor(kv: KVNamespace) {
		this.#kv = kv;
		this.#accounts = new AccountDirectory(kv);
	}

	/** Applies the module's rule to verified ID token claims. Writes a link or an account when the rule says so. */
	async resolve(
		issuer: string,
		claims: IdTokenClaims,
		allowedDomains: ReadonlySet<string>,
	): Promise<Result<{ account: Account; how: OidcAccountHow }, OidcAccountRefusal>> {
		const sub = claims.sub;
		// OIDC Core §2: sub is at most 255 ASCII characters; control characters would reach KV keys and logs.
		if (typeof sub !== "string" || sub.length === 0 || sub.length > 255 || /[^\u0020-\u007e]/.test(sub))
			return err({ reason: "invalid_subject" });
		const email = verifiedEmail(claims);

		const link = await this.#kv.get<Link>(linkKey(issuer, sub), "json");
		const linked = link && typeof link.userId === "string" ? await this.#accounts.get(link.userId) : null;
		if (link && !linked) return err({ reason: "link_points_nowhere" }); // deleted by the operator: don't resurrect it
		if (allowedDomains.size > 0) {
			if (email === null) return err({ reason: "email_not_verified", ...(linked ? { account: linked } : {}) });
			if (!emailDomainAllowed(email, allowedDomains)) return err({ reason: "domain_not_allowed", ...(linked ? { account: linked } : {}) });
		}
		if (linked) return ok({ account: linked, how: "existing" });

		// Linking and creating both trust the email: only a verified one will do (OIDC Core §5.1).
		if (email === null) return err({ reason: "email_not_verified" });
		const local = await this.#accounts.findByEmail(email);
		if (local) {
			const previous = await this.#kv.get<ReverseLink>(reverseKey(local.userId, issuer), "json");
			if (previous && previous.sub !== sub) return err({ reason: "linked_to_other_subject", account: local });
			await this.#link(issuer, sub, local.userId);
			return ok({ account: local, how: "linked" });
		}

		const built = await buildAccountRecords(email, unusablePassword());
		if (!built.ok) return err({ reason: "email_not_verified" }); // only invalid_email is possible here
		// User record first, then the email record (accountRecords' order), then the link: a failure
		// part-way leaves an unreachable account, never a link to nothing.
		for (const { key, value } of built.value.records) await this.#kv.put(key, value);
		await this.#link(issuer, sub, built.value.account.userId);
		return ok({ account: built.value.account, how: "created" });
	}

	async #link(issuer: string, sub: string, userId: string): Promise<void> {
		const linkedAt = Date.now();
		await this.#kv.put(reverseKey(userId, issuer), JSON.stringify({ sub, linkedAt } satisfies ReverseLink));
		await this.#kv.put(linkKey(issuer, sub), JSON.stringify({ userId, linkedAt } satisfies Link));
	}
}

/**
 * Removes every single-sign-on link of `userId` (both directions), for an account being deleted:
 * the next sign-in of that upstream person starts from nothing. How many links there were.
 *
 * @example
 * ```ts
 * await unlinkAll(env.DIRECTORY_KV, userId);
 * ```
 */
export async function unlinkAll(kv: KVNamespace, userId: string): Promise<number> {
	const prefix = `account:oidc-user:${userId}:`;
	let n = 0;
	let cursor: string | undefined;
	do {
		const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
		for (const k of page.keys) {
			const issuer = k.name.slice(prefix.length);
			const back = await kv.get<ReverseLink>(k.name, "json");
			if (back && typeof back.sub === "string") {
				const link = await kv.get<Link>(linkKey(issuer, back.sub), "json");
				if (link?.userId === userId) await kv.delete(linkKey(issuer, back.sub));
			}
			await kv.delete(k.name);
			n++;
		}
		cursor = page.list_complete ? undefined : page.cursor;
	} while (cursor);
	return n;
}

/** The email, lower-cased, when the provider says it verified it (`email_verified` must be the boolean `true`). */
function verifiedEmail(claims: IdTokenClaims): string | null {
	if (claims.email_verified !== true || typeof claims.email !== "string") return null;
	const email = claims.email.trim().toLowerCase();
	return email.length <= 254 && EMAIL.test(email) && !/[\u0000-\u001f\u007f]/.test(email) ? email : null;
}

/** 256 random bits, never stored or shown: the account gets a valid hash nobody can match. */
function unusablePassword(): string {
	return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

const linkKey = (issuer: string, sub: string) => `account:oidc:${issuer}:${sub}`;
const reverseKey = (userId: string, issuer: string) => `account:oidc-user:${userId}:${issuer}`;
