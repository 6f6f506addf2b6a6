/**
 * @module worker/admin/member-removal
 * What removing a member from a tenant revokes: every OAuth grant the person holds for that
 * tenant and every API key of theirs in it, through the same paths as a revocation on the
 * connected-apps page (the kernel first, then KV), so their apps stop at once and their open
 * streams close. Their web sessions are the sign-in work's to end.
 */
import type { AuthSubject } from "../../shared/rpc/kernel";
import { tenantStub } from "../../shared/rpc/stubs";
import type { Env } from "../../shared/env";
import { revokeApiKey } from "../account/key-service";
import { revokeGrantEverywhere } from "../oauth/grant-revocation";

/**
 * Revokes `userId`'s grants for `tenantId` and their keys there; how many of each.
 *
 * @example
 * ```ts
 * if ((await dir.removeMember(tenantId, userId)) === "ok") await cutOffMember(env, actor, tenantId, userId);
 * ```
 */
export async function cutOffMember(
	env: Env,
	actor: AuthSubject,
	tenantId: string,
	userId: string,
): Promise<{ grants: number; keys: number }> {
	let grants = 0;
	let cursor: string | undefined;
	do {
		const page = await env.OAUTH_PROVIDER.listUserGrants(userId, cursor ? { cursor } : {});
		for (const g of page.items) {
			if ((g.metadata as { tenantId?: string } | null)?.tenantId !== tenantId) continue;
			await revokeGrantEverywhere(env, actor, { tenantId, userId, grantId: g.id, clientId: g.clientId });
			grants++;
		}
		cursor = page.cursor;
	} while (cursor);
	let keys = 0;
	for (const k of await tenantStub(env, { ...actor, tenantId }).listApiKeys()) {
		if (k.createdBy !== userId || k.revokedAt !== null) continue;
		if (await revokeApiKey(env, actor, tenantId, k.keyId)) keys++;
	}
	return { grants, keys };
}
