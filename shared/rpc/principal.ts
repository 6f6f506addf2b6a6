/**
 * @module shared/rpc/principal
 * Who is calling, as types. A {@link VerifiedPrincipal} (tenant, user, client, scopes) is made in
 * two places only: the front Worker's auth step (`worker/oauth/principal.ts`, {@link brandPrincipal}),
 * from a token the OAuth provider has already verified, and a Durable Object's RPC entry point
 * ({@link receivePrincipal}), which re-validates what crossed the boundary. A {@link SessionOwner}
 * (no scopes) is whom a stored session belongs to: what a SessionObject passes when it calls the
 * kernel on its own (expiry, keeping the registry fresh), so it can never run a tool.
 *
 * Both constructors validate every field and return a fresh frozen copy holding only those fields;
 * a value that merely has the right shape is not a principal ({@link issuedPrincipal}).
 * `scripts/check-imports.mjs` refuses `brandPrincipal` anywhere but `worker/oauth/principal.ts`
 * and tests.
 */

declare const verifiedBrand: unique symbol;
declare const ownerBrand: unique symbol;

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
 * const p = principalFrom(ctx); // worker/oauth/principal.ts only
 * await tenantStub(env, p).callTool(p, call);
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

/** Whom a stored session belongs to: a principal without scopes, which authorises no tool. */
export interface SessionOwner {
	readonly tenantId: string;
	readonly userId: string;
	readonly clientId: string;
	readonly [ownerBrand]: true;
}

const ID = /^[A-Za-z0-9_.:@-]{1,200}$/;
/** The principals made in this isolate by the two constructors (see {@link issuedPrincipal}). */
const issued = new WeakSet<object>();

/** Whether a principal's scopes satisfy `needed`; a broader scope implies the narrower one. */
export function hasScope(scopes: readonly string[], needed: Scope): boolean {
	if (scopes.includes(needed)) return true;
	return needed === "mcp:read" && scopes.includes("mcp:write");
}

/** The three identity fields, validated; a `TypeError` names the boundary that got a bad value. */
function identity(value: unknown, what: string): { tenantId: string; userId: string; clientId: string } {
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
		v.clientId.length > 2048
	) {
		throw new TypeError(`Invalid ${what} handed to a Durable Object`);
	}
	return { tenantId: v.tenantId, userId: v.userId, clientId: v.clientId };
}

function make(value: unknown): VerifiedPrincipal {
	const id = identity(value, "verified principal");
	const { scopes, grantId } = value as { scopes?: unknown; grantId?: unknown };
	if (
		!Array.isArray(scopes) ||
		!scopes.every((s) => typeof s === "string") ||
		(grantId !== undefined && (typeof grantId !== "string" || !ID.test(grantId)))
	) {
		throw new TypeError("Invalid verified principal handed to a Durable Object");
	}
	const p = Object.freeze({
		...id,
		scopes: Object.freeze([...scopes]),
		...(grantId === undefined ? {} : { grantId }),
	}) as unknown as VerifiedPrincipal;
	issued.add(p);
	return p;
}

/**
 * Re-validates a principal that crossed an RPC boundary into a Durable Object, field by field,
 * and returns a fresh copy. A handoff that does not match is a bug in the caller, so this throws a
 * `TypeError` rather than returning a result. Call it only at a Durable Object's RPC entry, or on
 * a principal the object stored itself and reads back (a durable task's caller).
 */
export function receivePrincipal(value: unknown): VerifiedPrincipal {
	return make(value);
}

/**
 * Brands a principal from a verified grant. For `worker/oauth/principal.ts` (and tests that stand
 * in for it) only: the import check refuses it anywhere else.
 */
export function brandPrincipal(p: {
	tenantId: string;
	userId: string;
	clientId: string;
	scopes: readonly string[];
	grantId?: string;
}): VerifiedPrincipal {
	return make(p);
}

/**
 * A principal this isolate made and handed on inside itself (e.g. through an SDK's `authInfo`),
 * or a `TypeError`: a value of the right shape that no constructor made is refused.
 */
export function issuedPrincipal(value: unknown): VerifiedPrincipal {
	if (typeof value !== "object" || value === null || !issued.has(value)) throw new TypeError("Not a verified principal of this request");
	return value as VerifiedPrincipal;
}

/** The owner of a session `p` opens. */
export function ownerOf(p: VerifiedPrincipal | SessionOwner): SessionOwner {
	return Object.freeze({ tenantId: p.tenantId, userId: p.userId, clientId: p.clientId }) as unknown as SessionOwner;
}

/**
 * Re-validates a session owner that crossed an RPC boundary (or that an object read back from its
 * own storage, where it stored one); scopes, if any came along, are dropped.
 */
export function receiveOwner(value: unknown): SessionOwner {
	return ownerOf(identity(value, "session owner") as SessionOwner);
}
