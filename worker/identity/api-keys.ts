/**
 * @module worker/identity/api-keys
 * API keys for headless clients. A key is `smcp_<8 hex id>_<43 base64url chars>` (256 random
 * bits). SMCP stores only the SHA-256 of the whole key; the key is shown once, at creation. The
 * lookup record lives in `DIRECTORY_KV` (read on each request, expiring with the key); the key's
 * metadata, last use and revocation live in the tenant's kernel, which re-checks the key on every
 * tool call, so a revoked key stops working at once even where KV is still propagating.
 */
import type { KeyScope } from "../../shared/rpc/principal";
import { toBase64url } from "../../shared/base64url.mjs";

/** The shape of a key on the wire. */
export const API_KEY_PATTERN = /^smcp_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;

/** What SMCP knows about a key (never the key itself). */
export interface ApiKeyRecord {
	keyId: string;
	tenantId: string;
	userId: string;
	name: string;
	scopes: KeyScope[];
	createdAt: number;
	/** Epoch ms. */
	expiresAt: number;
}

/** The client id an API key acts as (audit rows, sessions, rate buckets). */
export const keyClientId = (keyId: string) => `key_${keyId}`;

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** SHA-256 of a key, hex: the only form in which a key is stored. */
export async function hashApiKey(key: string): Promise<string> {
	return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key))));
}

/** Mints a new key; returns the key (show once) and its id and display prefix. */
export function mintApiKey(): { key: string; keyId: string; prefix: string } {
	const keyId = hex(crypto.getRandomValues(new Uint8Array(4)));
	const key = `smcp_${keyId}_${toBase64url(crypto.getRandomValues(new Uint8Array(32)))}`;
	return { key, keyId, prefix: `smcp_${keyId}_…` };
}

const lookupKey = (hash: string) => `apikey:${hash}`;
const indexKey = (tenantId: string, keyId: string) => `apikey-id:${tenantId}:${keyId}`;

/**
 * The KV side of API keys.
 *
 * @example
 * ```ts
 * const rec = await new ApiKeyStore(env.DIRECTORY_KV).resolve(bearer); // null: 401
 * ```
 */
export class ApiKeyStore {
	readonly #kv: KVNamespace;
	constructor(kv: KVNamespace) {
		this.#kv = kv;
	}

	/** Stores the lookup record of a new key (by hash only) and its revocation index. */
	async put(key: string, record: ApiKeyRecord): Promise<void> {
		const hash = await hashApiKey(key);
		// KV's minimum expiration is 60 s from now; the record's own expiresAt is also checked.
		const expiration = Math.max(Math.ceil(record.expiresAt / 1000), Math.ceil(Date.now() / 1000) + 60);
		await this.#kv.put(lookupKey(hash), JSON.stringify(record), { expiration });
		await this.#kv.put(indexKey(record.tenantId, record.keyId), hash, { expiration });
	}

	/** The record of a live key, or null (unknown, malformed, expired). */
	async resolve(key: string, now = Date.now()): Promise<ApiKeyRecord | null> {
		if (!API_KEY_PATTERN.test(key)) return null;
		const record = await this.#kv.get<ApiKeyRecord>(lookupKey(await hashApiKey(key)), "json");
		if (!record || record.expiresAt <= now) return null;
		return record;
	}

	/** Removes a key's lookup record, so the front door refuses it. */
	async revoke(tenantId: string, keyId: string): Promise<void> {
		const hash = await this.#kv.get(indexKey(tenantId, keyId));
		if (hash) await this.#kv.delete(lookupKey(hash));
		await this.#kv.delete(indexKey(tenantId, keyId));
	}
}
