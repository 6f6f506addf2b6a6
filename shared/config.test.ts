import { describe, expect, it } from "vitest";
import { isLoopbackHost, resolveConfig } from "./config";
import type { Env } from "./env";

/**
 * resolveConfig caches on its inputs, so every test builds a distinct secret: a cached result can
 * never stand in for the case under test.
 */
let n = 0;
function env(
	vars: Partial<Record<"SMCP_PUBLIC_ORIGIN" | "SMCP_ALLOWED_ORIGINS" | "SMCP_MAX_BODY_BYTES" | "SMCP_SECRET", string | undefined>>,
): Env {
	n++;
	return { SMCP_SECRET: `unit-secret-${n}-0123456789abcdef0123456789abcdef`, ...vars } as unknown as Env;
}

describe("resolveConfig: origin", () => {
	it("accepts an https origin and allows exactly its host and origin", () => {
		const c = resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://mcp.example.com" }));
		expect(c.origin).toBe("https://mcp.example.com");
		expect([...c.allowedHosts]).toEqual(["mcp.example.com"]);
		expect([...c.allowedOrigins]).toEqual(["https://mcp.example.com"]);
		expect(c.maxBodyBytes).toBe(4 * 1024 * 1024);
	});

	it("accepts a trailing slash", () => {
		expect(resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://mcp.example.com/" })).origin).toBe("https://mcp.example.com");
	});

	it("keeps a non-default port in the host", () => {
		const c = resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://mcp.example.com:8443" }));
		expect([...c.allowedHosts]).toEqual(["mcp.example.com:8443"]);
	});

	it("accepts http on loopback and adds 127.0.0.1 and localhost aliases with the port", () => {
		const c = resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "http://127.0.0.1:8787" }));
		expect(c.origin).toBe("http://127.0.0.1:8787");
		expect([...c.allowedHosts].sort()).toEqual(["127.0.0.1:8787", "localhost:8787"]);
		expect([...c.allowedOrigins].sort()).toEqual(["http://127.0.0.1:8787", "http://localhost:8787"]);
	});

	it("adds port-less aliases for a loopback origin without a port", () => {
		const c = resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "http://localhost" }));
		expect([...c.allowedHosts].sort()).toEqual(["127.0.0.1", "localhost"]);
		expect([...c.allowedOrigins].sort()).toEqual(["http://127.0.0.1", "http://localhost"]);
	});

	it.each(["http://mcp.example.com", "http://10.0.0.1:8787", "http://localhost.evil.example", "http://127.0.0.1.nip.io"])(
		"rejects http on a non-loopback host %s (token interception)",
		(origin) => {
			expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: origin }))).toThrow(/https/);
		},
	);

	it.each(["https://mcp.example.com/mcp", "https://mcp.example.com/?a=1", "https://user@mcp.example.com", "https://mcp.example.com#x"])(
		"rejects an origin with a path, query, userinfo or fragment: %s",
		(origin) => {
			expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: origin }))).toThrow(/canonical origin/);
		},
	);

	it("rejects a missing or relative origin with an actionable message", () => {
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "mcp.example.com" }))).toThrow(TypeError);
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: undefined }))).toThrow(/SMCP_PUBLIC_ORIGIN/);
	});

	it("rejects a non-http scheme", () => {
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "ftp://mcp.example.com" }))).toThrow(TypeError);
	});
});

describe("resolveConfig: secret", () => {
	it.each([
		["missing", undefined],
		["empty", ""],
		["31 characters", "s".repeat(31)],
	])("rejects a %s SMCP_SECRET and names the fix", (_label, secret) => {
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://secret.example", SMCP_SECRET: secret }))).toThrow(
			/wrangler secret put SMCP_SECRET/,
		);
	});

	it("accepts a 32-character secret and never echoes it in errors", () => {
		const secret = `${"k".repeat(31)}1`;
		expect(resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://secret2.example", SMCP_SECRET: secret })).secret).toBe(secret);
		const shortSecret = "do-not-log-this-secret";
		try {
			resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://secret3.example", SMCP_SECRET: shortSecret }));
			expect.unreachable();
		} catch (e) {
			expect((e as Error).message).not.toContain(shortSecret);
		}
	});
});

describe("resolveConfig: SMCP_ALLOWED_ORIGINS", () => {
	it("parses a comma-separated list, trimming and normalising to origins", () => {
		const c = resolveConfig(
			env({
				SMCP_PUBLIC_ORIGIN: "https://mcp.example.com",
				SMCP_ALLOWED_ORIGINS: " https://app.example.com , https://other.example:444/path ,,",
			}),
		);
		expect([...c.allowedOrigins].sort()).toEqual(["https://app.example.com", "https://mcp.example.com", "https://other.example:444"]);
		expect([...c.allowedHosts]).toEqual(["mcp.example.com"]);
	});

	it.each(["*", "https://app.example.com,*", " * "])("refuses a wildcard %j (credentialed CORS wildcard)", (list) => {
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://mcp.example.com", SMCP_ALLOWED_ORIGINS: list }))).toThrow(
			/'\*' is refused/,
		);
	});

	it("rejects an entry that is not a URL", () => {
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://mcp.example.com", SMCP_ALLOWED_ORIGINS: "not a url" }))).toThrow(
			TypeError,
		);
	});

	// An entry whose URL has an opaque origin (a typo without a scheme such as "localhost:3000", or
	// "chrome-extension://id") would serialise as "null" and let `Origin: null` (sandboxed iframes,
	// data: pages) through; such entries are refused outright.
	it.each(["localhost:3000", "chrome-extension://abcdef", "file:///x", "data:text/html,x"])(
		'never allows the opaque origin "null" (Origin: null from a sandboxed iframe): %s is refused',
		(entry) => {
			expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://mcp.example.com", SMCP_ALLOWED_ORIGINS: entry }))).toThrow(
				/SMCP_ALLOWED_ORIGINS entry/,
			);
		},
	);
});

describe("resolveConfig: SMCP_MAX_BODY_BYTES", () => {
	it("accepts an integer ≥ 1024", () => {
		expect(resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://max.example", SMCP_MAX_BODY_BYTES: "1024" })).maxBodyBytes).toBe(1024);
		expect(resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://max.example", SMCP_MAX_BODY_BYTES: "65536" })).maxBodyBytes).toBe(65536);
	});

	it.each(["abc", "1023", "0", "-1", "1024.5", "Infinity", "1e400"])("rejects %j", (value) => {
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://max.example", SMCP_MAX_BODY_BYTES: value }))).toThrow(
			/SMCP_MAX_BODY_BYTES/,
		);
	});
});

describe("resolveConfig: cache", () => {
	it("returns the same object for the same inputs and a new one when they change", () => {
		const vars = { SMCP_PUBLIC_ORIGIN: "https://cache.example", SMCP_SECRET: "cache-secret-0123456789abcdef0123456789" };
		const a = resolveConfig({ ...vars } as unknown as Env);
		expect(resolveConfig({ ...vars } as unknown as Env)).toBe(a);
		const b = resolveConfig({ ...vars, SMCP_SECRET: "cache-secret-2-0123456789abcdef012345678" } as unknown as Env);
		expect(b).not.toBe(a);
		expect(b.secret).toBe("cache-secret-2-0123456789abcdef012345678");
	});
});

describe("isLoopbackHost", () => {
	it.each(["127.0.0.1", "127.1.2.3", "localhost", "[::1]"])("%s is loopback", (h) => expect(isLoopbackHost(h)).toBe(true));
	it.each(["128.0.0.1", "localhost.example", "mylocalhost", "127.0.0.1.example", "::1", "0.0.0.0", ""])("%s is not loopback", (h) =>
		expect(isLoopbackHost(h)).toBe(false),
	);
});

describe("resolveConfig: cache key", () => {
	// Unset and empty are different inputs: an empty SMCP_MAX_BODY_BYTES must not hit the entry
	// cached for an unset one.
	it("an input that differs only by unset vs empty is not served from the cache", () => {
		const vars = { SMCP_PUBLIC_ORIGIN: "https://key.example", SMCP_SECRET: "key-secret-0123456789abcdef0123456789ab" };
		resolveConfig({ ...vars } as unknown as Env);
		expect(() => resolveConfig({ ...vars, SMCP_MAX_BODY_BYTES: "" } as unknown as Env)).toThrow(/SMCP_MAX_BODY_BYTES/);
	});

	it("an empty SMCP_MAX_BODY_BYTES is rejected when nothing is cached", () => {
		expect(() => resolveConfig(env({ SMCP_PUBLIC_ORIGIN: "https://key2.example", SMCP_MAX_BODY_BYTES: "" }))).toThrow(
			/SMCP_MAX_BODY_BYTES/,
		);
	});
});
