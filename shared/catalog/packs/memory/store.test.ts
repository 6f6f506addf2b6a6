import { describe, expect, it } from "vitest";
import { coveringTrigrams } from "./store";

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
