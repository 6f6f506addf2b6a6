/**
 * @module worker/edge/token-cache
 * Bearer tokens already verified by the OAuth provider, remembered in this isolate for a few
 * seconds, so that a session's steady traffic does not pay the provider's KV read and key
 * unwrapping on every request.
 *
 * Safety bounds (docs/security.md §"Token validation cache"):
 * - An entry lives at most {@link ttlMs} (`SMCP_TOKEN_CACHE_SECONDS`, default 10 s, 0 turns the
 *   cache off) and never past the token's own expiry.
 * - A revocation or suspension handled by this isolate empties the cache at once (also when the
 *   handler then fails), and a request verified before the flush cannot put its token back; a
 *   code replay or revocation request at `/token` forgets the grant it names. One handled by
 *   another isolate reaches this one within the TTL, and the tenant's kernel refuses a revoked
 *   grant, key or suspended tenant at once regardless (objects/tenant/revocations.ts).
 * - Entries are keyed by SHA-256 of the origin and the token: the raw token is not kept, and a
 *   token verified for one origin is not reused for another.
 * - Only requests without an `Origin` header take the cached path; browser requests go through the
 *   provider, which adds its CORS headers.
 */
import type { OAuthResourceAuth } from "@cloudflare/workers-oauth-provider";
import type { Env } from "../../shared/env";
import { sha256Hex } from "../../shared/sha256";

/** What the provider put on the execution context for a verified token. */
export interface VerifiedAuth {
	props: unknown;
	auth: OAuthResourceAuth;
}

/** A remembered verification; the token itself is put back from the request on a hit. */
interface Entry {
	props: unknown;
	auth: Omit<OAuthResourceAuth, "token">;
	until: number;
	/** The grant of a provider-issued token (`userId:grantId:secret`), for {@link forgetGrant}. */
	grantId?: string;
}

const DEFAULT_SECONDS = 10;
const MAX_SECONDS = 60;
/** Bounded memory: the oldest entries are dropped first. */
const MAX_ENTRIES = 5000;

const entries = new Map<string, Entry>();
/**
 * Bumped by every flush. A request verified by the provider before a revocation may finish after
 * it; it remembers its token only if no flush happened since it started ({@link generation}).
 */
let flushes = 0;

/** The current flush generation: read it before verifying a token, pass it to {@link remember}. */
export function generation(): number {
	return flushes;
}

/** The cache lifetime from `SMCP_TOKEN_CACHE_SECONDS` (0 disables; capped at 60 s). */
export function ttlMs(env: Pick<Env, "SMCP_TOKEN_CACHE_SECONDS">): number {
	const raw = env.SMCP_TOKEN_CACHE_SECONDS;
	const s = raw === undefined || raw === "" ? DEFAULT_SECONDS : Number(raw);
	return Number.isFinite(s) && s > 0 ? Math.min(s, MAX_SECONDS) * 1000 : 0;
}

/** The bearer token of a request, with the provider's own syntax (RFC 6750 §2.1). */
export function bearerOf(request: Request): string | null {
	const m = /^Bearer[\t ]+([^\s,]+)$/i.exec(request.headers.get("Authorization") ?? "");
	return m ? (m[1] ?? null) : null;
}

/**
 * The cache key: SHA-256 over origin and token, hex. Synchronous (`node:crypto`, as the audit
 * chain hashes): WebCrypto's digest cost about 6 ms on an isolate's first request and a promise on
 * every one (docs/performance.md, cold start).
 */
export function cacheKey(origin: string, token: string): string {
	return sha256Hex(`${origin}\n${token}`);
}

/** The verified context for `token` under `key`, if remembered and still fresh. */
export function lookup(key: string, token: string, now = Date.now()): VerifiedAuth | null {
	const e = entries.get(key);
	if (!e) return null;
	if (e.until <= now) {
		entries.delete(key);
		return null;
	}
	return { props: e.props, auth: { ...e.auth, token } };
}

/**
 * Remembers what the provider verified for `key`, for at most `ttl` ms and never past expiry;
 * nothing when the cache was flushed since `since` (the generation read before verification).
 */
export function remember(key: string, verified: VerifiedAuth, ttl: number, since: number, now = Date.now()): void {
	if (ttl <= 0 || since !== flushes) return;
	const expiresAt = typeof verified.auth.expiresAt === "number" ? verified.auth.expiresAt * 1000 : Number.POSITIVE_INFINITY;
	const until = Math.min(now + ttl, expiresAt);
	if (until <= now) return;
	if (entries.size >= MAX_ENTRIES) {
		const oldest = entries.keys().next().value;
		if (oldest !== undefined) entries.delete(oldest);
	}
	const { token, ...auth } = verified.auth;
	const parts = token.split(":");
	const grantId = parts.length === 3 ? parts[1] : undefined;
	// Shared by every request that hits the entry: frozen, so no handler can alter another's view.
	entries.set(key, Object.freeze({ props: deepFreeze(verified.props), auth: deepFreeze(auth), until, ...(grantId ? { grantId } : {}) }));
}

/** Forgets every entry: called when this isolate changes authorization state. */
export function forgetAll(): void {
	flushes++;
	entries.clear();
}

/**
 * Forgets the entries of one grant (a replayed code or a revocation request at `/token` names it;
 * the provider may have revoked it). Costs nobody else anything, so it needs no proof that the
 * caller owns the grant; requests verified before it do not put the grant's tokens back.
 */
export function forgetGrant(grantId: string): void {
	flushes++;
	for (const [k, e] of entries) if (e.grantId === grantId) entries.delete(k);
}

/** How many entries are held (tests and diagnostics). */
export function size(): number {
	return entries.size;
}

/** Everything held, as JSON text (tests: nothing in it may be a token). */
export function snapshot(): string {
	return JSON.stringify([...entries]);
}

function deepFreeze<T>(value: T): T {
	if (value && typeof value === "object" && !Object.isFrozen(value)) {
		Object.freeze(value);
		for (const v of Object.values(value)) deepFreeze(v);
	}
	return value;
}
