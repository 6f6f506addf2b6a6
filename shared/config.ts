/**
 * @module shared/config
 * Resolves the deployment's configuration from `env` once per isolate, validating it with
 * messages that say what is wrong and how to fix it. Security options default to safe.
 */
import type { Env } from "./env";

/** The resolved configuration. */
export interface Config {
	/** Canonical origin, e.g. `https://mcp.example.com`; the OAuth resource identifier. */
	origin: string;
	/** Hosts (`host[:port]`) the Worker answers to; anything else gets 403. */
	allowedHosts: ReadonlySet<string>;
	/** Origins whose browser requests are accepted; anything else gets 403. */
	allowedOrigins: ReadonlySet<string>;
	maxBodyBytes: number;
	secret: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
let cached: { key: string; config: Config } | undefined;

/** Whether a hostname is a loopback name (RFC 8252 §7.3). */
export function isLoopbackHost(hostname: string): boolean {
	return LOOPBACK.test(hostname);
}

/**
 * Reads and checks the configuration. Throws a `TypeError` naming the variable and the fix when
 * something is missing or malformed; the Worker turns that into a generic 500 and logs the text.
 */
export function resolveConfig(env: Env): Config {
	const key = JSON.stringify([env.SMCP_PUBLIC_ORIGIN, env.SMCP_ALLOWED_ORIGINS, env.SMCP_MAX_BODY_BYTES, env.SMCP_SECRET]);
	if (cached?.key === key) return cached.config;

	let url: URL;
	try {
		url = new URL(env.SMCP_PUBLIC_ORIGIN);
	} catch {
		throw new TypeError("SMCP_PUBLIC_ORIGIN must be an absolute origin such as https://mcp.example.com (set it in wrangler.jsonc vars)");
	}
	if (url.origin !== env.SMCP_PUBLIC_ORIGIN.replace(/\/$/, "")) {
		throw new TypeError(
			`SMCP_PUBLIC_ORIGIN must be a canonical origin: lower-case host, no default port, no path (got "${env.SMCP_PUBLIC_ORIGIN}", expected "${url.origin}")`,
		);
	}
	const loopback = isLoopbackHost(url.hostname);
	if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
		throw new TypeError("SMCP_PUBLIC_ORIGIN must use https (http is accepted only on a loopback host, for wrangler dev)");
	}
	const secret = env.SMCP_SECRET ?? "";
	if (secret.length < 32) {
		throw new TypeError(
			"SMCP_SECRET is missing or shorter than 32 characters: run `wrangler secret put SMCP_SECRET` (or let `npm run dev` create .dev.vars)",
		);
	}

	const allowedHosts = new Set([url.host]);
	const allowedOrigins = new Set([url.origin]);
	if (loopback) {
		// wrangler dev answers on both names; a browser may use either.
		for (const name of ["127.0.0.1", "localhost"]) {
			const alias = `${name}${url.port ? `:${url.port}` : ""}`;
			allowedHosts.add(alias);
			allowedOrigins.add(`${url.protocol}//${alias}`);
		}
	}
	for (const o of (env.SMCP_ALLOWED_ORIGINS ?? "")
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean)) {
		if (o === "*") throw new TypeError("SMCP_ALLOWED_ORIGINS must list origins; '*' is refused (credentialed CORS never uses a wildcard)");
		let parsed: URL | undefined;
		try {
			parsed = new URL(o);
		} catch {
			parsed = undefined;
		}
		// An entry without a real (tuple) origin serialises as "null", which would let sandboxed
		// frames and data: pages (Origin: null) through. Refuse it instead.
		if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.origin === "null") {
			throw new TypeError(`SMCP_ALLOWED_ORIGINS entry "${o}" is not an http(s) origin such as https://app.example.com`);
		}
		allowedOrigins.add(parsed.origin);
	}
	const maxBodyBytes = env.SMCP_MAX_BODY_BYTES === undefined ? 4 * 1024 * 1024 : Number(env.SMCP_MAX_BODY_BYTES);
	if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) throw new TypeError("SMCP_MAX_BODY_BYTES must be an integer ≥ 1024");

	const config: Config = { origin: url.origin, allowedHosts, allowedOrigins, maxBodyBytes, secret };
	cached = { key, config };
	return config;
}
