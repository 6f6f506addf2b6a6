/**
 * @module worker/account/key-service
 * Creating and revoking API keys, for the connected-apps page and the operator API alike: the key
 * goes to KV only as a hash, its metadata to the tenant's kernel (which audits both events).
 */
import type { AuthSubject } from "../../shared/rpc/kernel";
import { tenantStub } from "../../shared/rpc/stubs";
import { KEY_SCOPES, type KeyScope } from "../../shared/rpc/principal";
import { TenantDirectory } from "../identity/tenants";
import { ApiKeyStore, mintApiKey } from "../identity/api-keys";
import type { Env } from "../../shared/env";

/** Longest lifetime of a key; shorter is better. */
export const MAX_KEY_DAYS = 365;

/** The outcome of a key request. */
export type KeyResult = { ok: true; key: string; keyId: string; expiresAt: number } | { ok: false; error: string };

/**
 * Creates a key for `userId` in `tenantId` with `scopes`, valid for `days`.
 *
 * @example
 * ```ts
 * const r = await createApiKey(env, actor, { tenantId, userId, name: "CI", scopes: ["mcp:read"], days: 30 });
 * if (r.ok) showOnce(r.key);
 * ```
 */
export async function createApiKey(
	env: Env,
	actor: AuthSubject,
	o: { tenantId: string; userId: string; name: string; scopes: string[]; days: number },
): Promise<KeyResult> {
	const scopes = [...new Set(o.scopes)].filter((s): s is KeyScope => (KEY_SCOPES as readonly string[]).includes(s));
	if (scopes.length === 0 || scopes.length !== new Set(o.scopes).size)
		return { ok: false, error: `Choose scopes among ${KEY_SCOPES.join(", ")}.` };
	// Deploying runs code in the workspace's name: only an owner's key may hold it (re-checked on use).
	if (scopes.includes("apps:deploy") && (await new TenantDirectory(env.DIRECTORY_KV).roleOf(o.tenantId, o.userId)) !== "owner")
		return { ok: false, error: "Only an owner's key can hold apps:deploy." };
	const name = o.name.trim();
	if (!name || name.length > 100) return { ok: false, error: "Give the key a name (1-100 characters)." };
	if (!Number.isInteger(o.days) || o.days < 1 || o.days > MAX_KEY_DAYS)
		return { ok: false, error: `Expiry must be 1-${MAX_KEY_DAYS} days.` };
	const { key, keyId, prefix } = mintApiKey();
	const createdAt = Date.now();
	const expiresAt = createdAt + o.days * 86_400_000;
	await tenantStub(env, { ...actor, tenantId: o.tenantId }).registerApiKey(actor, {
		keyId,
		name,
		prefix,
		scopes,
		createdBy: o.userId,
		createdAt,
		expiresAt,
	});
	await new ApiKeyStore(env.DIRECTORY_KV).put(key, { keyId, tenantId: o.tenantId, userId: o.userId, name, scopes, createdAt, expiresAt });
	return { ok: true, key, keyId, expiresAt };
}

/** Revokes a key: refused by the kernel at once, and by the front door once KV drops it. */
export async function revokeApiKey(env: Env, actor: AuthSubject, tenantId: string, keyId: string): Promise<boolean> {
	if (!/^[0-9a-f]{8}$/.test(keyId)) return false;
	const revoked = await tenantStub(env, { ...actor, tenantId }).revokeApiKey(actor, keyId);
	await new ApiKeyStore(env.DIRECTORY_KV).revoke(tenantId, keyId);
	return revoked;
}
