/**
 * @module objects/tenant/keys
 * The kernel's view of credentials: API key metadata (never the key), last use, revocation, and
 * the tenant's suspension flag. Synchronous SQL, called inside the kernel's transactions; the
 * kernel re-checks these on every tool call, so revocation and suspension take effect at once.
 */
import type { ApiKeyInfo } from "../../shared/rpc/kernel";
import type { SessionOwner, VerifiedPrincipal } from "../../shared/rpc/principal";

type KeyRow = {
	key_id: string;
	name: string;
	prefix: string;
	scopes: string;
	created_by: string;
	created_at: number;
	expires_at: number;
	last_used_at: number | null;
	revoked_at: number | null;
};

/** Stores a new key's metadata. */
export function insertKey(sql: SqlStorage, key: Omit<ApiKeyInfo, "lastUsedAt" | "revokedAt">): void {
	sql.exec(
		"INSERT INTO api_keys (key_id, name, prefix, scopes, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		key.keyId,
		key.name.slice(0, 100),
		key.prefix,
		JSON.stringify(key.scopes),
		key.createdBy,
		key.createdAt,
		key.expiresAt,
	);
}

/** Marks a key revoked; false when unknown or already revoked. */
export function markRevoked(sql: SqlStorage, keyId: string, now: number): boolean {
	return (
		sql.exec("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL RETURNING key_id", now, keyId).toArray().length > 0
	);
}

/** All keys, newest first. */
export function listKeys(sql: SqlStorage): ApiKeyInfo[] {
	return sql
		.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at DESC")
		.toArray()
		.map((r) => ({
			keyId: r.key_id,
			name: r.name,
			prefix: r.prefix,
			scopes: JSON.parse(r.scopes) as string[],
			createdBy: r.created_by,
			createdAt: r.created_at,
			expiresAt: r.expires_at,
			lastUsedAt: r.last_used_at,
			revokedAt: r.revoked_at,
		}));
}

/** Sets or clears the tenant's suspension. */
export function setSuspendedFlag(sql: SqlStorage, suspended: boolean): void {
	sql.exec("INSERT OR REPLACE INTO tenant_state (k, v) VALUES ('suspended', ?)", suspended ? "1" : "0");
}

/** Whether the tenant is suspended (its own flag, written by {@link setSuspendedFlag}). */
export function readSuspended(sql: SqlStorage): boolean {
	return sql.exec<{ v: string }>("SELECT v FROM tenant_state WHERE k = 'suspended'").toArray()[0]?.v === "1";
}

/**
 * Why a call must be refused before it runs: a suspended tenant, or an API key (client id
 * `key_<id>`) that is revoked, expired or unknown here. Records the key's last use otherwise.
 * `suspended` may come from the caller's copy of the flag (the kernel keeps one in memory).
 */
export function credentialRefusal(
	sql: SqlStorage,
	p: VerifiedPrincipal | SessionOwner,
	now: number,
	suspended = readSuspended(sql),
): { reason: string; message: string } | null {
	if (suspended) return { reason: "tenant_suspended", message: "This workspace is suspended. Contact the operator of this SMCP server." };
	if (!p.clientId.startsWith("key_")) return null;
	const keyId = p.clientId.slice(4);
	const key = sql
		.exec<{ expires_at: number; revoked_at: number | null }>("SELECT expires_at, revoked_at FROM api_keys WHERE key_id = ?", keyId)
		.toArray()[0];
	if (!key || key.revoked_at !== null || key.expires_at <= now)
		return { reason: "api_key_inactive", message: "This API key is revoked or expired." };
	sql.exec("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?", now, keyId);
	return null;
}
