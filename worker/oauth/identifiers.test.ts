import { describe, expect, it } from "vitest";
import { malformedBearer, MAX_IDENTIFIER_BYTES, oversized, oversizedTokenRequest, utf8Length, wellFormedBearer } from "./identifiers";

const META = "https://mcp.example.com/.well-known/oauth-protected-resource";
const withAuth = (authorization: string) => new Request("https://mcp.example.com/mcp", { headers: { Authorization: authorization } });

describe("bearer shape", () => {
	it("accepts the provider's tokens and API keys", () => {
		expect(wellFormedBearer("u_0d84d3c073012d7fb867a16d94b005ad:tEKr74mr6cnUKYl6:jVcAgDbsV-U4iw3VldRHRJGpurBWvuT6")).toBe(true);
		expect(wellFormedBearer(`smcp_0a1b2c3d_${"A".repeat(43)}`)).toBe(true);
		expect(wellFormedBearer("abc+/==")).toBe(true);
	});

	it("refuses over-long tokens and characters outside RFC 6750's b64token (KV keys over 512 bytes used to throw)", () => {
		expect(wellFormedBearer(`${"u".repeat(500)}:grant:secret`)).toBe(false);
		expect(wellFormedBearer("x".repeat(MAX_IDENTIFIER_BYTES + 1))).toBe(false);
		expect(wellFormedBearer("a:b:cé")).toBe(false);
		expect(wellFormedBearer("a=b")).toBe(false);
	});

	it("answers a malformed bearer with 401 invalid_token and the RFC 9728 challenge; leaves the rest to the provider", async () => {
		const res = malformedBearer(withAuth(`Bearer user:${"g".repeat(500)}:s`), META)!;
		expect(res.status).toBe(401);
		expect(res.headers.get("WWW-Authenticate")).toContain(`resource_metadata="${META}"`);
		expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
		expect(await res.json()).toEqual({ error: "invalid_token", error_description: "Invalid access token" });
		for (const ok of ["Bearer u:g:s", "Basic abc", "", "Bearer"]) expect(malformedBearer(withAuth(ok), META)).toBeNull();
	});
});

describe("token request identifiers", () => {
	const form = (fields: Record<string, string>) => new URLSearchParams(fields);

	it("measures UTF-8 bytes, as KV does", () => {
		expect(utf8Length("aé€🌍")).toBe(1 + 2 + 3 + 4);
		expect(oversized("é".repeat(201))).toBe(true);
		expect(oversized("e".repeat(400))).toBe(false);
		expect(oversized(null)).toBe(false);
	});

	it("refuses an over-long client_id (form or Basic) with 401 invalid_client, and over-long codes with 400 invalid_grant", async () => {
		const long = "c".repeat(520);
		const byForm = oversizedTokenRequest(form({ grant_type: "refresh_token", client_id: long }), null)!;
		expect(byForm.status).toBe(401);
		expect(((await byForm.json()) as { error: string }).error).toBe("invalid_client");
		const byBasic = oversizedTokenRequest(null, `Basic ${btoa(`${long}:secret`)}`)!;
		expect(byBasic.status).toBe(401);
		expect(byBasic.headers.get("WWW-Authenticate")).toBe('Basic realm="OAuth"');
		expect(oversizedTokenRequest(null, "Basic !!not-base64")!.status).toBe(401);
		for (const field of ["code", "refresh_token", "subject_token"]) {
			const r = oversizedTokenRequest(form({ [field]: `u:${"g".repeat(500)}:s` }), null)!;
			expect(r.status, field).toBe(400);
			expect(((await r.json()) as { error: string }).error).toBe("invalid_grant");
		}
		expect(
			oversizedTokenRequest(form({ grant_type: "authorization_code", client_id: "abc", code: "u:g:s" }), `Basic ${btoa("abc:def")}`),
		).toBeNull();
	});
});
