/**
 * @module worker/oauth/grant-revocation
 * Revoking an OAuth grant so that the revocation holds everywhere, and refusing refreshes of a
 * revoked grant.
 *
 * KV (where the provider keeps grants and tokens) may serve a deleted grant for up to about 60 s
 * in other locations, and the provider's refresh reads the grant and writes it back. So a
 * revocation is recorded first in the tenant's kernel (strongly consistent,
 * objects/tenant/revocations.ts), which refuses the grant's tokens on every kernel entry and
 * closes its sessions' streams, and only then deleted from KV. A refresh asks the same kernel
 * ({@link refuseRevokedRefresh}) before the provider writes anything back.
 */
import { OAuthError } from "@cloudflare/workers-oauth-provider";
import { log } from "../../shared/log";
import type { AuthSubject } from "../../shared/rpc/kernel";
import { tenantStub } from "../../shared/rpc/stubs";
import type { Env } from "../../shared/env";
import { forgetAll } from "../edge/token-cache";

/** Tenant ids as SMCP mints them. */
const TENANT = /^t_[0-9a-f]{32}$/;

/**
 * Revokes `grant` (of `userId`, issued to `clientId`, for `tenantId`): the kernel first, then the
 * provider's KV records. The kernel writes the audit row. Its failure does not stop the KV
 * revocation (logged at `error`: the window is then KV's propagation and the token caches').
 *
 * @example
 * ```ts
 * await revokeGrantEverywhere(env, actor, { tenantId, userId, grantId, clientId: grant.clientId });
 * ```
 */
export async function revokeGrantEverywhere(
	env: Env,
	actor: AuthSubject,
	grant: { tenantId: string; userId: string; grantId: string; clientId: string },
): Promise<void> {
	if (TENANT.test(grant.tenantId)) {
		try {
			await tenantStub(env, { ...actor, tenantId: grant.tenantId }).revokeGrant(actor, {
				grantId: grant.grantId,
				userId: grant.userId,
				clientId: grant.clientId,
			});
		} catch (e) {
			log("error", "auth.revoke_kernel_failed", { tenant: grant.tenantId, error: e instanceof Error ? e.name : "unknown" });
		}
	}
	await env.OAUTH_PROVIDER.revokeGrant(grant.grantId, grant.userId);
}

/**
 * For the provider's `tokenExchangeCallback` on a refresh: throws the OAuth error that refuses it
 * when the tenant's kernel has the grant as revoked (`invalid_grant`; the provider then deletes
 * the grant again and writes nothing back) or the tenant is suspended (`unauthorized_client`,
 * the grant is kept for a reactivation). A kernel that cannot answer fails closed (503).
 */
export async function refuseRevokedRefresh(env: Env, subject: AuthSubject, grantId: string): Promise<void> {
	const tenantId = subject.tenantId;
	if (!TENANT.test(tenantId)) return;
	let standing: Awaited<ReturnType<ReturnType<Env["TENANTS"]["get"]>["refreshStanding"]>>;
	try {
		standing = await tenantStub(env, subject).refreshStanding(grantId);
	} catch (e) {
		log("error", "auth.refresh_check_failed", { tenant: tenantId, error: e instanceof Error ? e.name : "unknown" });
		throw new OAuthError("temporarily_unavailable", {
			description: "The server could not check this grant; retry in a few seconds.",
			statusCode: 503,
			headers: { "Retry-After": "5" },
		});
	}
	// `?.`: a kernel from before this check answers undefined; the refresh goes on as it did.
	if (!standing || standing.ok) return;
	log("warn", "auth.refresh_refused", { tenant: tenantId, reason: standing.error.reason });
	if (standing.error.reason === "tenant_suspended")
		throw new OAuthError("unauthorized_client", { description: "This workspace is suspended. Contact the operator of this server." });
	// The provider deletes the grant again on invalid_grant; this isolate forgets its tokens too.
	forgetAll();
	throw new OAuthError("invalid_grant", { description: "This grant was revoked. Authorize the app again." });
}
