/**
 * @module worker/identity/oidc/accounts.test
 * Unit tests for the upstream-identity → account rule over an in-memory KV: existing links,
 * linking by verified email, just-in-time accounts without a usable password, the domain
 * allow-list, and the takeover cases (unverified email, reassigned email).
 */
import { describe, expect, it } from "vitest";
import { AccountDirectory } from "../accounts";
import type { IdTokenClaims } from "./id-token";
import { OidcAccountLinks } from "./accounts";
import { memoryKv } from "../../../test/support/memory-kv";

const ISSUER = "https://login.example.com";

function claims(overrides: Partial<IdTokenClaims> = {}): IdTokenClaims {
	return { iss: ISSUER, sub: "sub-1", aud: "smcp", exp: 0, iat: 0, email: "Ada@Example.com", email_verified: true, ...overrides };
}

const NONE = new Set<string>();

describe("OidcAccountLinks.resolve", () => {
	it("creates an account just in time, with its own tenant and no usable password, then finds it by sub", async () => {
		const kv = memoryKv();
		const links = new OidcAccountLinks(kv);
		const first = await links.resolve(ISSUER, claims(), NONE);
		expect(first.ok && first.value.how).toBe("created");
		if (!first.ok) return;
		expect(first.value.account.email).toBe("ada@example.com");
		expect(first.value.account.tenantId).toMatch(/^t_[0-9a-f]{32}$/);
		expect(kv.data.get(`account:oidc:${ISSUER}:sub-1`)).toContain(first.value.account.userId);
		// Local password sign-in is impossible: no password was ever chosen, and none is guessable.
		const directory = new AccountDirectory(kv);
		for (const guess of ["", "password", "sub-1", "ada@example.com"])
			expect(await directory.authenticate("ada@example.com", guess)).toBeNull();

		const again = await links.resolve(ISSUER, claims({ email: "ada.new@example.com" }), NONE);
		expect(again.ok && again.value.how).toBe("existing");
		expect(again.ok && again.value.account.userId).toBe(first.value.account.userId);
	});

	it("links an existing local account with the same verified email", async () => {
		const kv = memoryKv();
		const local = await new AccountDirectory(kv).create("ada@example.com", "correct horse battery");
		if (!local.ok) throw new Error("setup");
		const r = await new OidcAccountLinks(kv).resolve(ISSUER, claims(), NONE);
		expect(r.ok && r.value.how).toBe("linked");
		expect(r.ok && r.value.account.userId).toBe(local.value.userId);
		// The local password still works for a linked account.
		expect(await new AccountDirectory(kv).authenticate("ada@example.com", "correct horse battery")).not.toBeNull();
	});

	it("an unverified email neither links nor creates (account takeover through an unverified address)", async () => {
		const kv = memoryKv();
		await new AccountDirectory(kv).create("ada@example.com", "correct horse battery");
		for (const c of [
			claims({ email_verified: false }),
			claims({ email_verified: "true" as unknown as boolean }),
			claims({ email_verified: undefined }),
			claims({ email: undefined }),
		]) {
			const r = await new OidcAccountLinks(kv).resolve(ISSUER, c, NONE);
			expect(!r.ok && r.error.reason).toBe("email_not_verified");
		}
		expect([...kv.data.keys()].some((k) => k.startsWith("account:oidc"))).toBe(false);
	});

	it("a reassigned email (a new sub) does not take over an account already linked to another sub", async () => {
		const kv = memoryKv();
		const links = new OidcAccountLinks(kv);
		const first = await links.resolve(ISSUER, claims({ sub: "old-holder" }), NONE);
		expect(first.ok).toBe(true);
		const second = await links.resolve(ISSUER, claims({ sub: "new-holder" }), NONE);
		expect(!second.ok && second.error.reason).toBe("linked_to_other_subject");
	});

	it("with an allow-list, refuses other domains and unverified emails, even for an existing link", async () => {
		const kv = memoryKv();
		const links = new OidcAccountLinks(kv);
		const allowed = new Set(["example.com"]);
		expect((await links.resolve(ISSUER, claims(), allowed)).ok).toBe(true);
		const moved = await links.resolve(ISSUER, claims({ email: "ada@elsewhere.test" }), allowed);
		expect(!moved.ok && moved.error.reason).toBe("domain_not_allowed");
		expect(!moved.ok && "account" in moved.error && moved.error.account?.email).toBe("ada@example.com");
		const unverified = await links.resolve(ISSUER, claims({ email_verified: false }), allowed);
		expect(!unverified.ok && unverified.error.reason).toBe("email_not_verified");
		const stranger = await links.resolve(ISSUER, claims({ sub: "sub-2", email: "eve@example.com.evil.test" }), allowed);
		expect(!stranger.ok && stranger.error.reason).toBe("domain_not_allowed");
	});

	it("refuses a malformed sub and a link whose account is gone", async () => {
		const kv = memoryKv();
		const links = new OidcAccountLinks(kv);
		for (const sub of ["", "x".repeat(256), "a\nb", "ü"]) {
			const r = await links.resolve(ISSUER, claims({ sub }), NONE);
			expect(!r.ok && r.error.reason).toBe("invalid_subject");
		}
		kv.data.set(`account:oidc:${ISSUER}:ghost`, JSON.stringify({ userId: "u_gone", linkedAt: 0 }));
		const r = await links.resolve(ISSUER, claims({ sub: "ghost" }), NONE);
		expect(!r.ok && r.error.reason).toBe("link_points_nowhere");
	});

	it("keeps identities of different issuers apart", async () => {
		const kv = memoryKv();
		const links = new OidcAccountLinks(kv);
		const a = await links.resolve(ISSUER, claims({ email: "a@example.com" }), NONE);
		const b = await links.resolve("https://other.example.net", claims({ email: "b@example.com" }), NONE);
		expect(a.ok && b.ok && a.value.account.userId !== b.value.account.userId).toBe(true);
	});
});
