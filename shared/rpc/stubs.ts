/**
 * @module shared/rpc/stubs
 * The one way to reach a tenant's kernel: its Durable Object is named by a tenant id that was
 * verified (a principal, a session's owner, or the account or operator an auth event is about),
 * never by a value the client chose freely.
 */
import type { AuthSubject, TenantKernel } from "./kernel";
import type { SessionOwner, VerifiedPrincipal } from "./principal";

/** The bindings a stub needs. */
interface TenantsEnv {
	TENANTS: DurableObjectNamespace<TenantKernel & Rpc.DurableObjectBranded>;
}

/**
 * The kernel of `who`'s tenant.
 *
 * @example
 * ```ts
 * const r = await tenantStub(env, principal).callTool(principal, call);
 * ```
 */
export function tenantStub(env: TenantsEnv, who: VerifiedPrincipal | SessionOwner | AuthSubject) {
	return env.TENANTS.get(env.TENANTS.idFromName(who.tenantId));
}
