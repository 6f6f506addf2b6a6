import { describe, expect, it } from "vitest";
import { brandPrincipal } from "../../shared/rpc/principal";
import { toBase64url as b64url } from "../../shared/base64url.mjs";
import { mintSessionId, verifySessionId } from "./session-id";

const SECRET = "unit-secret-0123456789abcdef0123456789abcdef";
const alice = brandPrincipal({ tenantId: "t-acme", userId: "u-alice", clientId: "client-1", scopes: ["mcp:read"] });

/** Replaces the character at `i` with a different base64url character. */
function flip(id: string, i: number): string {
	const c = id[i] === "A" ? "B" : "A";
	return id.slice(0, i) + c + id.slice(i + 1);
}

describe("mintSessionId", () => {
	it("mints 44 visible ASCII characters of base64url", async () => {
		const id = await mintSessionId(SECRET, alice);
		expect(id).toMatch(/^[A-Za-z0-9_-]{44}$/);
	});

	it("mints unique ids across 1000 mints", async () => {
		const ids = await Promise.all(Array.from({ length: 1000 }, () => mintSessionId(SECRET, alice)));
		expect(new Set(ids).size).toBe(1000);
	});
});

describe("verifySessionId", () => {
	it("verifies an id for the principal it was minted for", async () => {
		const id = await mintSessionId(SECRET, alice);
		expect(await verifySessionId(SECRET, alice, id)).toBe(true);
		// A re-branded copy of the same principal (a later request) verifies too.
		expect(await verifySessionId(SECRET, brandPrincipal({ ...alice, scopes: ["mcp:write"] }), id)).toBe(true);
	});

	it.each([
		["another tenant", { tenantId: "t-other" }],
		["another user", { userId: "u-bob" }],
		["another client", { clientId: "client-2" }],
	])("rejects the id for %s (session hijacking)", async (_label, change) => {
		const id = await mintSessionId(SECRET, alice);
		const other = brandPrincipal({ ...alice, ...change });
		expect(await verifySessionId(SECRET, other, id)).toBe(false);
	});

	it("does not let field boundaries shift (tenant/user concatenation)", async () => {
		const a = brandPrincipal({ tenantId: "ab", userId: "c", clientId: "x", scopes: [] });
		const b = brandPrincipal({ tenantId: "a", userId: "bc", clientId: "x", scopes: [] });
		expect(await verifySessionId(SECRET, b, await mintSessionId(SECRET, a))).toBe(false);
	});

	it("rejects a forged id with any single character flipped (session id forgery)", async () => {
		const id = await mintSessionId(SECRET, alice);
		for (let i = 0; i < id.length; i++) {
			expect(await verifySessionId(SECRET, alice, flip(id, i)), `position ${i}`).toBe(false);
		}
	});

	it("rejects a random 44-character id (session id guessing)", async () => {
		const forged = b64url(crypto.getRandomValues(new Uint8Array(33)));
		expect(forged).toHaveLength(44);
		expect(await verifySessionId(SECRET, alice, forged)).toBe(false);
	});

	it("rejects a truncated id and an over-long id", async () => {
		const id = await mintSessionId(SECRET, alice);
		expect(await verifySessionId(SECRET, alice, id.slice(0, 43))).toBe(false);
		expect(await verifySessionId(SECRET, alice, id.slice(0, 22))).toBe(false);
		expect(await verifySessionId(SECRET, alice, `${id}A`)).toBe(false);
		expect(await verifySessionId(SECRET, alice, id + id)).toBe(false);
	});

	it("rejects non-ASCII and non-visible characters", async () => {
		const id = await mintSessionId(SECRET, alice);
		expect(await verifySessionId(SECRET, alice, `${id.slice(0, 43)}é`)).toBe(false);
		expect(await verifySessionId(SECRET, alice, `${id.slice(0, 43)}\n`)).toBe(false);
		expect(await verifySessionId(SECRET, alice, ` ${id.slice(1)}`)).toBe(false);
		expect(await verifySessionId(SECRET, alice, `${id.slice(0, 42)}==`)).toBe(false);
	});

	it("rejects null and the empty string", async () => {
		expect(await verifySessionId(SECRET, alice, null)).toBe(false);
		expect(await verifySessionId(SECRET, alice, "")).toBe(false);
	});

	it("rejects an id minted with another deployment's secret", async () => {
		const id = await mintSessionId("another-secret-0123456789abcdef0123456789", alice);
		expect(await verifySessionId(SECRET, alice, id)).toBe(false);
	});
});

describe("b64url", () => {
	it("uses the URL-safe alphabet without padding", () => {
		expect(b64url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
		expect(b64url(new Uint8Array([]))).toBe("");
	});
});
