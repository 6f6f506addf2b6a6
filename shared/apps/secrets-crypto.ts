/**
 * @module shared/apps/secrets-crypto
 * Encryption of tenant secrets at rest: AES-256-GCM under a per-tenant key derived with
 * HKDF-SHA-256 (RFC 5869) from the deployment secret `SMCP_SECRETS_KEY`, `info` =
 * `smcp-secrets:v1:<tenantId>`. WebCrypto only, so it runs in Workers and in Node.
 *
 * Each ciphertext carries the key id (`kid`: the first 8 hex digits of SHA-256 of the deployment
 * secret) it was sealed under. Rotation: set the new value as `SMCP_SECRETS_KEY` and keep the old
 * one as `SMCP_SECRETS_KEY_PREVIOUS`; {@link decryptSecret} picks the key by `kid` and flags values
 * sealed under the previous key (`stale`) so the caller re-encrypts them on the way (lazily); once
 * none remain, drop `SMCP_SECRETS_KEY_PREVIOUS`.
 *
 * The additional authenticated data binds tenant, app (or `*` for a tenant-wide secret) and secret
 * name, so a ciphertext moved to another secret, app or tenant fails to decrypt. Errors never
 * carry key material or plaintext.
 */
import { fromBase64url, toBase64url } from "../base64url.mjs";

/** The deployment secrets, as Worker bindings. */
export interface SecretsKeyEnv {
	SMCP_SECRETS_KEY?: string;
	SMCP_SECRETS_KEY_PREVIOUS?: string;
}

/** Shortest deployment secret accepted. */
export const MIN_SECRETS_KEY_LENGTH = 32;
/** Largest secret value, in bytes. */
export const MAX_SECRET_BYTES = 8 * 1024;

/** Key material by id: `current` seals, both open. Build with {@link loadSecretKeys}. */
export interface SecretKeys {
	current: { kid: string; key: CryptoKey };
	previous?: { kid: string; key: CryptoKey };
}

/** A sealed secret, all fields base64url except `kid` (hex). */
export interface SealedSecret {
	kid: string;
	iv: string;
	ct: string;
}

/** Where a secret belongs: the AAD binds all three. */
export interface SecretScope {
	tenantId: string;
	/** The app the secret belongs to, or `*` for one shared by the tenant's apps. Default `*`. */
	app?: string;
}

/** Why a secret could not be opened. */
export type OpenFailure = { reason: "unknown_key"; kid: string } | { reason: "malformed" } | { reason: "decrypt_failed" };

const enc = new TextEncoder();

/**
 * Imports the deployment secrets as HKDF keys and computes their ids. Call once per isolate.
 *
 * @example
 * ```ts
 * const keys = await loadSecretKeys(env);
 * if (!keys.ok) throw new Error(keys.message); // a deployment mistake: fail loudly, once
 * ```
 */
export async function loadSecretKeys(env: SecretsKeyEnv): Promise<{ ok: true; keys: SecretKeys } | { ok: false; message: string }> {
	const current = env.SMCP_SECRETS_KEY;
	if (!current || current.length < MIN_SECRETS_KEY_LENGTH) {
		return {
			ok: false,
			message:
				`SMCP_SECRETS_KEY is ${current ? "too short" : "not set"}: set it to at least ` +
				`${MIN_SECRETS_KEY_LENGTH} random characters ` +
				"(e.g. `openssl rand -base64 48 | wrangler secret put SMCP_SECRETS_KEY`)",
		};
	}
	const previous = env.SMCP_SECRETS_KEY_PREVIOUS;
	if (previous !== undefined && previous !== "" && previous.length < MIN_SECRETS_KEY_LENGTH) {
		return {
			ok: false,
			message:
				`SMCP_SECRETS_KEY_PREVIOUS is shorter than ${MIN_SECRETS_KEY_LENGTH} characters: ` +
				"it must be the former SMCP_SECRETS_KEY, unchanged",
		};
	}
	const keys: SecretKeys = { current: await importKey(current) };
	if (previous && previous !== current) keys.previous = await importKey(previous);
	return { ok: true, keys };
}

/**
 * Seals a secret value for `scope.tenantId` / `scope.app` / `name`.
 *
 * @example
 * ```ts
 * const sealed = await encryptSecret(keys, "t_123", "WEATHER_KEY", value, { app: "weather" });
 * ```
 */
export async function encryptSecret(
	keys: SecretKeys,
	tenantId: string,
	name: string,
	plaintext: string,
	scope: Omit<SecretScope, "tenantId"> = {},
): Promise<SealedSecret> {
	const data = enc.encode(plaintext);
	if (data.length > MAX_SECRET_BYTES) throw new RangeError(`encryptSecret: the value is longer than ${MAX_SECRET_BYTES} bytes`);
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const key = await tenantKey(keys.current.key, tenantId);
	const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(tenantId, scope.app ?? "*", name) }, key, data);
	return { kid: keys.current.kid, iv: toBase64url(iv), ct: toBase64url(new Uint8Array(ct)) };
}

/**
 * Opens a sealed secret. `stale` is true when it was sealed under the previous key: re-encrypt it
 * with {@link encryptSecret} and store the result.
 */
export async function decryptSecret(
	keys: SecretKeys,
	tenantId: string,
	name: string,
	sealed: SealedSecret,
	scope: Omit<SecretScope, "tenantId"> = {},
): Promise<{ ok: true; plaintext: string; stale: boolean } | { ok: false; error: OpenFailure }> {
	const entry = sealed.kid === keys.current.kid ? keys.current : sealed.kid === keys.previous?.kid ? keys.previous : undefined;
	if (!entry) return { ok: false, error: { reason: "unknown_key", kid: String(sealed.kid).slice(0, 8) } };
	const iv = fromBase64url(sealed.iv);
	const ct = fromBase64url(sealed.ct);
	if (iv?.length !== 12 || !ct || ct.length < 16) return { ok: false, error: { reason: "malformed" } };
	try {
		const key = await tenantKey(entry.key, tenantId);
		const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad(tenantId, scope.app ?? "*", name) }, key, ct);
		return { ok: true, plaintext: new TextDecoder().decode(pt), stale: entry !== keys.current };
	} catch {
		return { ok: false, error: { reason: "decrypt_failed" } };
	}
}

/** Imports a deployment secret for HKDF and computes its key id. */
async function importKey(secret: string): Promise<{ kid: string; key: CryptoKey }> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(secret)));
	const kid = Array.from(digest.slice(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
	const key = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveKey"]);
	return { kid, key };
}

/**
 * The tenant's AES-256-GCM key. The salt is empty (RFC 5869 §3.1: optional when the input key
 * material is already uniformly random, which a generated deployment secret is); `info` separates
 * tenants and versions.
 */
function tenantKey(master: CryptoKey, tenantId: string): Promise<CryptoKey> {
	if (tenantId.length === 0 || tenantId.length > 256) throw new TypeError("tenantId must be 1 to 256 characters");
	return crypto.subtle.deriveKey(
		{ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode(`smcp-secrets:v1:${tenantId}`) },
		master,
		{ name: "AES-GCM", length: 256 },
		false,
		["encrypt", "decrypt"],
	);
}

/** Additional data: a JSON array, so no choice of ids can make two scopes encode alike. */
function aad(tenantId: string, app: string, name: string): Uint8Array {
	return enc.encode(JSON.stringify(["smcp-secret:v1", tenantId, app, name]));
}
