import { describe, expect, it } from "vitest";
import { fromBase64url, toBase64url } from "./base64url.mjs";

describe("base64url", () => {
	it("round-trips every length and byte value, without padding or the standard alphabet's + and /", () => {
		for (let n = 0; n < 40; n++) {
			const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 13) % 256);
			const text = toBase64url(bytes);
			expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
			expect(fromBase64url(text)).toEqual(bytes);
		}
		expect(toBase64url(new Uint8Array([251, 255]))).toBe("-_8");
	});

	it("refuses what no encoder of it writes: padding, the standard alphabet, a length of 4k+1, spaces", () => {
		for (const bad of ["-_8=", "+/8", "abcde", "ab cd", "ab\ncd"]) expect(fromBase64url(bad), bad).toBeNull();
	});
});
