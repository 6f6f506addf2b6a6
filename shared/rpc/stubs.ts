/**
 * @module shared/rpc/stubs
 * The one way to reach a tenant's kernel or a session's object: a kernel is named by a tenant id
 * that was verified (a principal, a session's owner, or the account or operator an auth event is
 * about), a SessionObject by a session id whose MAC was verified or that the kernel's registry
 * holds; never by a value the client chose freely.
 */
import type { AuthSubject, TenantKernel } from "./kernel";
import type { SessionOwner, VerifiedPrincipal } from "./principal";
import type { SessionApi } from "./session";

/** The bindings a stub needs. */
interface TenantsEnv {
	TENANTS: DurableObjectNamespace<TenantKernel & Rpc.DurableObjectBranded>;
}

/** The binding a session stub needs. */
interface SessionsEnv {
	SESSIONS: DurableObjectNamespace<SessionApi & Rpc.DurableObjectBranded>;
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

/**
 * The SessionObject of `sessionId` (an id verified by `worker/mcp/session-id.ts`, or read from the
 * kernel's own registry).
 *
 * @example
 * ```ts
 * const answer = await sessionStub(env, sessionId).handle(principal, req);
 * ```
 */
export function sessionStub(env: SessionsEnv, sessionId: string) {
	return env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
}
