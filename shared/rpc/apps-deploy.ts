/**
 * @module shared/rpc/apps-deploy
 * The types of the kernel's app-management RPC methods (deploy, versions, activation, removal,
 * tenant secrets), listed in `TenantKernel` (`shared/rpc/kernel.ts`) under "Apps: deploy, versions,
 * secrets", and the per-tenant quotas the kernel enforces on them. The front Worker checks and
 * transforms a bundle (`worker/apps/deploy.ts`); the kernel re-verifies what it stores.
 */
import type { AppManifest } from "../apps/manifest";
import type { SealedSecret } from "../apps/secrets-crypto";

/**
 * Per-tenant limits of app management. Bundle sizes as uploaded are `shared/apps/bundle.ts`'s
 * (`MAX_BUNDLE_BYTES`, 1 MiB); what the kernel stores is the bundle after the loop guard.
 */
export const APP_QUOTAS = {
	/** Apps per tenant. */
	apps: 20,
	/** Versions kept per app; beyond it the oldest inactive ones are pruned at deploy. */
	versionsPerApp: 10,
	/**
	 * Largest stored (guarded) bundle: modules' UTF-8 source. The loop guard adds code to every loop
	 * and function, and a version is one SQLite row (2 MB at most), so this is below that.
	 */
	storedBundleBytes: 1_835_008,
	/** Largest manifest, as JSON. */
	manifestBytes: 131_072,
	/** All stored code of the tenant (every version of every app). */
	tenantCodeBytes: 64 * 1024 * 1024,
	/** Secrets per tenant. */
	secrets: 64,
	/** Largest secret value, in UTF-8 bytes (checked before encryption). */
	secretBytes: 4096,
	/** Largest sealed value the kernel takes (base64url of 4 KiB + the GCM tag, with room). */
	sealedChars: 5600,
} as const;

/** What an app declares it may do: what deploys audit and `/account` shows. Never code or secret values. */
export interface AppCapabilities {
	tools: { name: string; scope: "mcp:read" | "mcp:write" }[];
	egress: string[];
	secrets: string[];
}

/** A bundle as the front Worker hands it to the kernel: validated manifest, guarded modules, their hash. */
export interface StoredBundle {
	manifest: AppManifest;
	modules: Record<string, string>;
	/** `bundleHash({ manifest, modules })`: the version id. */
	hash: string;
}

/** What a deploy did. */
export interface DeployOutcome {
	app: string;
	hash: string;
	version: string;
	/** False when this exact version was stored already (an identical deploy). */
	created: boolean;
	/** False when it was the active version already (nothing changed). */
	activated: boolean;
	/** Older inactive versions dropped to stay within {@link APP_QUOTAS.versionsPerApp}. */
	pruned: number;
}

/** One app of the tenant, with its active version. */
export interface AppSummary {
	app: string;
	activeHash: string;
	version: string;
	description?: string;
	updatedAt: number;
	versions: number;
	capabilities: AppCapabilities;
}

/** One stored version of an app. */
export interface AppVersionInfo {
	hash: string;
	version: string;
	bytes: number;
	deployedBy: string;
	deployedAt: number;
	active: boolean;
	capabilities: AppCapabilities;
}

/** A tenant secret as it is listed: name and last change only, never the value. */
export interface SecretInfo {
	name: string;
	updatedAt: number;
}

/** Why an app-management call was refused. `message` says what to do; it never quotes code or secrets. */
export interface AppRefusal {
	reason:
		| "invalid_bundle"
		| "hash_mismatch"
		| "quota"
		| "unknown_app"
		| "unknown_version"
		| "invalid_secret"
		| "unknown_secret"
		| "not_allowed";
	message: string;
}

/** A sealed secret as the kernel stores it. */
export type SealedValue = SealedSecret;

/**
 * The capabilities a manifest declares.
 *
 * @example
 * ```ts
 * capabilitiesOf(manifest); // { tools: [{ name: "convert", scope: "mcp:read" }], egress: [], secrets: [] }
 * ```
 */
export function capabilitiesOf(manifest: Pick<AppManifest, "tools" | "egress" | "secrets">): AppCapabilities {
	return {
		tools: manifest.tools.map((t) => ({ name: t.name, scope: t.scope })),
		egress: [...manifest.egress],
		secrets: [...manifest.secrets],
	};
}

/** One line for the audit trail: `tools: a(mcp:read) b(mcp:write); egress: h1 h2; secrets: S1`. */
export function describeCapabilities(c: AppCapabilities): string {
	const list = (xs: string[]) => (xs.length ? xs.join(" ") : "-");
	return `tools: ${list(c.tools.map((t) => `${t.name}(${t.scope})`))}; egress: ${list(c.egress)}; secrets: ${list(c.secrets)}`;
}
