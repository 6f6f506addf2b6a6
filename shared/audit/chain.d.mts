/** Types for chain.mjs (see there). */
export declare const GENESIS: string;
export declare const HASHED_FIELDS: readonly string[];
export declare function canonicalJson(value: unknown): string;
export declare function canonicalRow(row: Record<string, unknown>): string;
export declare function rowHash(sha256Hex: (text: string) => string, prevHash: string, row: Record<string, unknown>): string;
export type ChainVerdict =
	| { ok: true; checked: number }
	| { ok: false; checked: number; seq: number; reason: "prev_mismatch" | "hash_mismatch" | "seq_gap" };
export declare function verifyChain(
	sha256Hex: (text: string) => string,
	anchor: { seq: number; hash: string } | null,
	rows: Iterable<Record<string, unknown> & { seq: number; prevHash: string; hash: string }>,
): ChainVerdict;
