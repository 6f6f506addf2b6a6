import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../sha256";
import { canonicalJson, canonicalRow, GENESIS, HASHED_FIELDS, rowHash, verifyChain } from "./chain.mjs";

/** The general form the direct one must equal: canonical JSON of the hashed fields, missing as null. */
const general = (row: Record<string, unknown>) => canonicalJson(Object.fromEntries(HASHED_FIELDS.map((f) => [f, row[f] ?? null])));

const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.constant(undefined));

describe("audit chain", () => {
	it("the row's canonical text built directly equals canonical JSON of its fields (strings, numbers, null, missing, unicode)", () => {
		fc.assert(
			fc.property(fc.record(Object.fromEntries(HASHED_FIELDS.map((f) => [f, value])), { requiredKeys: [] }), (row) => {
				expect(canonicalRow(row)).toBe(general(row));
			}),
			{ seed: 7, numRuns: 500 },
		);
		// A value that is not a primitive takes the general path.
		const odd = { seq: 1, args: { nested: [1, { b: 2, a: 1 }] } };
		expect(canonicalRow(odd)).toBe(general(odd));
	});

	it("a chain of rows verifies, and editing one field of one row is reported at that row", () => {
		const rows: (Record<string, unknown> & { seq: number; prevHash: string; hash: string })[] = [];
		let prev = GENESIS;
		for (let seq = 1; seq <= 5; seq++) {
			const row = {
				seq,
				ts: 1000 + seq,
				tenant: "t",
				user: "u",
				client: "c",
				session: null,
				lane: "l",
				protocol: "p",
				method: "tools/call",
				tool: "x",
				argsDigest: "d",
				args: null,
				decision: "allowed",
				outcome: "ok",
				durationMs: seq,
				trace: "tr",
			};
			const hash = rowHash(sha256Hex, prev, row);
			rows.push({ ...row, prevHash: prev, hash });
			prev = hash;
		}
		expect(verifyChain(sha256Hex, null, rows)).toEqual({ ok: true, checked: 5 });
		rows[2] = { ...rows[2]!, outcome: "edited" };
		expect(verifyChain(sha256Hex, null, rows)).toMatchObject({ ok: false, seq: 3, reason: "hash_mismatch" });
	});
});
