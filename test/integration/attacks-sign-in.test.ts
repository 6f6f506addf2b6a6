/**
 * Password guessing (docs/security.md "Revocation, budget and sign-in", attack row 62): a
 * per-account throttle in strongly consistent storage, the same on the consent page and
 * `/account`, with the same answers for emails that have no account.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { FREE_ATTEMPTS } from "../../objects/tenant/sign-in-throttle";
import { createAccount, ORIGIN, selfFetch, testEnv } from "./helpers";

/** One sign-in on /account from `ip`; the page's message (or "signed in"). */
async function signIn(email: string, password: string, ip: string): Promise<string> {
	const res = await selfFetch(`${ORIGIN}/account/sign-in`, {
		method: "POST",
		redirect: "manual",
		headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": ip },
		body: new URLSearchParams({ email, password }).toString(),
	});
	if (res.status === 303) {
		await res.body?.cancel();
		return "signed in";
	}
	const html = await res.text();
	return (
		/Too many sign-in attempts[^<]*/.exec(html)?.[0].replace(/\d+ seconds/, "N seconds") ??
		(/incorrect/.test(html) ? "incorrect" : html.slice(0, 80))
	);
}

describe("password guessing is throttled per account (row 62)", () => {
	it("guesses at one account from many IPs are locked out after a few, even the right password, with one audit row per window", async () => {
		const account = await createAccount();
		const answers: string[] = [];
		for (let i = 0; i <= FREE_ATTEMPTS; i++) answers.push(await signIn(account.email, `wrong guess number ${i}`, `203.0.113.${i}`));
		expect(answers.every((a) => a === "incorrect")).toBe(true);
		// Locked now: the right password from a fresh address is refused without being checked.
		const locked = await signIn(account.email, account.password, "198.51.100.99");
		expect(locked).toMatch(/^Too many sign-in attempts/);
		const rows = await runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)), (_o: TenantObject, s) =>
			s.storage.sql.exec<{ outcome: string }>("SELECT outcome FROM audit WHERE method = 'auth/sign_in'").toArray(),
		);
		expect(rows).toHaveLength(1);
	});

	it("an email without an account gets the same answers at the same points", async () => {
		const known = await createAccount();
		const unknown = `nobody-${crypto.randomUUID().slice(0, 8)}@example.test`;
		const a: string[] = [];
		const b: string[] = [];
		for (let i = 0; i <= FREE_ATTEMPTS + 1; i++) {
			a.push(await signIn(known.email, `wrong guess ${i}`, `192.0.2.${i}`));
			b.push(await signIn(unknown, `wrong guess ${i}`, `192.0.2.${i}`));
		}
		expect(b).toEqual(a);
		expect(a.at(-1)).toMatch(/^Too many sign-in attempts/);
	});

	it("a success clears the count: a person who mistypes a few times is not locked out", async () => {
		const account = await createAccount();
		for (let i = 0; i < FREE_ATTEMPTS - 1; i++) await signIn(account.email, `typo ${i}`, "203.0.113.50");
		expect(await signIn(account.email, account.password, "203.0.113.50")).toBe("signed in");
		for (let i = 0; i < FREE_ATTEMPTS - 1; i++) expect(await signIn(account.email, `typo again ${i}`, "203.0.113.50")).toBe("incorrect");
		expect(await signIn(account.email, account.password, "203.0.113.50")).toBe("signed in");
	});
});
