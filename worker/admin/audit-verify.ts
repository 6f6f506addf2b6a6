/**
 * @module worker/admin/audit-verify
 * `GET /admin/tenants/{t}/audit/verify`: the whole trail verified one kernel call per chunk
 * (`verifyAuditChunk`, at most `AUDIT_VERIFY_CHUNK` rows each), so a tenant with a million audit
 * rows is verified without holding its tool calls behind one long turn of its object. The answer
 * is the verdict of the whole trail, as before.
 */
import type { ChainVerdict } from "../../shared/audit/chain.mjs";
import type { TenantKernel } from "../../shared/rpc/kernel";

/**
 * Loops over the kernel's chunks until the trail is done or broken.
 *
 * @example
 * ```ts
 * return json(200, await verifyInChunks(env.TENANTS.get(env.TENANTS.idFromName(tenantId))));
 * ```
 */
export async function verifyInChunks(kernel: Pick<TenantKernel, "verifyAuditChunk">): Promise<ChainVerdict> {
	let v = await kernel.verifyAuditChunk(null);
	while (v.next) v = await kernel.verifyAuditChunk(v.next);
	const { next: _done, ...verdict } = v;
	return verdict;
}
