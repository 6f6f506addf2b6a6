/**
 * @module shared/rate-limit
 * Token buckets, pure: the arithmetic lives here (tested with a fake clock), the storage in the
 * TenantObject, where a bucket's read-modify-write runs inside one synchronous transaction and is
 * therefore strongly consistent per tenant. There is no global limiter object: every tenant's
 * buckets live in its own Durable Object (Rules of Durable Objects: avoid a global bottleneck).
 */

/** A bucket's capacity (burst) and its refill rate (tokens per second). */
export interface BucketPolicy {
	capacity: number;
	refillPerSecond: number;
}

/** A bucket's stored state. */
export interface BucketState {
	tokens: number;
	updatedAt: number;
}

/** The decision for one request against one bucket. */
export interface Take {
	allowed: boolean;
	/** The state to store (whether or not the request was allowed). */
	next: BucketState;
	/** Whole seconds until one token is available again; 0 when allowed. */
	retryAfterSeconds: number;
}

/**
 * Refills `state` up to `now` and tries to take one token.
 *
 * @example
 * ```ts
 * const t = take({ capacity: 10, refillPerSecond: 1 }, stored ?? null, Date.now());
 * if (!t.allowed) return tooMany(t.retryAfterSeconds);
 * ```
 */
export function take(policy: BucketPolicy, state: BucketState | null, now: number): Take {
	const start = state ?? { tokens: policy.capacity, updatedAt: now };
	const elapsed = Math.max(0, now - start.updatedAt) / 1000;
	const tokens = Math.min(policy.capacity, start.tokens + elapsed * policy.refillPerSecond);
	if (tokens >= 1) return { allowed: true, next: { tokens: tokens - 1, updatedAt: now }, retryAfterSeconds: 0 };
	const wait = policy.refillPerSecond > 0 ? (1 - tokens) / policy.refillPerSecond : Number.POSITIVE_INFINITY;
	return { allowed: false, next: { tokens, updatedAt: now }, retryAfterSeconds: Math.max(1, Math.ceil(wait)) };
}

/** Checks several buckets together: a request consumes from all of them or from none. */
export function takeAll(
	items: { policy: BucketPolicy; state: BucketState | null }[],
	now: number,
): { allowed: boolean; next: BucketState[]; retryAfterSeconds: number } {
	const takes = items.map((i) => take(i.policy, i.state, now));
	const allowed = takes.every((t) => t.allowed);
	if (allowed) return { allowed, next: takes.map((t) => t.next), retryAfterSeconds: 0 };
	// Refused: keep the refilled levels but give back the tokens the allowed buckets took.
	const next = takes.map((t) => (t.allowed ? { tokens: t.next.tokens + 1, updatedAt: now } : t.next));
	return { allowed, next, retryAfterSeconds: Math.max(...takes.map((t) => t.retryAfterSeconds)) };
}

/** Parses a positive number from configuration, or returns the default. */
export function positive(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return value !== undefined && value !== "" && Number.isFinite(n) && n > 0 ? n : fallback;
}
