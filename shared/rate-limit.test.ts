import { describe, expect, it } from "vitest";
import { positive, take, takeAll, type BucketState } from "./rate-limit";

const policy = { capacity: 3, refillPerSecond: 0.5 };

describe("token bucket", () => {
	it("allows a burst up to capacity, then refuses with the wait until the next token", () => {
		let s: BucketState | null = null;
		const t0 = 1_000_000;
		for (let i = 0; i < 3; i++) {
			const r = take(policy, s, t0);
			expect(r.allowed).toBe(true);
			s = r.next;
		}
		const refused = take(policy, s, t0);
		expect(refused.allowed).toBe(false);
		expect(refused.retryAfterSeconds).toBe(2); // 1 token at 0.5/s
	});

	it("refills with time, never beyond capacity", () => {
		const empty = { tokens: 0, updatedAt: 0 };
		expect(take(policy, empty, 1999).allowed).toBe(false);
		expect(take(policy, empty, 2000).allowed).toBe(true);
		expect(take(policy, empty, 3_600_000).next.tokens).toBe(2); // capped at 3, minus the one taken
	});

	it("a clock that goes backwards does not mint tokens", () => {
		const r = take(policy, { tokens: 0, updatedAt: 10_000 }, 5_000);
		expect(r.allowed).toBe(false);
	});

	it("takeAll consumes from every bucket or from none", () => {
		const full = { policy: { capacity: 5, refillPerSecond: 1 }, state: { tokens: 5, updatedAt: 0 } };
		const empty = { policy: { capacity: 5, refillPerSecond: 1 }, state: { tokens: 0, updatedAt: 0 } };
		const r = takeAll([full, empty], 0);
		expect(r.allowed).toBe(false);
		expect(r.next[0]!.tokens).toBe(5);
		expect(r.retryAfterSeconds).toBe(1);
		const ok = takeAll([full, full], 0);
		expect(ok.allowed).toBe(true);
		expect(ok.next.map((n) => n.tokens)).toEqual([4, 4]);
	});

	it("limit → refused → refill → allowed again", () => {
		let s: BucketState | null = null;
		let now = 0;
		for (let i = 0; i < 3; i++) s = take(policy, s, now).next;
		const refused = take(policy, s, now);
		expect(refused.allowed).toBe(false);
		now += refused.retryAfterSeconds * 1000;
		expect(take(policy, refused.next, now).allowed).toBe(true);
	});

	it("positive() falls back on missing, empty, zero, negative and non-numeric values", () => {
		expect(positive("7", 1)).toBe(7);
		for (const v of [undefined, "", "0", "-3", "abc", "Infinity"]) expect(positive(v, 1)).toBe(1);
	});
});
