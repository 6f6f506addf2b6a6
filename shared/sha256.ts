/**
 * @module shared/sha256
 * Synchronous SHA-256 (FIPS 180-4) and canonical JSON. WebCrypto's digest is asynchronous, and an
 * audit row's hash must be computed inside the same synchronous SQLite transaction as the state
 * change it records (with no intervening `await`, so both commit together), so the kernel hashes with this.
 * Checked against WebCrypto in sha256.test.ts.
 */

const K = new Uint32Array([
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
	0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
	0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
	0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const encoder = new TextEncoder();
/** Message schedule, reused: the hash is synchronous and single-threaded per isolate. */
const W = new Uint32Array(64);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * SHA-256 of a UTF-8 string, as 64 lower-case hex characters. Written for the audit row's hash on
 * every tool call: one allocation for the padded message, locals for the state, no DataView.
 */
export function sha256Hex(text: string): string {
	// UTF-8 is at most 3 bytes per UTF-16 code unit; encode straight into the padded buffer.
	const room = ((text.length * 3 + 9 + 63) >> 6) << 6;
	const buf = new Uint8Array(room);
	const len = encoder.encodeInto(text, buf).written;
	const blocks = (len + 9 + 63) >> 6;
	const end = blocks << 6;
	buf[len] = 0x80;
	const bits = len * 8;
	buf[end - 8] = 0;
	buf[end - 7] = 0;
	buf[end - 6] = 0;
	buf[end - 5] = Math.floor(bits / 0x100000000) & 0xff;
	buf[end - 4] = (bits >>> 24) & 0xff;
	buf[end - 3] = (bits >>> 16) & 0xff;
	buf[end - 2] = (bits >>> 8) & 0xff;
	buf[end - 1] = bits & 0xff;
	let h0 = 0x6a09e667,
		h1 = 0xbb67ae85,
		h2 = 0x3c6ef372,
		h3 = 0xa54ff53a,
		h4 = 0x510e527f,
		h5 = 0x9b05688c,
		h6 = 0x1f83d9ab,
		h7 = 0x5be0cd19;
	for (let off = 0; off < end; off += 64) {
		for (let i = 0; i < 16; i++) {
			const j = off + i * 4;
			W[i] = (buf[j]! << 24) | (buf[j + 1]! << 16) | (buf[j + 2]! << 8) | buf[j + 3]!;
		}
		for (let i = 16; i < 64; i++) {
			const x = W[i - 15]!;
			const y = W[i - 2]!;
			const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
			const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
			W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
		}
		let a = h0,
			b = h1,
			c = h2,
			d = h3,
			e = h4,
			f = h5,
			g = h6,
			h = h7;
		for (let i = 0; i < 64; i++) {
			const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
			const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
			const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
			const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
			h = g;
			g = f;
			f = e;
			e = (d + t1) | 0;
			d = c;
			c = b;
			b = a;
			a = (t1 + t2) | 0;
		}
		h0 = (h0 + a) | 0;
		h1 = (h1 + b) | 0;
		h2 = (h2 + c) | 0;
		h3 = (h3 + d) | 0;
		h4 = (h4 + e) | 0;
		h5 = (h5 + f) | 0;
		h6 = (h6 + g) | 0;
		h7 = (h7 + h) | 0;
	}
	let out = "";
	for (const v of [h0, h1, h2, h3, h4, h5, h6, h7])
		out += HEX[(v >>> 24) & 0xff]! + HEX[(v >>> 16) & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!;
	return out;
}

/** Canonical JSON (keys sorted at every level); one implementation, shared with the operator CLI. */
export { canonicalJson } from "./audit/chain.mjs";
