/**
 * @module test/integration/apps-helpers
 * Test-only plumbing for hosted apps inside workerd: a version written straight into a tenant's
 * kernel tables (as a deploy stores it), a secret sealed as the platform seals it, a mock of the
 * outside network that records what left, and small readers of the audit trail and app logs.
 */
import { runInDurableObject } from "cloudflare:test";
import { vi } from "vitest";
import { bundleHash } from "../../shared/apps/bundle";
import { validateManifest, type AppManifestInput } from "../../shared/apps/manifest";
import { encryptSecret, loadSecretKeys } from "../../shared/apps/secrets-crypto";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import type { AppLogLine } from "../../shared/rpc/apps";
import { testEnv } from "./helpers";

export const kernel = (tenantId: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));

/** Minimal `defineApp` for test bundles (the SDK's is the same shape). */
export const DEFINE_APP = `export const defineApp = (app) => Object.freeze({ smcp: 1, tools: Object.freeze({ ...app.tools }) });
export class AppError extends Error { constructor(m) { super(m); this.name = "AppError"; } }
`;

/** Writes a version and makes it active, as a deploy would; returns its content hash. */
export async function installApp(tenantId: string, manifestIn: AppManifestInput, modules: Record<string, string>): Promise<string> {
	const v = validateManifest(manifestIn, { allowLoopback: true });
	if (!v.ok) throw new Error(`test manifest: ${JSON.stringify(v.errors)}`);
	const manifest = v.manifest;
	const hash = await bundleHash({ manifest, modules });
	const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
	await runInDurableObject(stub, (_o: TenantObject, state) => {
		const sql = state.storage.sql;
		sql.exec(
			"INSERT OR REPLACE INTO app_versions (app, hash, version, manifest, modules, bytes, deployed_by, deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			manifest.name,
			hash,
			manifest.version,
			JSON.stringify(manifest),
			JSON.stringify(modules),
			JSON.stringify(modules).length,
			"test",
			Date.now(),
		);
		sql.exec("INSERT OR REPLACE INTO apps (app, active_hash, updated_at) VALUES (?, ?, ?)", manifest.name, hash, Date.now());
	});
	return hash;
}

/** Seals and stores a tenant secret. */
export async function setSecret(tenantId: string, name: string, value: string): Promise<void> {
	const keys = await loadSecretKeys(testEnv as never);
	if (!keys.ok) throw new Error(keys.message);
	const sealed = await encryptSecret(keys.keys, tenantId, name, value);
	await runInDurableObject(kernel(tenantId), (_o: TenantObject, state) => {
		state.storage.sql.exec(
			"INSERT OR REPLACE INTO app_secrets (name, kid, iv, ct, updated_at) VALUES (?, ?, ?, ?, ?)",
			name,
			sealed.kid,
			sealed.iv,
			sealed.ct,
			Date.now(),
		);
	});
}

/** A request that reached the (mock) outside network. */
export interface Outbound {
	url: string;
	method: string;
	headers: Record<string, string>;
}

/**
 * Replaces the Worker's outbound `fetch` (the egress gateway's way out) with a mock network:
 * `routes` answer by URL; every other URL is recorded and answered 599, so a leak shows in `sent`.
 */
export function mockNetwork(routes: Record<string, () => Response>): { sent: Outbound[]; restore: () => void } {
	const sent: Outbound[] = [];
	const real = globalThis.fetch;
	const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
		const request = new Request(input, init);
		const url = new URL(request.url);
		// Only the mock's hosts; the Worker's own origin (SELF) never goes through globalThis.fetch.
		sent.push({ url: request.url, method: request.method, headers: Object.fromEntries(request.headers) });
		const route = routes[`${url.origin}${url.pathname}`];
		return route ? route() : new Response("not a mock route", { status: 599 });
	});
	return { sent, restore: () => (spy.mockRestore(), void real) };
}

/** The tenant's newest audit rows. */
export async function auditRows(tenantId: string, limit = 50) {
	return kernel(tenantId).recentAudit(limit);
}

/** An app's log, waiting a little for the tail (it arrives after the call). */
export async function appLogs(tenantId: string, app: string, atLeast = 1): Promise<AppLogLine[]> {
	for (let i = 0; i < 40; i++) {
		const lines = await kernel(tenantId).readAppLogs(app, 200);
		if (lines.length >= atLeast) return lines;
		await new Promise((r) => setTimeout(r, 25));
	}
	return kernel(tenantId).readAppLogs(app, 200);
}
