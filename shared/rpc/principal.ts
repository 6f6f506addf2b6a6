/**
 * @module shared/rpc/principal
 * The verified principal: who is calling, in which tenant, through which client, with which
 * scopes. Only the front Worker's auth step constructs one (`worker/oauth/principal.ts`), from a token the
 * OAuth provider has already verified. Durable Objects accept nothing else as identity, and
 * re-check the shape of what arrives over RPC with {@link assertPrincipal}.
 */

declare const verifiedBrand: unique symbol;

/** Scopes SMCP grants. `mcp:write` implies `mcp:read` (see {@link hasScope}). */
export const SCOPES = ["mcp:read", "mcp:write"] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Scopes an API key may hold: the OAuth scopes plus `apps:deploy` (manage the tenant's apps and
 * secrets from CI; owners' keys only). OAuth grants never carry `apps:deploy`.
 */
export const KEY_SCOPES = [...SCOPES, "apps:deploy"] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

/**
 * A caller whose bearer token was verified by the front Worker.
 *
 * @example
 * ```ts
 * const p = principalFromGrant(ctx.props, ctx.auth); // worker/oauth/principal.ts only
 * await env.TENANTS.get(env.TENANTS.idFromName(p.tenantId)).callTool(p, call);
 * ```
 */
export interface VerifiedPrincipal {
	readonly tenantId: string;
	readonly userId: string;
	readonly clientId: string;
	readonly scopes: readonly string[];
	/**
	 * The OAuth grant the token belongs to (the provider's `userId:grantId:secret` token layout),
	 * absent for API keys and for the calls a session makes on its own. The kernel refuses a
	 * principal whose grant it has recorded as revoked (objects/tenant/revocations.ts).
	 */
	readonly grantId?: string;
	readonly [verifiedBrand]: true;
}

const ID = /^[A-Za-z0-9_.:@-]{1,200}$/;

/** Whether a principal's scopes satisfy `needed`; a broader scope implies the narrower one. */
export function hasScope(scopes: readonly string[], needed: Scope): boolean {
	if (scopes.includes(needed)) return true;
	return needed === "mcp:read" && scopes.includes("mcp:write");
}

/**
 * Re-validates a principal that crossed an RPC boundary, field by field. A handoff that does not
 * match is a bug in the caller, so this throws a `TypeError` rather than returning a result.
 */
export function assertPrincipal(value: unknown): VerifiedPrincipal {
	const v = value as Record<string, unknown> | null;
	if (
		!v ||
		typeof v !== "object" ||
		typeof v.tenantId !== "string" ||
		!ID.test(v.tenantId) ||
		typeof v.userId !== "string" ||
		!ID.test(v.userId) ||
		typeof v.clientId !== "string" ||
		v.clientId.length === 0 ||
		v.clientId.length > 2048 ||
		!Array.isArray(v.scopes) ||
		!v.scopes.every((s) => typeof s === "string") ||
		(v.grantId !== undefined && (typeof v.grantId !== "string" || !ID.test(v.grantId)))
	) {
		throw new TypeError("Invalid verified principal handed to a Durable Object");
	}
	return v as unknown as VerifiedPrincipal;
}

/**
 * Brands a principal. Exported for `worker/oauth/principal.ts` (and tests that stand in for it); any other
 * caller is a review finding.
 */
export function brandPrincipal(p: {
	tenantId: string;
	userId: string;
	clientId: string;
	scopes: readonly string[];
	grantId?: string;
}): VerifiedPrincipal {
	return assertPrincipal({
		tenantId: p.tenantId,
		userId: p.userId,
		clientId: p.clientId,
		scopes: [...p.scopes],
		...(p.grantId === undefined ? {} : { grantId: p.grantId }),
	});
}
