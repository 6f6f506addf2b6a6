/**
 * @module shared/rpc/liveness
 * The one liveness rule of an MCP session, used by the tenant's session registry and by the
 * SessionObject alike: a session is live while `now - lastSeen < ttl`, where the TTL comes from
 * `SMCP_SESSION_TTL_SECONDS` (default a day); a request refreshes `lastSeen` once it is a minute
 * old (half the TTL when that is shorter), so an idle-touch write costs at most one per minute.
 */
import { positive } from "../rate-limit";

/** Default idle lifetime of a session, in seconds. */
export const DEFAULT_SESSION_TTL_SECONDS = 86_400;
/** `lastSeen` is written at most this often. */
export const TOUCH_EVERY_MS = 60_000;

/**
 * The session TTL in milliseconds (a missing, non-numeric or non-positive value means the default).
 *
 * @example
 * ```ts
 * const ttl = sessionTtlMs(env); // 86_400_000 unless SMCP_SESSION_TTL_SECONDS says otherwise
 * ```
 */
export function sessionTtlMs(env: { SMCP_SESSION_TTL_SECONDS?: string }): number {
	return positive(env.SMCP_SESSION_TTL_SECONDS, DEFAULT_SESSION_TTL_SECONDS) * 1000;
}

/** Whether a session last seen at `lastSeen` is still live at `now`. */
export function isLive(lastSeen: number, now: number, ttlMs: number): boolean {
	return now - lastSeen < ttlMs;
}

/** Whether a request at `now` should refresh `lastSeen` (the touch rule). */
export function touchDue(lastSeen: number, now: number, ttlMs: number): boolean {
	return now - lastSeen >= Math.min(TOUCH_EVERY_MS, ttlMs / 2);
}
