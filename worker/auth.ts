/**
 * @module worker/auth
 * Turns what the OAuth provider verified into a {@link VerifiedPrincipal}. The provider has
 * already checked the bearer token (signature-free opaque token looked up by hash, expiry,
 * audience = this deployment); here we re-check the props it hands over field by field, because
 * everything downstream trusts this value.
 */
import { brandPrincipal, type VerifiedPrincipal } from "../shared/principal";

/** The props SMCP stores in a grant at consent time (encrypted by the provider). */
export interface GrantProps {
	tenantId: string;
	userId: string;
}

/** What the provider puts on the API handler's execution context. */
export interface VerifiedContext {
	props?: unknown;
	auth?: { clientId?: string; scope?: string[] };
}

/** The principal of an authenticated API request, or null when the handoff is malformed. */
export function principalFrom(ctx: VerifiedContext): VerifiedPrincipal | null {
	const props = ctx.props as Partial<GrantProps> | undefined;
	const clientId = ctx.auth?.clientId;
	if (!props || typeof props.tenantId !== "string" || typeof props.userId !== "string" || typeof clientId !== "string") return null;
	try {
		return brandPrincipal({ tenantId: props.tenantId, userId: props.userId, clientId, scopes: ctx.auth?.scope ?? [] });
	} catch {
		return null;
	}
}
