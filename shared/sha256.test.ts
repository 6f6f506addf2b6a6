import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "./sha256";

async function webcrypto(text: string): Promise<string> {
	const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
	return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("sha256Hex", () => {
	it("matches the FIPS 180-4 test vectors", () => {
		expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		);
	});

	it("matches WebCrypto on lengths around the block boundaries and on non-ASCII text", async () => {
		for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_000]) {
			const s = "x".repeat(n);
			expect(sha256Hex(s)).toBe(await webcrypto(s));
		}
		expect(sha256Hex("Grüße, 世界 🌍")).toBe(await webcrypto("Grüße, 世界 🌍"));
	});
});

describe("canonicalJson", () => {
	it("sorts keys at every level and drops undefined members", () => {
		expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
	});
	it("gives equal text for equal values built in a different order", () => {
		expect(canonicalJson({ x: 1, y: [1, 2] })).toBe(canonicalJson({ y: [1, 2], x: 1 }));
		expect(canonicalJson({ x: 1 })).not.toBe(canonicalJson({ x: "1" }));
	});
});
