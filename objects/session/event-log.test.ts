import { describe, expect, it } from "vitest";
import { eventId, parseEventId } from "./event-log";

describe("eventId / parseEventId", () => {
	it.each([
		["0123456789abcdef", 1],
		["get", 0],
		["replay", 42],
		["a-b", 999_999_999_999_999],
	])("round-trips stream %s seq %d", (stream, seq) => {
		const id = eventId(stream, seq);
		expect(id).toBe(`${stream}_${seq}`);
		expect(parseEventId(id)).toEqual({ stream, seq });
	});

	it.each([
		["empty", ""],
		["no underscore", "abc1"],
		["no stream", "_1"],
		["no seq", "abc_"],
		["letters in seq", "abc_1a"],
		["negative seq", "abc_-1"],
		["fractional seq", "abc_1.5"],
		["exponent seq", "abc_1e3"],
		["two underscores", "a_b_1"],
		["seq of 16 digits", `abc_${"1".repeat(16)}`],
		["stream of 41 characters", `${"s".repeat(41)}_1`],
		["SSE field injection (Last-Event-ID smuggling)", "a_1\nevent: x"],
		["trailing newline", "a_1\n"],
		["leading newline", "\na_1"],
		["space", "a _1"],
		["non-ASCII stream", "strëam_1"],
		["SQL in stream", "a' OR '1'='1_1"],
	])("rejects a malformed id: %s", (_label, id) => {
		expect(parseEventId(id)).toBeNull();
	});
});
