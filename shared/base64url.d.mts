/** Types for base64url.mjs (see there). */
export declare function toBase64url(bytes: Uint8Array): string;
export declare function fromBase64url(text: string): Uint8Array | null;
