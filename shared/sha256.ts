/**
 * @module shared/sha256
 * Synchronous SHA-256 and canonical JSON. WebCrypto's digest is asynchronous, and an audit row's
 * hash must be computed inside the same synchronous SQLite transaction as the state change it
 * records (no `await` between a state change and its audit row), so the kernel hashes with
 * `node:crypto`'s one-shot `hash`, which is synchronous in workerd (`nodejs_compat`) as in Node.
 * It replaced a hand-written SHA-256 at half the cost (docs/performance.md "Crypto choices").
 * Checked against the FIPS 180-4 vectors and WebCrypto in sha256.test.ts; the operator CLI's
 * `audit verify` hashes with `node:crypto`'s `createHash`, the same SHA-256, so both verify the
 * chain identically.
 */
import { hash } from "node:crypto";

/**
 * SHA-256 of a UTF-8 string, as 64 lower-case hex characters.
 *
 * @example
 * ```ts
 * sha256Hex("abc"); // "ba7816bf…f20015ad"
 * ```
 */
export function sha256Hex(text: string): string {
	return hash("sha256", text, "hex");
}

/** Canonical JSON (keys sorted at every level); one implementation, shared with the operator CLI. */
export { canonicalJson } from "./audit/chain.mjs";
