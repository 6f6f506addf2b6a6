/**
 * @module worker/edge/preauth
 * The per-IP limit before authentication (Workers Rate Limiting binding `PREAUTH_LIMITER`).
 *
 * Every request counts against its IP except MCP traffic whose bearer token this isolate has
 * already verified (a token-cache hit): that traffic is limited per tenant in the kernel. A bearer
 * token that is merely present proves nothing — `Authorization: Bearer junk` used to skip the
 * limit on header shape alone, and each junk token still cost a hash and a KV read (a directory
 * read for `smcp_…`-shaped ones) before its 401. So a bearer request that is not a cache hit goes
 * on to verification without being counted, and every 401 it earns is counted against its IP
 * (key `401:<ip>`, same limit). An IP past the limit is refused here, before any hash or KV read,
 * for {@link BLOCK_MS} in this isolate; the binding's counter is shared by the location's
 * isolates, so each learns it on its next 401.
 */
import { log } from "../../shared/log";

/** How long an isolate refuses unverified bearer requests from an IP whose 401s are over the limit. */
export const BLOCK_MS = 60_000;
/** Bounded memory for blocked IPs; past it the oldest entry goes. */
const MAX_BLOCKED = 10_000;

const MCP_PATHS = new Set(["/mcp", "/sse", "/sse/message"]);

/** What the limiter needs of a request. */
interface Seen {
	path: string;
	ip: string;
	bearer: boolean;
}

function seen(request: Request): Seen {
	return {
		path: new URL(request.url).pathname,
		ip: request.headers.get("CF-Connecting-IP") ?? "unknown",
		bearer: /^Bearer\s+\S/i.test(request.headers.get("Authorization") ?? ""),
	};
}

/**
 * Builds the pre-auth limiter over a rate-limit binding (none: every request passes).
 *
 * @example
 * ```ts
 * const limiter = preAuthLimiter(env.PREAUTH_LIMITER);
 * if (!(await limiter.admit(request, cacheHit))) return tooMany();
 * const response = await next();
 * await limiter.settle(request, cacheHit, response.status);
 * ```
 */
export function preAuthLimiter(binding: RateLimit | undefined, now: () => number = Date.now) {
	return {
		/** Whether the request may go on; `verified`: its bearer token is a token-cache hit. */
		async admit(request: Request, verified: boolean): Promise<boolean> {
			if (!binding) return true;
			const s = seen(request);
			if (MCP_PATHS.has(s.path) && s.bearer) {
				if (verified) return true;
				const until = blocked.get(s.ip);
				if (until === undefined || until <= now()) return true;
				log("warn", "http.preauth_limited", { path: s.path.slice(0, 64), reason: "unauthorized_bearers" });
				return false;
			}
			const { success } = await binding.limit({ key: `ip:${s.ip}` });
			if (!success) log("warn", "http.preauth_limited", { path: s.path.slice(0, 64) });
			return success;
		},
		/** Counts a 401 earned by an unverified bearer request against its IP. */
		async settle(request: Request, verified: boolean, status: number): Promise<void> {
			if (!binding || verified || status !== 401) return;
			const s = seen(request);
			if (!MCP_PATHS.has(s.path) || !s.bearer) return;
			const { success } = await binding.limit({ key: `401:${s.ip}` });
			if (success) return;
			if (blocked.size >= MAX_BLOCKED) blocked.delete(blocked.keys().next().value as string);
			blocked.set(s.ip, now() + BLOCK_MS);
		},
	};
}

/** IPs refused by this isolate until the given time (ms). */
const blocked = new Map<string, number>();

/** Forgets every blocked IP (tests). */
export function resetBlocked(): void {
	blocked.clear();
}
