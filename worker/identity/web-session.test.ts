import { describe, expect, it } from "vitest";
import { cookieValue, openSealed, sealText } from "./web-session";

const SECRET = "test-secret-0123456789abcdef0123456789abcdef";

describe("sealed cookie values", () => {
	it("open only under the same secret, purpose and context: another session's, another purpose's or an edited value reads as nothing", async () => {
		const value = await sealText(SECRET, "flash", '{"notice":"ok"}', "nonce-a");
		expect(await openSealed(SECRET, "flash", value, "nonce-a")).toBe('{"notice":"ok"}');
		expect(await openSealed(SECRET, "flash", value, "nonce-b")).toBeNull();
		expect(await openSealed(SECRET, "account-sso", value, "nonce-a")).toBeNull();
		expect(await openSealed(`${SECRET}x`, "flash", value, "nonce-a")).toBeNull();
		const [iv, body] = value.split(".");
		const flipped = `${iv}.${body!.slice(0, -2)}${body!.at(-2) === "A" ? "B" : "A"}${body!.at(-1)}`;
		for (const bad of [flipped, `${iv}`, "", undefined, "not base64url.!!"])
			expect(await openSealed(SECRET, "flash", bad, "nonce-a")).toBeNull();
	});

	it("reads one cookie by its exact name", () => {
		const request = new Request("https://x.example", { headers: { Cookie: "a=1; __Host-b=2.3; ab=4" } });
		expect([cookieValue(request, "a"), cookieValue(request, "__Host-b"), cookieValue(request, "b"), cookieValue(request, "c")]).toEqual([
			"1",
			"2.3",
			undefined,
			undefined,
		]);
	});
});
