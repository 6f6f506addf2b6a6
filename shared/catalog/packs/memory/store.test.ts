import { describe, expect, it } from "vitest";
import { coveringTrigrams, indexText, wellFormed } from "./search-index";

describe("coveringTrigrams", () => {
	it("takes the non-overlapping trigrams and the last one, all required", () => {
		expect(coveringTrigrams([..."topic-0123"])).toBe('"top" AND "ic-" AND "012" AND "123"');
		expect(coveringTrigrams([..."abcdef"])).toBe('"abc" AND "def"');
		expect(coveringTrigrams([..."abc"])).toBe('"abc"');
		expect(coveringTrigrams([..."abcd"])).toBe('"abc" AND "bcd"');
	});

	it("quotes are escaped (no FTS5 syntax injection) and characters are code points, not UTF-16 halves", () => {
		expect(coveringTrigrams([...'a"b OR c'])).toBe('"a""b" AND " OR" AND "R c"');
		expect(coveringTrigrams([..."🌍ab"])).toBe('"🌍ab"');
	});
});

describe("the index as a pure prefilter", () => {
	it("leaves trigrams with NUL out of the query (the FTS5 parser cannot take them), and asks nothing when none is left", () => {
		expect(coveringTrigrams([..."ab\0cdef"])).toBe('"cde" AND "def"');
		expect(coveringTrigrams([..."a\0b"])).toBeNull();
		expect(coveringTrigrams([..."ab"])).toBeNull();
	});

	it("indexes the text as the rule compares it: JavaScript lower-casing, NUL stored as U+0001", () => {
		expect(indexText("İzmir")).toBe("i\u0307zmir");
		expect(indexText("ΟΔΟΣ")).toBe("οδος");
		expect(indexText("a\0B")).toBe("a\u0001b");
	});

	it("tells lone surrogates from well-formed text", () => {
		expect(wellFormed("x\ud800")).toBe(false);
		expect(wellFormed("\udc00x")).toBe(false);
		expect(wellFormed("🌍 \u0000 ok")).toBe(true);
	});
});
