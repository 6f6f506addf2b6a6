/**
 * @module worker/admin/deletion
 * The operator's two irreversible commands: deleting a tenant and deleting a user.
 *
 * Deleting a tenant cuts off every member (their OAuth grants for it and their API keys in it,
 * through the same paths as a revocation: the kernel first, then KV), deletes the kernel's whole
 * storage (`TenantKernel.destroy`: memory, audit trail, keys, apps, secrets, tasks, sessions),
 * then its directory records. The kernel keeps an empty schema with the tenant suspended, so a
 * token another isolate still trusts for a few seconds is refused rather than starting anew.
 *
 * Deleting a user is refused while they are the last owner of a team tenant (the tenant would be
 * left without anyone to manage it). Otherwise they leave each team tenant (grants and keys
 * revoked there, one audit row in each), every remaining grant is revoked, their personal tenant
 * is deleted as above, their web sessions end and their single-sign-on links and account records
 * are removed (the account last, so a deletion that fails part-way can be run again). The session epoch record (a counter, no personal data) stays, so an old
 * browser cookie can never match again.
 *
 * The tenant's own audit trail is deleted with it, so the deletion is recorded in the operator's
 * log line (`admin.tenant_deleted`, `admin.user_deleted`) and, for a user, in each team tenant
 * they left.
 */
import { log } from "../../shared/log";
import { tenantStub } from "../../shared/rpc/stubs";
import type { AuthSubject } from "../../shared/rpc/kernel";
import type { Env } from "../../shared/env";
import { AccountDirectory, type Account } from "../identity/accounts";
import { TenantDirectory } from "../identity/tenants";
import { ApiKeyStore } from "../identity/api-keys";
import { unlinkAll } from "../identity/oidc/accounts";
import { endAllSessions } from "../identity/web-session";
import { auditAuthEvent } from "../oauth/auth-events";
import { revokeGrantEverywhere } from "../oauth/grant-revocation";
import { forgetAll } from "../edge/token-cache";
import { cutOffMember } from "./member-removal";

const OPERATOR = (tenantId: string): AuthSubject => ({ tenantId, userId: "operator", clientId: "admin-api" });

/** What a tenant deletion removed. */
export interface TenantDeletion {
	tenantId: string;
	members: number;
	grants: number;
	keys: number;
	sessionsEnded: number;
}

/** Why a deletion was refused. */
export type DeletionRefusal =
	| { reason: "not_found" }
	| { reason: "personal_tenant"; ownerUserId?: string }
	| { reason: "last_owner"; tenants: string[] };

/**
 * Deletes a team tenant (a personal tenant goes with its account: {@link deleteUser}).
 *
 * @example
 * ```ts
 * const r = await deleteTenant(env, tenantId, traceId);
 * if (!r.ok && r.error.reason === "personal_tenant") return conflict("delete the user instead");
 * ```
 */
export async function deleteTenant(
	env: Env,
	tenantId: string,
	traceId: string,
): Promise<{ ok: true; value: TenantDeletion } | { ok: false; error: DeletionRefusal }> {
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const record = await dir.get(tenantId);
	if (!record) return { ok: false, error: { reason: "not_found" } };
	const owners = Object.keys(record.members).filter((u) => record.members[u] === "owner");
	// A stored record without an owner is a personal workspace's (the operator suspended it or added a member).
	if (owners.length === 0) return { ok: false, error: { reason: "personal_tenant" } };
	for (const userId of owners) {
		const account = await dir.account(userId);
		if (account?.tenantId === tenantId) return { ok: false, error: { reason: "personal_tenant", ownerUserId: userId } };
	}
	const value = await wipeTenant(env, tenantId);
	log("warn", "admin.tenant_deleted", { trace: traceId, ...value });
	return { ok: true, value };
}

/**
 * Deletes a user: see the module note for what goes and in which order.
 *
 * @example
 * ```ts
 * const r = await deleteUser(env, userId, traceId);
 * if (!r.ok && r.error.reason === "last_owner") return conflict(r.error.tenants);
 * ```
 */
export async function deleteUser(
	env: Env,
	userId: string,
	traceId: string,
): Promise<
	| { ok: true; value: { userId: string; leftTenants: string[]; grants: number; keys: number; personal: TenantDeletion } }
	| { ok: false; error: DeletionRefusal }
> {
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const account = await dir.account(userId);
	if (!account) return { ok: false, error: { reason: "not_found" } };
	const sole = await dir.soleOwnerOf(userId);
	if (sole.length) return { ok: false, error: { reason: "last_owner", tenants: sole } };

	// Web sessions and single sign-on end first; the account records go last, so a deletion that
	// fails part-way can be run again.
	await endAllSessions(env.DIRECTORY_KV, userId);
	await unlinkAll(env.DIRECTORY_KV, userId);

	let grants = 0;
	let keys = 0;
	const leftTenants: string[] = [];
	for (const tenantId of account.tenants) {
		if (tenantId === account.tenantId) continue;
		const r = await dir.removeMember(tenantId, userId);
		if (r !== "ok" && r !== "not_member") continue;
		const cut = await cutOffMember(env, OPERATOR(tenantId), tenantId, userId);
		grants += cut.grants;
		keys += cut.keys;
		leftTenants.push(tenantId);
		await auditAuthEvent(
			env,
			OPERATOR(tenantId),
			"admin/user_deleted",
			"allowed",
			`${userId} left (${cut.grants} grants, ${cut.keys} keys revoked)`,
		);
	}
	// Any grant left (a tenant they were removed from, whose grant survived) goes too.
	grants += await revokeAllGrants(env, userId);
	const personal = await wipeTenant(env, account.tenantId, account);
	await new AccountDirectory(env.DIRECTORY_KV).remove(account);
	forgetAll();
	const value = { userId, leftTenants, grants, keys, personal };
	log("warn", "admin.user_deleted", { trace: traceId, ...value, personal: personal.tenantId });
	return { ok: true, value };
}

/** Cuts off every member of `tenantId`, destroys its kernel storage and removes its directory records. */
async function wipeTenant(env: Env, tenantId: string, personalOwner?: Account): Promise<TenantDeletion> {
	const dir = new TenantDirectory(env.DIRECTORY_KV);
	const actor = OPERATOR(tenantId);
	const record = await dir.get(tenantId, personalOwner);
	const members = Object.keys(record?.members ?? {});
	if (personalOwner && !members.includes(personalOwner.userId)) members.push(personalOwner.userId);
	let grants = 0;
	let keys = 0;
	for (const userId of members) {
		const cut = await cutOffMember(env, actor, tenantId, userId);
		grants += cut.grants;
		keys += cut.keys;
	}
	// Keys whose creator is no longer a member: their KV lookup records go too.
	const kernel = tenantStub(env, actor);
	const store = new ApiKeyStore(env.DIRECTORY_KV);
	for (const k of await kernel.listApiKeys()) {
		if (k.revokedAt === null && !members.includes(k.createdBy)) keys++;
		await store.revoke(tenantId, k.keyId);
	}
	const { sessionsEnded } = await kernel.destroy(actor);
	await dir.forget(tenantId, personalOwner);
	forgetAll();
	return { tenantId, members: members.length, grants, keys, sessionsEnded };
}

/** Revokes every grant `userId` still holds, whatever its tenant; how many. */
async function revokeAllGrants(env: Env, userId: string): Promise<number> {
	const all: { id: string; clientId: string; tenantId?: string }[] = [];
	let cursor: string | undefined;
	do {
		const page = await env.OAUTH_PROVIDER.listUserGrants(userId, cursor ? { cursor } : {});
		for (const g of page.items)
			all.push({ id: g.id, clientId: g.clientId, tenantId: (g.metadata as { tenantId?: string } | null)?.tenantId });
		cursor = page.cursor;
	} while (cursor);
	for (const g of all) {
		if (g.tenantId)
			await revokeGrantEverywhere(env, OPERATOR(g.tenantId), { tenantId: g.tenantId, userId, grantId: g.id, clientId: g.clientId });
		else await env.OAUTH_PROVIDER.revokeGrant(g.id, userId);
	}
	return all.length;
}
