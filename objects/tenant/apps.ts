/**
 * @module objects/tenant/apps
 * The kernel's app management: storing immutable app versions, choosing the active one, removing an
 * app with everything it owns, and the tenant's sealed secrets (docs/apps.md "Deploy"). Synchronous
 * SQL functions over the tables of `apps-schema.ts`, called by `TenantObject` inside its
 * transactions, so a change and its audit row commit together.
 *
 * The front Worker checks a bundle (manifest, syntax, secret scan, code rules, egress policy),
 * applies the loop guard and dry-loads it (`worker/apps/deploy.ts`). The kernel does not trust that
 * work blindly: {@link checkStoredBundle} re-validates the manifest, the sizes and the guard's
 * presence, and the kernel re-computes the content hash before anything is stored or activated.
 * Secrets arrive sealed (AES-256-GCM, `shared/apps/secrets-crypto.ts`): the kernel never holds a
 * secret in the clear and never returns a sealed value from these functions.
 */
import { canonicalJson, isModulePath, MAX_MODULES, utf8Length } from "../../shared/apps/bundle";
import { GUARD_MODULE, GUARD_PRELUDE } from "../../shared/apps/guard-prelude";
import { APP_NAME, SECRET_NAME, validateManifest, type AppManifest } from "../../shared/apps/manifest";
import { err, ok, type Result } from "../../shared/errors";
import {
	APP_QUOTAS,
	capabilitiesOf,
	describeCapabilities,
	type AppRefusal,
	type AppSummary,
	type AppVersionInfo,
	type DeployOutcome,
	type SealedValue,
	type SecretInfo,
	type StoredBundle,
} from "../../shared/rpc/apps-deploy";

/** Writes one audit row of an app-management event (the kernel's, in the same transaction). */
export type AuditNote = (method: string, outcome: string) => void;

const HASH = /^[0-9a-f]{64}$/;
const refuse = (reason: AppRefusal["reason"], message: string) => err<AppRefusal>({ reason, message });

/**
 * Re-checks a bundle the front Worker prepared, before its hash is re-computed: a manifest that is
 * its own validated form, module paths and sizes within the quotas, the loop guard's prelude and
 * its import in every module. Null when it may be stored.
 */
export function checkStoredBundle(b: unknown, options: { allowLoopback: boolean }): AppRefusal | null {
	const bad = (message: string): AppRefusal => ({ reason: "invalid_bundle", message });
	const bundle = b as Partial<StoredBundle> | null;
	if (!bundle || typeof bundle !== "object" || typeof bundle.hash !== "string" || !HASH.test(bundle.hash))
		return bad("the bundle has no valid content hash");
	const modules = bundle.modules;
	if (!modules || typeof modules !== "object" || Array.isArray(modules)) return bad("the bundle has no modules");
	const v = validateManifest(bundle.manifest, options);
	if (!v.ok) return bad(`the manifest is invalid: ${v.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`.slice(0, 1000));
	// The stored manifest must be exactly its validated form, so the same app always hashes the same.
	const manifestJson = canonicalJson(bundle.manifest);
	if (manifestJson !== canonicalJson(v.manifest)) return bad("the manifest is not in its validated form (defaults filled in)");
	if (utf8Length(manifestJson) > APP_QUOTAS.manifestBytes)
		return bad(`the manifest is over ${APP_QUOTAS.manifestBytes} bytes: shorten descriptions and schemas`);
	const names = Object.keys(modules);
	if (names.length > MAX_MODULES + 1) return bad(`the bundle has more than ${MAX_MODULES} modules`);
	if (modules[GUARD_MODULE] !== GUARD_PRELUDE)
		return bad("the bundle lacks the platform's loop guard: deploy it through SMCP's deploy API");
	let total = 0;
	for (const name of names) {
		const source = modules[name];
		if (typeof source !== "string") return bad(`module ${name.slice(0, 128)} is not source text`);
		if (name !== GUARD_MODULE && !isModulePath(name)) return bad(`module path "${name.slice(0, 128)}" is not allowed`);
		if (name !== GUARD_MODULE && !source.includes(GUARD_MODULE)) return bad(`module ${name} is not guarded`);
		total += utf8Length(source);
	}
	if (!(v.manifest.main in modules)) return bad(`the manifest's main module "${v.manifest.main}" is not in the bundle`);
	if (total > APP_QUOTAS.storedBundleBytes)
		return {
			reason: "quota",
			message: `with the loop guard the bundle is ${total} bytes; a stored version may have at most ${APP_QUOTAS.storedBundleBytes}: minify or split less`,
		};
	return null;
}

/**
 * Stores a checked version (hash already re-computed by the caller) and makes it active; prunes the
 * app's oldest inactive versions beyond {@link APP_QUOTAS.versionsPerApp}. An identical deploy
 * (same hash) stores nothing new and only activates.
 */
export function deployVersion(
	sql: SqlStorage,
	note: AuditNote,
	actor: string,
	b: StoredBundle,
	now: number,
): Result<DeployOutcome, AppRefusal> {
	const app = b.manifest.name;
	const exists = sql.exec("SELECT 1 FROM app_versions WHERE app = ? AND hash = ?", app, b.hash).toArray().length > 0;
	const active = sql.exec<{ active_hash: string }>("SELECT active_hash FROM apps WHERE app = ?", app).toArray()[0];
	if (!active) {
		const apps = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM apps").one().n;
		if (apps >= APP_QUOTAS.apps)
			return refuse("quota", `this workspace has ${apps} apps, the most it may have: remove one first (smcp apps remove)`);
	}
	const bytes = Object.values(b.modules).reduce((n, s) => n + utf8Length(s), 0);
	if (!exists) {
		const used = sql.exec<{ n: number }>("SELECT COALESCE(SUM(bytes), 0) AS n FROM app_versions").one().n;
		if (used + bytes > APP_QUOTAS.tenantCodeBytes)
			return refuse(
				"quota",
				`the workspace's stored code would be ${used + bytes} bytes, over ${APP_QUOTAS.tenantCodeBytes}: remove unused apps first`,
			);
		sql.exec(
			"INSERT INTO app_versions (app, hash, version, manifest, modules, bytes, deployed_by, deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			app,
			b.hash,
			b.manifest.version,
			JSON.stringify(b.manifest),
			JSON.stringify(b.modules),
			bytes,
			actor.slice(0, 200),
			now,
		);
	}
	const activated = active?.active_hash !== b.hash;
	if (activated) sql.exec("INSERT OR REPLACE INTO apps (app, active_hash, updated_at) VALUES (?, ?, ?)", app, b.hash, now);
	const pruned = pruneVersions(sql, app);
	note(
		"app/deploy",
		`${app} v${b.manifest.version} ${b.hash}${exists ? (activated ? " (stored version re-activated)" : " (unchanged)") : ""}; ` +
			describeCapabilities(capabilitiesOf(b.manifest)),
	);
	return ok({ app, hash: b.hash, version: b.manifest.version, created: !exists, activated, pruned });
}

/** Drops the oldest inactive versions of `app` beyond the quota; returns how many. */
function pruneVersions(sql: SqlStorage, app: string): number {
	const stale = sql
		.exec<{ hash: string }>(
			`SELECT v.hash FROM app_versions v LEFT JOIN apps a ON a.app = v.app AND a.active_hash = v.hash
			 WHERE v.app = ? AND a.app IS NULL ORDER BY v.deployed_at DESC, v.hash LIMIT -1 OFFSET ?`,
			app,
			APP_QUOTAS.versionsPerApp - 1,
		)
		.toArray();
	for (const s of stale) sql.exec("DELETE FROM app_versions WHERE app = ? AND hash = ?", app, s.hash);
	return stale.length;
}

/** A stored version's manifest and modules (for hash verification before activation), or null. */
export function readVersion(sql: SqlStorage, app: string, hash: string): { manifest: unknown; modules: Record<string, string> } | null {
	const row = sql
		.exec<{ manifest: string; modules: string }>("SELECT manifest, modules FROM app_versions WHERE app = ? AND hash = ?", app, hash)
		.toArray()[0];
	if (!row) return null;
	try {
		return { manifest: JSON.parse(row.manifest), modules: JSON.parse(row.modules) };
	} catch {
		return { manifest: null, modules: {} };
	}
}

/** Makes a stored, verified version the active one (roll back or promote). */
export function activateVersion(
	sql: SqlStorage,
	note: AuditNote,
	app: string,
	hash: string,
	now: number,
): Result<{ app: string; hash: string; version: string; changed: boolean }, AppRefusal> {
	const row = sql
		.exec<{ version: string; manifest: string }>("SELECT version, manifest FROM app_versions WHERE app = ? AND hash = ?", app, hash)
		.toArray()[0];
	if (!row) return refuse("unknown_version", `app ${app} has no version ${hash.slice(0, 12)}: list them with smcp apps versions ${app}`);
	const current = sql.exec<{ active_hash: string }>("SELECT active_hash FROM apps WHERE app = ?", app).toArray()[0];
	const changed = current?.active_hash !== hash;
	if (changed) {
		sql.exec("INSERT OR REPLACE INTO apps (app, active_hash, updated_at) VALUES (?, ?, ?)", app, hash, now);
		const manifest = JSON.parse(row.manifest) as AppManifest;
		note(
			"app/activate",
			`${app} v${row.version} ${hash} (was ${current?.active_hash ?? "none"}); ${describeCapabilities(capabilitiesOf(manifest))}`,
		);
	}
	return ok({ app, hash, version: row.version, changed });
}

/** Removes an app: its versions, its active pointer, its storage and its log. */
export function removeApp(sql: SqlStorage, note: AuditNote, app: string): Result<{ app: string; versions: number }, AppRefusal> {
	const active = sql.exec<{ active_hash: string }>("SELECT active_hash FROM apps WHERE app = ?", app).toArray()[0];
	const count = (table: string) => sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE app = ?`, app).one().n;
	const versions = count("app_versions");
	if (!active && versions === 0) return refuse("unknown_app", `there is no app ${app} in this workspace: smcp apps list shows them`);
	const keys = count("app_kv");
	sql.exec("DELETE FROM app_versions WHERE app = ?", app);
	sql.exec("DELETE FROM apps WHERE app = ?", app);
	sql.exec("DELETE FROM app_kv WHERE app = ?", app);
	sql.exec("DELETE FROM app_logs WHERE app = ?", app);
	note("app/remove", `${app} (was ${active?.active_hash ?? "none"}); ${versions} versions, ${keys} storage keys deleted`);
	return ok({ app, versions });
}

/** The tenant's apps with their active versions, by name. */
export function listApps(sql: SqlStorage): AppSummary[] {
	return sql
		.exec<{ app: string; active_hash: string; updated_at: number; version: string; manifest: string; n: number }>(
			`SELECT a.app, a.active_hash, a.updated_at, v.version, v.manifest,
			   (SELECT COUNT(*) FROM app_versions x WHERE x.app = a.app) AS n
			 FROM apps a JOIN app_versions v ON v.app = a.app AND v.hash = a.active_hash ORDER BY a.app`,
		)
		.toArray()
		.map((r) => {
			const m = JSON.parse(r.manifest) as AppManifest;
			return {
				app: r.app,
				activeHash: r.active_hash,
				version: r.version,
				...(m.description ? { description: m.description } : {}),
				updatedAt: r.updated_at,
				versions: r.n,
				capabilities: capabilitiesOf(m),
			};
		});
}

/** An app's stored versions, newest first; null when there is no such app. */
export function listVersions(sql: SqlStorage, app: string): AppVersionInfo[] | null {
	const active = sql.exec<{ active_hash: string }>("SELECT active_hash FROM apps WHERE app = ?", app).toArray()[0]?.active_hash;
	const rows = sql
		.exec<{ hash: string; version: string; bytes: number; deployed_by: string; deployed_at: number; manifest: string }>(
			"SELECT hash, version, bytes, deployed_by, deployed_at, manifest FROM app_versions WHERE app = ? ORDER BY deployed_at DESC, hash",
			app,
		)
		.toArray();
	if (rows.length === 0 && !active) return null;
	return rows.map((r) => ({
		hash: r.hash,
		version: r.version,
		bytes: r.bytes,
		deployedBy: r.deployed_by,
		deployedAt: r.deployed_at,
		active: r.hash === active,
		capabilities: capabilitiesOf(JSON.parse(r.manifest) as AppManifest),
	}));
}

/** Whether `app` is a well-formed app name (the RPC methods refuse others before any SQL). */
export const isAppName = (app: unknown): app is string => typeof app === "string" && APP_NAME.test(app);
/** Whether `hash` is a well-formed version id. */
export const isVersionHash = (hash: unknown): hash is string => typeof hash === "string" && HASH.test(hash);

/** Stores (or replaces) a sealed tenant secret. */
export function putSecret(
	sql: SqlStorage,
	note: AuditNote,
	name: string,
	sealed: SealedValue,
	now: number,
): Result<SecretInfo, AppRefusal> {
	if (typeof name !== "string" || !SECRET_NAME.test(name))
		return refuse("invalid_secret", "secret names are upper-case: a letter, then up to 63 letters, digits or _ (e.g. WEATHER_API_KEY)");
	const fields = [sealed?.kid, sealed?.iv, sealed?.ct];
	if (!fields.every((f) => typeof f === "string" && /^[A-Za-z0-9_-]+$/.test(f)) || sealed.ct.length > APP_QUOTAS.sealedChars)
		return refuse("invalid_secret", `a secret value is at most ${APP_QUOTAS.secretBytes} bytes`);
	const exists = sql.exec("SELECT 1 FROM app_secrets WHERE name = ?", name).toArray().length > 0;
	if (!exists) {
		const n = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM app_secrets").one().n;
		if (n >= APP_QUOTAS.secrets) return refuse("quota", `this workspace has ${n} secrets, the most it may have: delete unused ones first`);
	}
	sql.exec(
		"INSERT OR REPLACE INTO app_secrets (name, kid, iv, ct, updated_at) VALUES (?, ?, ?, ?, ?)",
		name,
		sealed.kid,
		sealed.iv,
		sealed.ct,
		now,
	);
	note(exists ? "app/secret_rotated" : "app/secret_set", name);
	return ok({ name, updatedAt: now });
}

/** Deletes a tenant secret. */
export function dropSecret(sql: SqlStorage, note: AuditNote, name: string): Result<{ name: string }, AppRefusal> {
	if (typeof name !== "string" || !SECRET_NAME.test(name)) return refuse("invalid_secret", "not a secret name");
	if (sql.exec("SELECT 1 FROM app_secrets WHERE name = ?", name).toArray().length === 0)
		return refuse("unknown_secret", `there is no secret ${name}: smcp secrets list shows them`);
	sql.exec("DELETE FROM app_secrets WHERE name = ?", name);
	note("app/secret_deleted", name);
	return ok({ name });
}

/** The tenant's secrets by name: name and last change, never a value or a ciphertext. */
export function listSecretNames(sql: SqlStorage): SecretInfo[] {
	return sql
		.exec<{ name: string; updated_at: number }>("SELECT name, updated_at FROM app_secrets ORDER BY name")
		.toArray()
		.map((r) => ({ name: r.name, updatedAt: r.updated_at }));
}
