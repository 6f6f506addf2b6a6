/**
 * @module worker/oauth/client-expiry
 * Dynamic client registration is open to anyone (RFC 7591 §3, as MCP clients expect), and every
 * registration is a KV record. The provider expires registered clients after its
 * `clientRegistrationTTL` and renews a client's record when the client gets tokens past half of
 * it. A client registered and never used would still sit in KV for the whole TTL (90 days); a
 * registration flood would keep that many records.
 *
 * So a `POST /register` runs with a KV view whose write of the new client record expires after
 * {@link UNUSED_CLIENT_TTL_SECONDS} (KV deletes it: no sweep needed), with the record's
 * `registrationExpiresAt` stamped to match. The provider's own renewal then gives the client the
 * full {@link CLIENT_REGISTRATION_TTL_SECONDS} at its first successful token response (its stamp
 * is well past half of the full TTL), and again whenever it is half spent while the client keeps
 * refreshing. Nothing else changes for a client that completes a sign-in within a day.
 *
 * The registration response still carries the provider's `client_secret_expires_at` (the full
 * TTL) for confidential clients: it is the expiry of a client in use.
 */

/** Lifetime of a registered client that has never received a token (KV's minimum is 60 s). */
export const UNUSED_CLIENT_TTL_SECONDS = 24 * 3600;
/** Lifetime of a client in use, renewed while it keeps getting tokens (the provider's `clientRegistrationTTL`). */
export const CLIENT_REGISTRATION_TTL_SECONDS = 90 * 24 * 3600;

/**
 * `env` for the provider's registration endpoint: the same bindings, with a KV whose `put` of a
 * `client:` record expires after {@link UNUSED_CLIENT_TTL_SECONDS}.
 *
 * @example
 * ```ts
 * return provider.fetch(request, url.pathname === "/register" ? registrationEnv(env) : env, ctx);
 * ```
 */
export function registrationEnv<E extends { OAUTH_KV: KVNamespace }>(env: E, now: () => number = Date.now): E {
	const kv = env.OAUTH_KV;
	const put = async (key: string, value: string, options?: KVNamespacePutOptions): Promise<void> => {
		if (!key.startsWith("client:") || typeof value !== "string") return kv.put(key, value, options);
		const record = JSON.parse(value) as Record<string, unknown>;
		record.registrationExpiresAt = Math.floor(now() / 1000) + UNUSED_CLIENT_TTL_SECONDS;
		return kv.put(key, JSON.stringify(record), { ...options, expiration: undefined, expirationTtl: UNUSED_CLIENT_TTL_SECONDS });
	};
	const view = new Proxy(kv, {
		get(target, prop) {
			if (prop === "put") return put;
			const v = Reflect.get(target, prop, target) as unknown;
			return typeof v === "function" ? v.bind(target) : v;
		},
	});
	return { ...env, OAUTH_KV: view };
}
