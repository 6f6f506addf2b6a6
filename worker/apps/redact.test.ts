/**
 * Redaction of secret values in what leaves a tenant app (worker/apps/redact.ts).
 */
import { describe, expect, it } from "vitest";
import { REDACTED, redact, redactJson } from "./redact";

const SECRET = "plain-secret-value-4242";

describe("redact", () => {
	it("replaces every occurrence of a value", () => {
		expect(redact(`a ${SECRET} b ${SECRET}`, [SECRET])).toBe(`a ${REDACTED} b ${REDACTED}`);
	});

	it("a secret cut in half by a length cap: the first characters left at the end of the text are redacted", () => {
		for (const k of [4, 6, SECRET.length - 1])
			expect(redact(`x${"y".repeat(50)}${SECRET.slice(0, k)}`, [SECRET])).toBe(`x${"y".repeat(50)}${REDACTED}`);
		// The longest start wins when the secret's head repeats near the end.
		const v = "abcdabcdXYZ";
		expect(redact("zzabcdabcd", [v])).toBe(`zz${REDACTED}`);
		expect(redact("abcdabcd", [v])).toBe(REDACTED);
	});

	it("leaves text alone when it ends with fewer than 4 characters of a secret, or with other text", () => {
		expect(redact("the pla", [SECRET])).toBe("the pla");
		expect(redact("plain text", [SECRET])).toBe("plain text");
		expect(redact("", [SECRET])).toBe("");
	});

	it("redacts a value in its JSON-escaped form", () => {
		const v = 'quo"te-secret';
		expect(redactJson({ text: `x ${v}` }, [v])).toEqual({ text: `x ${REDACTED}` });
		// A JSON text is never cut: a result that ends like a secret begins stays valid JSON.
		expect(redactJson(1234, ["123456789"])).toBe(1234);
	});
});
