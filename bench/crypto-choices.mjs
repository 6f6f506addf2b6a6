#!/usr/bin/env node
/**
 * @module bench/crypto-choices
 * Two measured choices (docs/performance.md "Crypto choices"), in Node (workerd freezes its clocks
 * during synchronous work, so a CPU-only loop cannot be timed there):
 *
 * - the audit chain's SHA-256: the hand-written one it replaced
 *   (`bench/fixtures/handwritten-sha256.ts`) against `node:crypto`'s
 *   `createHash`, 1,000 hashes of a typical audit row's hashed text, interleaved in rounds;
 * - ID-token verification on the sign-in path: `jose` (`worker/identity/oidc/id-token.ts`)
 *   against the hand-written verifier it replaced (`bench/fixtures/handwritten-id-token.ts`),
 *   1,000 RS256 and 1,000 ES256 tokens, with the JWK Set object reused (as `issuer.ts` serves it
 *   from its cache) and with a fresh copy each time (a key import per token).
 *
 * Usage: `node bench/crypto-choices.mjs` (prints a Markdown table: median of 7 rounds, µs per op).
 */
import { build } from "esbuild";

const entry = `
import { createHash } from "node:crypto";
import { sha256Hex } from "./bench/fixtures/handwritten-sha256";
import { canonicalRow, GENESIS } from "./shared/audit/chain.mjs";
import { verifyIdToken as viaJose } from "./worker/identity/oidc/id-token";
import { toBase64url } from "./shared/base64url.mjs";
import { verifyIdToken as handwritten } from "./bench/fixtures/handwritten-id-token";
export { createHash, sha256Hex, canonicalRow, GENESIS, viaJose, handwritten, toBase64url };
`;
const out = await build({
	stdin: { contents: entry, resolveDir: process.cwd(), loader: "ts" },
	bundle: true,
	format: "esm",
	platform: "node",
	write: false,
	logLevel: "error",
});
const m = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString("base64")}`);

const ROUNDS = 7;
const N = 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median µs per operation of each contender, interleaved round by round. */
async function race(contenders) {
	const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
	for (let r = 0; r < ROUNDS + 1; r++) {
		for (const [name, fn] of Object.entries(contenders)) {
			const t = process.hrtime.bigint();
			await fn();
			const us = Number(process.hrtime.bigint() - t) / 1000 / N;
			if (r > 0) times[name].push(us); // round 0 warms up
		}
	}
	return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

// A typical audit row (a tool call on the 2025-11-25 lane).
const row = {
	ts: 1_790_000_000_000,
	tenant: "t_0123456789abcdef0123456789abcdef",
	user: "u_0123456789abcdef0123456789abcdef",
	client: "https://client.example.com/oauth/metadata.json",
	session: "3f9c1a2b7d4e",
	lane: "streamable-http",
	protocol: "2025-11-25",
	method: "tools/call",
	tool: "create_entities",
	args: null,
	decision: "allowed",
	outcome: "ok",
	durationMs: 3,
	trace: "9f2c7a51d0b34e6f",
};
const text = `${m.GENESIS}\n${m.canonicalRow(row)}`;
if (m.sha256Hex(text) !== m.createHash("sha256").update(text, "utf8").digest("hex")) throw new Error("the two SHA-256 differ");
const sha = await race({
	"hand-written": () => {
		for (let i = 0; i < N; i++) m.sha256Hex(text);
	},
	"node:crypto": () => {
		for (let i = 0; i < N; i++) m.createHash("sha256").update(text, "utf8").digest("hex");
	},
});

const enc = (v) => m.toBase64url(new TextEncoder().encode(JSON.stringify(v)));
const NOW = Math.floor(Date.now() / 1000);
const claims = {
	iss: "https://id.example.com",
	sub: "user-42",
	aud: "smcp",
	exp: NOW + 300,
	iat: NOW,
	nonce: "n-1",
	email: "a@example.com",
};
const expect = { issuer: claims.iss, clientId: claims.aud, nonce: claims.nonce, now: NOW };
async function signed(alg) {
	const params =
		alg === "RS256"
			? { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }
			: { name: "ECDSA", namedCurve: "P-256" };
	const pair = await crypto.subtle.generateKey(params, true, ["sign", "verify"]);
	const pub = await crypto.subtle.exportKey("jwk", pair.publicKey);
	const jwk =
		alg === "RS256"
			? { kty: "RSA", n: pub.n, e: pub.e, kid: "k1", use: "sig" }
			: { kty: "EC", crv: "P-256", x: pub.x, y: pub.y, kid: "k1" };
	const input = `${enc({ alg, kid: "k1", typ: "JWT" })}.${enc(claims)}`;
	const sig = await crypto.subtle.sign(
		alg === "RS256" ? "RSASSA-PKCS1-v1_5" : { name: "ECDSA", hash: "SHA-256" },
		pair.privateKey,
		new TextEncoder().encode(input),
	);
	return { token: `${input}.${m.toBase64url(new Uint8Array(sig))}`, jwks: { keys: [jwk] } };
}
const rows = [];
for (const alg of ["RS256", "ES256"]) {
	const { token, jwks } = await signed(alg);
	for (const f of [m.viaJose, m.handwritten]) if (!(await f(token, jwks, expect)).ok) throw new Error(`${alg} did not verify`);
	const loop = (f, fresh) => async () => {
		for (let i = 0; i < N; i++) await f(token, fresh ? { keys: [...jwks.keys] } : jwks, expect);
	};
	const r = await race({
		"hand-written": loop(m.handwritten, false),
		"jose, cached JWK Set": loop(m.viaJose, false),
		"jose, fresh JWK Set": loop(m.viaJose, true),
	});
	rows.push([alg, r]);
}

console.log(`Node ${process.version}, median of ${ROUNDS} interleaved rounds of ${N} operations, µs per operation\n`);
console.log("| operation | contender | µs/op |\n| --- | --- | ---: |");
for (const [k, v] of Object.entries(sha)) console.log(`| SHA-256 of an audit row (${text.length} chars) | ${k} | ${v.toFixed(2)} |`);
for (const [alg, r] of rows) for (const [k, v] of Object.entries(r)) console.log(`| verify an ${alg} ID token | ${k} | ${v.toFixed(1)} |`);
