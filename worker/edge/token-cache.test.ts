import { afterEach, describe, expect, it } from "vitest";
import { cacheKey, forgetAll, generation, lookup, remember, size, snapshot, ttlMs } from "./token-cache";

const verified = (expiresAt?: number) => ({
	props: { tenantId: "t_1", userId: "u_1" },
	auth: {
		token: "u:g:secret",
		audience: "https://mcp.example",
		scope: ["mcp:read"],
		clientId: "c1",
		...(expiresAt === undefined ? {} : { expiresAt }),
	},
});

afterEach(() => forgetAll());

describe("token validation cache", () => {
	it("a remembered token is found until the TTL passes, then forgotten", async () => {
		const key = cacheKey("https://mcp.example", "u:g:secret");
		remember(key, verified(), 10_000, generation(), 1_000);
		expect(lookup(key, "u:g:secret", 10_999)?.props).toEqual({ tenantId: "t_1", userId: "u_1" });
		expect(lookup(key, "u:g:secret", 11_000)).toBeNull();
		expect(size()).toBe(0);
	});

	it("an expired token is not served from the cache even inside the TTL (entry bounded by the token's expiry)", async () => {
		const key = cacheKey("https://mcp.example", "u:g:secret");
		const now = 1_700_000_000_000;
		remember(key, verified(now / 1000 + 3), 10_000, generation(), now);
		expect(lookup(key, "u:g:secret", now + 2_999)).not.toBeNull();
		expect(lookup(key, "u:g:secret", now + 3_000)).toBeNull();
		// Already expired when remembered: not kept at all.
		remember(key, verified(now / 1000 - 1), 10_000, generation(), now);
		expect(lookup(key, "u:g:secret", now)).toBeNull();
	});

	it("a token verified for one origin is not reused for another (audience stays per origin)", async () => {
		const a = cacheKey("https://mcp.example", "u:g:secret");
		const b = cacheKey("https://other.example", "u:g:secret");
		expect(a).not.toBe(b);
		remember(a, verified(), 10_000, generation(), 0);
		expect(lookup(b, "u:g:secret", 1)).toBeNull();
	});

	it("raw token kept in memory: the entry holds no token; the request's token is put back on a hit", async () => {
		const key = cacheKey("https://mcp.example", "u:g:secret");
		expect(key).toMatch(/^[0-9a-f]{64}$/);
		expect(key).not.toContain("secret");
		remember(key, verified(), 10_000, generation(), 0);
		expect(snapshot()).toContain("t_1");
		expect(snapshot()).not.toContain("u:g:secret");
		expect(lookup(key, "u:g:secret", 1)?.auth.token).toBe("u:g:secret");
	});

	it("a request verified before a revocation cannot put its token back after the flush (race)", async () => {
		const key = cacheKey("https://mcp.example", "u:g:secret");
		const before = generation();
		forgetAll(); // the revocation, handled while the request was in the provider
		remember(key, verified(), 10_000, before, 0);
		expect(lookup(key, "u:g:secret", 1)).toBeNull();
		remember(key, verified(), 10_000, generation(), 0);
		expect(lookup(key, "u:g:secret", 1)).not.toBeNull();
	});

	it("a cached entry cannot be altered by the request that reads it", async () => {
		const key = cacheKey("https://mcp.example", "u:g:secret");
		remember(key, verified(), 10_000, generation(), 0);
		const hit = lookup(key, "u:g:secret", 1)!;
		expect(() => ((hit.props as { tenantId: string }).tenantId = "t_other")).toThrow();
		expect(() => hit.auth.scope.push("mcp:admin")).toThrow();
		expect((lookup(key, "u:g:secret", 2)!.props as { tenantId: string }).tenantId).toBe("t_1");
	});

	it("a revocation in this isolate empties the cache at once", async () => {
		const key = cacheKey("https://mcp.example", "u:g:secret");
		remember(key, verified(), 10_000, generation(), 0);
		forgetAll();
		expect(lookup(key, "u:g:secret", 1)).toBeNull();
	});

	it("TTL configuration: default 10 s, 0 turns it off, capped at 60 s, nonsense is off", () => {
		expect(ttlMs({})).toBe(10_000);
		expect(ttlMs({ SMCP_TOKEN_CACHE_SECONDS: "0" })).toBe(0);
		expect(ttlMs({ SMCP_TOKEN_CACHE_SECONDS: "3600" })).toBe(60_000);
		expect(ttlMs({ SMCP_TOKEN_CACHE_SECONDS: "abc" })).toBe(0);
		remember("k", verified(), 0, generation(), 0);
		expect(size()).toBe(0);
	});

	it("memory stays bounded: the oldest entries are dropped first", () => {
		for (let i = 0; i < 5_001; i++) remember(`k${i}`, verified(), 10_000, generation(), 0);
		expect(size()).toBe(5_000);
		expect(lookup("k0", "t", 1)).toBeNull();
		expect(lookup("k5000", "t", 1)).not.toBeNull();
	});
});
