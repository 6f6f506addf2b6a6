/**
 * @module worker/apps/secrets
 * Sealing tenant secrets before they reach the kernel: the value is checked (name, size) and
 * encrypted here with the deployment's `SMCP_SECRETS_KEY` (AES-256-GCM under a per-tenant HKDF key,
 * `shared/apps/secrets-crypto.ts`, AAD = tenant + "*" + name, the scope the run path opens), so
 * the kernel and its SQLite hold ciphertext only. Values are write-only: nothing here returns one.
 */
import { SECRET_NAME } from "../../shared/apps/manifest";
import { encryptSecret, loadSecretKeys, type SealedSecret, type SecretsKeyEnv } from "../../shared/apps/secrets-crypto";
import { utf8Length } from "../../shared/apps/bundle";
import { APP_QUOTAS } from "../../shared/rpc/apps-deploy";
import { MIN_REDACTED } from "./redact";

let cached: { source: string; keys: ReturnType<typeof loadSecretKeys> } | undefined;

/** The deployment's secret keys, imported once per isolate (again when the secrets change). */
function keysOf(env: SecretsKeyEnv): ReturnType<typeof loadSecretKeys> {
	const source = `${env.SMCP_SECRETS_KEY ?? ""}\u0000${env.SMCP_SECRETS_KEY_PREVIOUS ?? ""}`;
	if (cached?.source !== source) cached = { source, keys: loadSecretKeys(env) };
	return cached.keys;
}

/**
 * Checks and seals one secret value for `tenantId`.
 *
 * @example
 * ```ts
 * const s = await sealSecret(env, tenantId, "WEATHER_API_KEY", value);
 * if (s.ok) await kernel.setSecret(actor, "WEATHER_API_KEY", s.sealed);
 * ```
 */
export async function sealSecret(
	env: SecretsKeyEnv,
	tenantId: string,
	name: unknown,
	value: unknown,
): Promise<{ ok: true; sealed: SealedSecret } | { ok: false; status: 400 | 503; error: string; message: string }> {
	if (typeof name !== "string" || !SECRET_NAME.test(name))
		return {
			ok: false,
			status: 400,
			error: "invalid_secret",
			message: "secret names are upper-case: a letter, then up to 63 letters, digits or _ (e.g. WEATHER_API_KEY)",
		};
	if (typeof value !== "string" || value.length === 0)
		return { ok: false, status: 400, error: "invalid_secret", message: 'send the value as a non-empty string: {"value": "…"}' };
	// Shorter values are not redacted from app output (they would match ordinary words): refuse them.
	if (value.length < MIN_REDACTED)
		return { ok: false, status: 400, error: "invalid_secret", message: `a secret value has at least ${MIN_REDACTED} characters` };
	if (utf8Length(value) > APP_QUOTAS.secretBytes)
		return { ok: false, status: 400, error: "invalid_secret", message: `a secret value is at most ${APP_QUOTAS.secretBytes} bytes` };
	const keys = await keysOf(env);
	if (!keys.ok)
		return {
			ok: false,
			status: 503,
			error: "secrets_unavailable",
			message: "this deployment cannot store secrets: the operator must set SMCP_SECRETS_KEY (wrangler secret put SMCP_SECRETS_KEY)",
		};
	return { ok: true, sealed: await encryptSecret(keys.keys, tenantId, name, value) };
}
