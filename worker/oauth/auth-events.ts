/**
 * @module worker/oauth/auth-events
 * Writes authorization-server events (consent, failed sign-in, token issued or refreshed) to the
 * audit trail of the tenant they belong to. The tenant comes from a verified account or from the
 * grant's props, never from the request. Auditing must not break sign-in: a failure is logged
 * and the flow goes on.
 */
import type { AuthSubject } from "../../shared/rpc/kernel";
import { tenantStub } from "../../shared/rpc/stubs";
import type { Decision } from "../../shared/audit/store";
import { log } from "../../shared/log";
import type { Env } from "../../shared/env";

/** Tenant ids as SMCP mints them. */
const TENANT = /^t_[0-9a-f]{32}$/;

/**
 * Records one auth event in the subject's tenant.
 *
 * @example
 * ```ts
 * await auditAuthEvent(env, { tenantId, userId, clientId }, "auth/consent", "allowed", "granted:mcp:read");
 * ```
 */
export async function auditAuthEvent(
	env: Env,
	subject: AuthSubject,
	method: string,
	decision: Decision,
	outcome: string,
	traceId = "auth",
): Promise<void> {
	if (!TENANT.test(subject.tenantId)) return;
	try {
		await tenantStub(env, subject).recordAuthEvent(subject, { method, decision, outcome, traceId });
	} catch (e) {
		log("error", "audit.auth_event_failed", { method, error: e instanceof Error ? e.name : "unknown" });
	}
}
