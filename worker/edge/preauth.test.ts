import { beforeEach, describe, expect, it } from "vitest";
import { BLOCK_MS, preAuthLimiter, resetBlocked } from "./preauth";

/** A binding that allows `limit` calls per key, and records every key it saw. */
function fakeBinding(limit: number) {
	const counts = new Map<string, number>();
	return {
		counts,
		binding: {
			async limit({ key }: { key: string }) {
				counts.set(key, (counts.get(key) ?? 0) + 1);
				return { success: (counts.get(key) ?? 0) <= limit };
			},
		} as RateLimit,
	};
}

const req = (path: string, auth?: string, ip = "203.0.113.7") =>
	new Request(`https://smcp.example${path}`, {
		method: "POST",
		headers: { "CF-Connecting-IP": ip, ...(auth ? { Authorization: auth } : {}) },
	});

describe("pre-auth limiter", () => {
	beforeEach(() => resetBlocked());

	it("a junk Authorization: Bearer flood on /mcp from one IP gets 429 once its 401s pass the limit (no skip on header shape)", async () => {
		let t = 0;
		const { binding } = fakeBinding(10);
		const limiter = preAuthLimiter(binding, () => t);
		let refused = 0;
		for (let i = 0; i < 50; i++) {
			const r = req("/mcp", `Bearer junk-${i}`);
			if (!(await limiter.admit(r, false))) {
				refused++;
				continue;
			}
			await limiter.settle(r, false, 401);
		}
		expect(refused).toBeGreaterThanOrEqual(39);
		// Another IP is not affected; the block ends after BLOCK_MS.
		expect(await limiter.admit(req("/mcp", "Bearer junk", "198.51.100.1"), false)).toBe(true);
		t += BLOCK_MS + 1;
		expect(await limiter.admit(req("/mcp", "Bearer junk"), false)).toBe(true);
	});

	it("a verified token (cache hit) skips the per-IP limit even while its IP is blocked; a verified request is never counted", async () => {
		const { binding, counts } = fakeBinding(0);
		const limiter = preAuthLimiter(binding, () => 0);
		await limiter.settle(req("/mcp", "Bearer junk"), false, 401);
		expect(await limiter.admit(req("/mcp", "Bearer junk"), false)).toBe(false);
		expect(await limiter.admit(req("/mcp", "Bearer good"), true)).toBe(true);
		await limiter.settle(req("/mcp", "Bearer good"), true, 200);
		expect([...counts.keys()]).toEqual(["401:203.0.113.7"]);
	});

	it("requests without a bearer, and every non-MCP path, count against the IP before anything else", async () => {
		const { binding } = fakeBinding(2);
		const limiter = preAuthLimiter(binding, () => 0);
		expect(await limiter.admit(req("/mcp"), false)).toBe(true);
		expect(await limiter.admit(req("/token", "Bearer x"), false)).toBe(true);
		expect(await limiter.admit(req("/authorize"), false)).toBe(false);
	});

	it("a 401 that a request without a bearer earns is not counted twice", async () => {
		const { binding, counts } = fakeBinding(5);
		const limiter = preAuthLimiter(binding, () => 0);
		await limiter.settle(req("/mcp"), false, 401);
		expect(counts.size).toBe(0);
	});
});
