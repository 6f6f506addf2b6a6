/**
 * @module worker/oauth/principal
 * worker/oauth/ (entry: this module) owns the OAuth provider wiring, the one place a
 * VerifiedPrincipal is made, the authorize + consent page, the token guard and auth events. It
 * may import shared/, worker/identity/, worker/edge/ (the token cache), worker/ui/ and npm packages.
 *
 * Turns what the OAuth provider verified into a {@link VerifiedPrincipal}. The provider has
 * already checked the bearer token (signature-free opaque token looked up by hash, expiry,
 * audience = this deployment); here we re-check the props it hands over field by field, because
 * everything downstream trusts this value.
 */
import { brandPrincipal, type VerifiedPrincipal } from "../../shared/rpc/principal";

/** The props SMCP stores in a grant at consent time (encrypted by the provider). */
export interface GrantProps {
	tenantId: string;
	userId: string;
}

/**
 * The props `resolveExternalToken` returns for an API key. Only that callback produces them, from
 * SMCP's own key store; OAuth grants never carry `kind`, since their props are written at consent
 * by SMCP itself.
 */
export interface ApiKeyProps {
	kind: "api_key";
	tenantId: string;
	userId: string;
	keyId: string;
	scopes: string[];
}

/** What the provider puts on the API handler's execution context. */
export interface VerifiedContext {
	props?: unknown;
	auth?: { clientId?: string; scope?: string[]; token?: string };
}

/**
 * The grant id inside a provider-issued token (`userId:grantId:secret`, workers-oauth-provider's
 * layout), or undefined for any other shape. The token was verified already; this only names the
 * grant so that the kernel can refuse it once revoked, whatever KV or the token cache still say.
 */
export function grantIdOf(token: string | undefined): string | undefined {
	const parts = token?.split(":");
	return parts?.length === 3 && parts[1] && /^[A-Za-z0-9_-]{1,128}$/.test(parts[1]) ? parts[1] : undefined;
}

/** The principal of an authenticated API request, or null when the handoff is malformed. */
export function principalFrom(ctx: VerifiedContext): VerifiedPrincipal | null {
	const key = ctx.props as Partial<ApiKeyProps> | undefined;
	if (key?.kind === "api_key" && ctx.auth?.clientId === undefined) {
		if (typeof key.tenantId !== "string" || typeof key.userId !== "string" || typeof key.keyId !== "string" || !Array.isArray(key.scopes))
			return null;
		try {
			return brandPrincipal({ tenantId: key.tenantId, userId: key.userId, clientId: `key_${key.keyId}`, scopes: key.scopes });
		} catch {
			return null;
		}
	}
	const props = ctx.props as Partial<GrantProps> | undefined;
	const clientId = ctx.auth?.clientId;
	if (!props || typeof props.tenantId !== "string" || typeof props.userId !== "string" || typeof clientId !== "string") return null;
	try {
		const grantId = grantIdOf(ctx.auth?.token);
		return brandPrincipal({
			tenantId: props.tenantId,
			userId: props.userId,
			clientId,
			scopes: ctx.auth?.scope ?? [],
			...(grantId ? { grantId } : {}),
		});
	} catch {
		return null;
	}
}
