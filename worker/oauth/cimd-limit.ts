/**
 * @module worker/oauth/cimd-limit
 * A limit on Client ID Metadata Document fetches, so that `/authorize` and `/token` are not a
 * fetch reflector. With CIMD (MCP 2025-11-25 authorization §"Client ID Metadata Documents") a
 * `client_id` that is an `https` URL with a path makes the OAuth provider fetch that URL. Anyone
 * can send such a request, with a new URL each time: unbounded, every request would make this
 * Worker fetch a URL of the caller's choosing (at one victim host, or at many hosts from one IP).
 *
 * Before the provider sees a request whose `client_id` is CIMD-shaped and whose document is not in
 * the provider's cache (a cached document is not fetched again), this module counts one fetch
 * against the caller's IP and one against the document's host, per minute:
 * {@link CIMD_FETCHES_PER_IP} and {@link CIMD_FETCHES_PER_HOST}. Past either the request is refused
 * with 429 and `Retry-After`, and nothing is fetched. Counts are kept in the isolate (bounded
 * maps); the per-IP pre-auth limit (`PREAUTH_LIMITER`, shared by a location's isolates) bounds
 * what several isolates add together. The address checks themselves are the platform's
 * (`global_fetch_strictly_public`).
 */
import { log } from "../../shared/log";
import { renderErrorPage } from "./consent-page";

/** Uncached metadata fetches one IP may cause per minute (a person signs in with a few apps at most). */
export const CIMD_FETCHES_PER_IP = 10;
/** Uncached metadata fetches of one host per minute, from all callers (a busy app's document is cached). */
export const CIMD_FETCHES_PER_HOST = 30;
const WINDOW_MS = 60_000;
/** Bounded memory: past this many counters the oldest goes. */
const MAX_KEYS = 10_000;
/** The provider's cache of validated documents (workers-oauth-provider 1.2.3, `CIMD_CACHE_NAME`). */
const PROVIDER_CACHE = "workers-oauth-provider:cimd:v1";

/** Counters per key: window start and count. */
const counters = new Map<string, { start: number; n: number }>();

/** Whether `id` has the URL shape the provider resolves through CIMD: `https` with a path beyond `/`. */
export function isCimdClientId(id: string | null | undefined): id is string {
	if (!id) return false;
	try {
		const u = new URL(id);
		return u.protocol === "https:" && u.pathname !== "/" && u.pathname !== "";
	} catch {
		return false;
	}
}

/** The `client_id` a request to `/authorize` (query) or `/token` (form body) names. */
async function clientIdOf(request: Request, path: string): Promise<string | null> {
	if (path === "/authorize") return new URL(request.url).searchParams.get("client_id");
	if (path !== "/token" || request.method !== "POST") return null;
	if (!(request.headers.get("Content-Type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) return null;
	try {
		return new URLSearchParams(await request.clone().text()).get("client_id");
	} catch {
		return null;
	}
}

async function cached(clientId: string): Promise<boolean> {
	try {
		return (await (await caches.open(PROVIDER_CACHE)).match(clientId)) !== undefined;
	} catch {
		return false;
	}
}

/** Counts one against `key`; false when it was already at `limit` this window. */
function take(key: string, limit: number, now: number): boolean {
	const c = counters.get(key);
	if (!c || now - c.start >= WINDOW_MS) {
		counters.delete(key);
		if (counters.size >= MAX_KEYS) counters.delete(counters.keys().next().value as string);
		counters.set(key, { start: now, n: 1 });
		return true;
	}
	if (c.n >= limit) return false;
	c.n++;
	return true;
}

/**
 * The refusal for a request that would fetch a metadata document past the limits, or null to go on.
 *
 * @example
 * ```ts
 * const refused = await limitCimdFetch(request, url.pathname);
 * if (refused) return refused;
 * ```
 */
export async function limitCimdFetch(request: Request, path: string, now: number = Date.now()): Promise<Response | null> {
	const clientId = await clientIdOf(request, path);
	if (!isCimdClientId(clientId) || (await cached(clientId))) return null;
	const ip = request.headers.get("CF-Connecting-IP") ?? "unknown";
	const host = new URL(clientId).host;
	// The IP is counted first: a caller past its own limit does not use up the host's.
	const ok = take(`ip:${ip}`, CIMD_FETCHES_PER_IP, now) && take(`host:${host}`, CIMD_FETCHES_PER_HOST, now);
	if (ok) return null;
	log("warn", "oauth.cimd_limited", { path, host: host.slice(0, 100) });
	const retry = { "Retry-After": String(WINDOW_MS / 1000) };
	if (path === "/token")
		return new Response(
			JSON.stringify({
				error: "invalid_client",
				error_description: "Too many client metadata lookups from this address or for this host; retry after a minute",
			}),
			{ status: 429, headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...retry } },
		);
	const page = renderErrorPage(
		429,
		"Too many sign-in attempts",
		"Too many apps were looked up from your network in the last minute. Wait a minute, then start the sign-in again from the app.",
	);
	for (const [k, v] of Object.entries(retry)) page.headers.set(k, v);
	return page;
}

/** Forgets every counter (tests). */
export function resetCimdCounts(): void {
	counters.clear();
}
