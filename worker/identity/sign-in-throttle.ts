/**
 * @module worker/identity/sign-in-throttle
 * Password sign-in with a per-account throttle, for the consent page and `/account` alike.
 *
 * Per-IP and per-location limits alone let N addresses make 300·N guesses a minute at one
 * account. Here every attempt at an account is counted in strongly consistent storage — the
 * TenantObject of the account's personal tenant (objects/tenant/sign-in-throttle.ts) — with
 * exponential backoff after a few free attempts. An email without an account is throttled the
 * same way in one TenantObject whose name is derived from `SMCP_SECRET` (never from the request),
 * keyed by an HMAC of the email, so known and unknown emails get the same answers, after the same
 * steps (two kernel calls, one PBKDF2 run), in similar time. A locked attempt runs no PBKDF2 and
 * writes nothing; failures are audited in the account's tenant once per lockout window.
 */
import { log } from "../../shared/log";
import type { AuthSubject } from "../../shared/rpc/kernel";
import { tenantStub } from "../../shared/rpc/stubs";
import type { Env } from "../../shared/env";
import { resolveConfig } from "../../shared/config";
import { AccountDirectory, type Account } from "./accounts";

/** The outcome of a throttled sign-in. `retryAfterSeconds`: locked out, the password was not checked. */
export type ThrottledSignIn = { account: Account | null; retryAfterSeconds?: number };

/** The page text for a locked-out attempt (the same for every email). */
export const LOCKED_MESSAGE = (seconds: number) =>
	`Too many sign-in attempts for this account. Try again in ${seconds} seconds, or reset your password with the operator.`;

/**
 * Checks `email` and `password`, counted against the account (or the unknown email).
 *
 * @example
 * ```ts
 * const r = await signInThrottled(env, email, password, "account-page");
 * if (r.retryAfterSeconds) return renderSignIn(LOCKED_MESSAGE(r.retryAfterSeconds));
 * if (!r.account) return renderSignIn("Email or password is incorrect.");
 * ```
 */
export async function signInThrottled(env: Env, email: string, password: string, clientId: string): Promise<ThrottledSignIn> {
	const secret = resolveConfig(env).secret;
	let stub: ReturnType<Env["TENANTS"]["get"]> | undefined;
	let subject = "";
	let retryAfterSeconds: number | undefined;
	const r = await new AccountDirectory(env.DIRECTORY_KV).signIn(email, password, async (account, normalized) => {
		if (account) {
			stub = tenantStub(env, { tenantId: account.tenantId, userId: account.userId, clientId });
			subject = account.userId;
		} else {
			subject = `e_${(await hmacHex(secret, `smcp/sign-in/${normalized}`)).slice(0, 40)}`;
			stub = tenantStub(env, { tenantId: await unknownEmailsTenant(secret), userId: subject, clientId });
		}
		const gate = await stub.signInGate(subject);
		if (gate.ok) return true;
		retryAfterSeconds = gate.error.retryAfterSeconds;
		return false;
	});
	if (r.refused) {
		log("warn", "auth.sign_in_locked", { retry_after: retryAfterSeconds });
		return { account: null, retryAfterSeconds: retryAfterSeconds ?? 60 };
	}
	const audit: AuthSubject | undefined = r.attempted ? { tenantId: r.attempted.tenantId, userId: r.attempted.userId, clientId } : undefined;
	try {
		await stub?.signInEnded(subject, r.account !== null, audit);
	} catch (e) {
		// Counting must not break sign-in; the attempt itself was counted at the gate.
		log("error", "auth.sign_in_count_failed", { error: e instanceof Error ? e.name : "unknown" });
	}
	return { account: r.account };
}

/** The tenant id (shape `t_` + 32 hex) of the object that throttles unknown emails: from the secret only. */
async function unknownEmailsTenant(secret: string): Promise<string> {
	return `t_${(await hmacHex(secret, "smcp/sign-in/unknown-emails")).slice(0, 32)}`;
}

async function hmacHex(secret: string, text: string): Promise<string> {
	const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
	return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}
