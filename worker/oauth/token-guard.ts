/**
 * @module worker/oauth/token-guard
 * Hardening of the token endpoint's authorization-code grant, in front of the OAuth provider
 * (docs/security.md attack 27; the provider does neither):
 *
 * - RFC 7636 §4.1: `code_verifier` is 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." /
 *   "_" / "~"`. Anything else is `invalid_grant` without touching the code.
 * - A code that has seen {@link MAX_VERIFIER_FAILURES} wrong verifiers is burned: every later
 *   exchange is `invalid_grant`, so a stolen code cannot be brute-forced online. Failures are
 *   counted in KV by the code's SHA-256 (never the code), for the code's 10-minute lifetime.
 *
 * KV has no compare-and-swap, so a burst of wrong verifiers sent at the same instant can each read
 * the same count: the bound is "5 sequential failures", and concurrent guessing is further limited
 * by the per-IP limit on /token. A verifier is 256 bits of entropy for a well-behaved client, so
 * online guessing is not a practical attack either way; this is defence in depth.
 *
 * Every token request is first checked for identifiers longer than any issued one (`client_id`,
 * `code`, `refresh_token`, `subject_token`): `worker/oauth/identifiers.ts` refuses them before
 * the provider builds a KV key from them.
 */
import type { Env } from "../../shared/env";
import { oversizedTokenRequest } from "./identifiers";

export const MAX_VERIFIER_FAILURES = 5;
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const COUNT_TTL_SECONDS = 600;

const invalidGrant = () =>
	new Response(JSON.stringify({ error: "invalid_grant", error_description: "Invalid authorization code or code verifier" }), {
		status: 400,
		headers: { "Content-Type": "application/json", "Cache-Control": "no-store", Pragma: "no-cache" },
	});

async function codeKey(code: string): Promise<string> {
	const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(code)));
	return `pkce-fail:${[...d].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Runs `next` (the provider) for a token request, applying the checks above to code exchanges.
 *
 * @example
 * ```ts
 * if (url.pathname === "/token") return guardTokenRequest(request, env, () => provider.fetch(request, env, ctx));
 * ```
 */
export async function guardTokenRequest(request: Request, env: Env, next: () => Promise<Response>): Promise<Response> {
	if (request.method !== "POST") return next();
	// Media types are case-insensitive (RFC 9110 §8.3.1), and the provider lowercases before parsing.
	const isForm = (request.headers.get("Content-Type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
	const form = isForm ? new URLSearchParams(new TextDecoder().decode(await request.clone().arrayBuffer())) : null;
	const refused = oversizedTokenRequest(form, request.headers.get("Authorization"));
	if (refused) return refused;
	if (form?.get("grant_type") !== "authorization_code") return next();
	const code = form.get("code");
	const verifier = form.get("code_verifier");
	if (verifier !== null && !VERIFIER.test(verifier)) return invalidGrant();
	if (!code) return next();
	const key = await codeKey(code);
	const failures = Number((await env.OAUTH_KV.get(key)) ?? 0);
	if (failures >= MAX_VERIFIER_FAILURES) return invalidGrant();
	const response = await next();
	if (response.status === 400 && verifier !== null) {
		const body = (await response
			.clone()
			.json()
			.catch(() => ({}))) as { error?: string };
		if (body.error === "invalid_grant") await env.OAUTH_KV.put(key, String(failures + 1), { expirationTtl: COUNT_TTL_SECONDS });
	}
	return response;
}

/**
 * The grant a `POST /token` names, when it may revoke it: an RFC 7009 revocation (`token`) or an
 * authorization-code exchange (the provider revokes the grant of a replayed code). Tokens and
 * codes are `userId:grantId:secret`; anything else names none. Reads a clone (the guard capped
 * the body).
 */
export async function grantNamedByTokenRequest(request: Request): Promise<string | null> {
	if (
		request.method !== "POST" ||
		!(request.headers.get("Content-Type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")
	)
		return null;
	let form: URLSearchParams;
	try {
		form = new URLSearchParams(await request.clone().text());
	} catch {
		return null;
	}
	const named = form.get("token") ?? (form.get("grant_type") === "authorization_code" ? form.get("code") : null);
	const parts = named?.split(":");
	return parts?.length === 3 && parts[1] && /^[A-Za-z0-9_-]{1,128}$/.test(parts[1]) ? parts[1] : null;
}
