/**
 * @module shared/mcp/hosted-catalog
 * The tenant's hosted tools as each lane lists them: fetched from the kernel (`hostedTools()`,
 * whose `epoch` changes with every deploy, rollback or removal) and kept per isolate for a few
 * seconds, so a burst of `tools/list` costs one kernel request. Listing filters by the caller's
 * scopes, as the built-in tools' listing does.
 */
import type { HostedCatalog, HostedToolEntry } from "../rpc/apps";
import { hasScope } from "../rpc/principal";

/** How long an isolate reuses a tenant's hosted catalog. A deploy shows within this time. */
export const HOSTED_CATALOG_TTL_MS = 2_000;
/** Most tenants whose catalog one isolate keeps. */
const MAX_TENANTS = 500;

const cache = new Map<string, { at: number; catalog: HostedCatalog }>();

/**
 * The tenant's hosted catalog, from this isolate's copy when fresh. A kernel that fails to answer
 * (or an older build without the method) yields an empty catalog: built-in tools still list.
 *
 * @example
 * ```ts
 * const hosted = await hostedCatalog(principal.tenantId, () => tenant.hostedTools());
 * ```
 */
export async function hostedCatalog(tenantId: string, load: () => Promise<HostedCatalog>): Promise<HostedCatalog> {
	const now = Date.now();
	const hit = cache.get(tenantId);
	if (hit && now - hit.at < HOSTED_CATALOG_TTL_MS) return hit.catalog;
	let catalog: HostedCatalog;
	try {
		catalog = await load();
		if (!catalog || !Array.isArray(catalog.tools)) catalog = { epoch: "none", tools: [] };
	} catch {
		return hit?.catalog ?? { epoch: "none", tools: [] };
	}
	if (cache.size >= MAX_TENANTS) cache.delete(cache.keys().next().value as string);
	cache.set(tenantId, { at: now, catalog });
	return catalog;
}

/** Forgets this isolate's copy of a tenant's catalog (after a change this isolate made). */
export function forgetHostedCatalog(tenantId: string): void {
	cache.delete(tenantId);
}

/** The entries a caller with `scopes` may call, as `tools/list` shows them (no `scope` field). */
export function hostedToolList(catalog: HostedCatalog, scopes: readonly string[]): Omit<HostedToolEntry, "scope">[] {
	return catalog.tools.filter((t) => hasScope(scopes, t.scope)).map(({ scope: _s, ...entry }) => entry);
}
