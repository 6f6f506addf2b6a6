/**
 * @module shared/base64url
 * base64url without padding (RFC 4648 §5; RFC 7515 §2): the one encoding of SMCP's ids, tokens,
 * MACs, sealed cookies and password hashes. Plain JavaScript so that the operator CLI (Node, no
 * build) shares it with the Worker and the Durable Objects.
 */

/**
 * Bytes as base64url, no padding.
 * @example toBase64url(new Uint8Array([251, 255])) // "-_8"
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toBase64url(bytes) {
	let s = "";
	for (const b of bytes) s += String.fromCharCode(b);
	return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Strict base64url without padding: the bytes, or null for anything else (another alphabet,
 * padding, a length no encoding produces).
 * @example fromBase64url("-_8") // Uint8Array [251, 255]
 * @param {string} text
 * @returns {Uint8Array | null}
 */
export function fromBase64url(text) {
	if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
	const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
