/**
 * @module worker/identity/oidc/config.test
 * Unit tests for the upstream sign-in settings: off by default, https only (loopback http only
 * when SMCP itself is on loopback), actionable errors, and the endpoint and domain policies.
 */
import { describe, expect, it } from "vitest";
import type { Env } from "../../../shared/env";
import { emailDomainAllowed, providerEndpoint, resolveOidcConfig } from "./config";

function env(vars: Partial<Env> = {}): Env {
	return {
		SMCP_PUBLIC_ORIGIN: "https://mcp.example.com",
		SMCP_OIDC_ISSUER: "https://login.example.com",
		SMCP_OIDC_CLIENT_ID: "smcp",
		SMCP_OIDC_CLIENT_SECRET: "s3cret",
		...vars,
	} as Env;
}

describe("resolveOidcConfig", () => {
	it("is off without an issuer, whatever else is set", () => {
		expect(resolveOidcConfig(env({ SMCP_OIDC_ISSUER: undefined })).state).toBe("off");
		expect(resolveOidcConfig(env({ SMCP_OIDC_ISSUER: "  " })).state).toBe("off");
	});

	it("resolves a complete configuration with the default label and the callback on the public origin", () => {
		const r = resolveOidcConfig(env({ SMCP_OIDC_ALLOWED_DOMAINS: " Example.com, corp.example.org " }));
		expect(r.state).toBe("on");
		if (r.state !== "on") return;
		expect(r.config).toMatchObject({
			issuer: "https://login.example.com",
			clientId: "smcp",
			name: "Single sign-on",
			redirectUri: "https://mcp.example.com/oidc/callback",
			loopbackDev: false,
		});
		expect([...r.config.allowedDomains]).toEqual(["example.com", "corp.example.org"]);
	});

	it("refuses an http issuer on a deployment, and a loopback http issuer unless SMCP is on loopback too", () => {
		expect(resolveOidcConfig(env({ SMCP_OIDC_ISSUER: "http://login.example.com" })).state).toBe("invalid");
		expect(resolveOidcConfig(env({ SMCP_OIDC_ISSUER: "http://127.0.0.1:9000" })).state).toBe("invalid");
		const dev = resolveOidcConfig(env({ SMCP_OIDC_ISSUER: "http://127.0.0.1:9000", SMCP_PUBLIC_ORIGIN: "http://127.0.0.1:8787" }));
		expect(dev.state === "on" && dev.config.loopbackDev).toBe(true);
	});

	it("refuses issuers with a query, fragment or credentials, and says how to fix each setting", () => {
		for (const issuer of [
			"https://login.example.com/?tenant=1",
			"https://login.example.com/#x",
			"https://u:p@login.example.com",
			"not a url",
		]) {
			const r = resolveOidcConfig(env({ SMCP_OIDC_ISSUER: issuer }));
			expect(r.state === "invalid" && r.problem).toMatch(/SMCP_OIDC_ISSUER/);
		}
		const noSecret = resolveOidcConfig(env({ SMCP_OIDC_CLIENT_SECRET: undefined }));
		expect(noSecret.state === "invalid" && noSecret.problem).toMatch(/wrangler secret put SMCP_OIDC_CLIENT_SECRET/);
		const noClient = resolveOidcConfig(env({ SMCP_OIDC_CLIENT_ID: "" }));
		expect(noClient.state === "invalid" && noClient.problem).toMatch(/SMCP_OIDC_CLIENT_ID/);
		const badDomain = resolveOidcConfig(env({ SMCP_OIDC_ALLOWED_DOMAINS: "*.example.com" }));
		expect(badDomain.state === "invalid" && badDomain.problem).toMatch(/SMCP_OIDC_ALLOWED_DOMAINS/);
	});

	it("never puts the client secret in a problem message", () => {
		const r = resolveOidcConfig(env({ SMCP_OIDC_CLIENT_SECRET: "s3cret", SMCP_OIDC_NAME: "x".repeat(41) }));
		expect(r.state === "invalid" && r.problem).not.toContain("s3cret");
	});
});

describe("providerEndpoint", () => {
	it("accepts https and refuses other schemes, credentials and fragments (never send the browser there)", () => {
		expect(providerEndpoint("https://login.example.com/authorize", { loopbackDev: false })?.href).toBe(
			"https://login.example.com/authorize",
		);
		for (const bad of [
			"javascript:alert(1)",
			"http://login.example.com/authorize",
			"https://u:p@login.example.com/a",
			"https://login.example.com/a#f",
			"/relative",
			42,
			null,
		]) {
			expect(providerEndpoint(bad, { loopbackDev: false })).toBeNull();
		}
	});

	it("accepts http on loopback only in a loopback development setup", () => {
		expect(providerEndpoint("http://127.0.0.1:9000/token", { loopbackDev: false })).toBeNull();
		expect(providerEndpoint("http://127.0.0.1:9000/token", { loopbackDev: true })).not.toBeNull();
		expect(providerEndpoint("http://10.0.0.1/token", { loopbackDev: true })).toBeNull();
	});
});

describe("emailDomainAllowed", () => {
	it("allows any domain when the list is empty and exact listed domains otherwise", () => {
		expect(emailDomainAllowed("ada@anything.test", new Set())).toBe(true);
		expect(emailDomainAllowed("ada@Example.COM", new Set(["example.com"]))).toBe(true);
		expect(emailDomainAllowed("ada@eu.example.com", new Set(["example.com"]))).toBe(false);
		expect(emailDomainAllowed("ada@example.com.evil.test", new Set(["example.com"]))).toBe(false);
		expect(emailDomainAllowed("example.com", new Set(["example.com"]))).toBe(false);
	});
});
