import { describe, expect, it } from "vitest";
import { brandPrincipal, hasScope, issuedPrincipal, ownerOf, receiveOwner, receivePrincipal } from "./principal";

const valid = { tenantId: "t-1", userId: "user@example.com", clientId: "https://client.example/meta.json", scopes: ["mcp:read"] };

describe("hasScope", () => {
	it("mcp:write implies mcp:read", () => {
		expect(hasScope(["mcp:write"], "mcp:read")).toBe(true);
		expect(hasScope(["mcp:write"], "mcp:write")).toBe(true);
	});

	it("mcp:read does not imply mcp:write (scope escalation)", () => {
		expect(hasScope(["mcp:read"], "mcp:write")).toBe(false);
	});

	it("no scopes or an unrelated scope grants nothing", () => {
		expect(hasScope([], "mcp:read")).toBe(false);
		expect(hasScope(["mcp:admin", "mcp:writer", "MCP:WRITE"], "mcp:read")).toBe(false);
		expect(hasScope(["mcp:read mcp:write"], "mcp:write")).toBe(false);
	});
});

describe("receivePrincipal", () => {
	it("returns a valid principal", () => {
		expect(receivePrincipal(valid)).toEqual(valid);
	});

	it.each([
		["null", null],
		["undefined", undefined],
		["a string", "t-1"],
		["a function", () => valid],
		["missing tenantId", { ...valid, tenantId: undefined }],
		["missing userId", { ...valid, userId: undefined }],
		["missing clientId", { ...valid, clientId: undefined }],
		["missing scopes", { ...valid, scopes: undefined }],
		["numeric tenantId", { ...valid, tenantId: 1 }],
		["numeric userId", { ...valid, userId: 1 }],
		["object clientId", { ...valid, clientId: {} }],
		["empty tenantId", { ...valid, tenantId: "" }],
		["empty userId", { ...valid, userId: "" }],
		["empty clientId", { ...valid, clientId: "" }],
		["tenantId with a space", { ...valid, tenantId: "t 1" }],
		["userId with a space", { ...valid, userId: "a b" }],
		["tenantId with a slash (path traversal into a DO name)", { ...valid, tenantId: "../t-2" }],
		["userId with a newline (log / MAC field injection)", { ...valid, userId: "u\nt-2" }],
		["non-ASCII tenantId", { ...valid, tenantId: "tënant" }],
		["tenantId of 201 characters", { ...valid, tenantId: "t".repeat(201) }],
		["clientId of 2049 characters", { ...valid, clientId: "c".repeat(2049) }],
		["scopes as a string", { ...valid, scopes: "mcp:read" }],
		["scopes with a non-string", { ...valid, scopes: ["mcp:read", 1] }],
	])("throws a TypeError for %s (forged principal handoff)", (_label, value) => {
		expect(() => receivePrincipal(value)).toThrow(TypeError);
	});

	it("accepts the ID alphabet at its limits, including ':'", () => {
		expect(() =>
			receivePrincipal({ ...valid, tenantId: "A-z_0.9:@", userId: "u".repeat(200), clientId: "c".repeat(2048), scopes: [] }),
		).not.toThrow();
	});
});

describe("brandPrincipal", () => {
	it("copies scopes, so mutating the caller's array does not change the principal (scope escalation)", () => {
		const scopes = ["mcp:read"];
		const p = brandPrincipal({ ...valid, scopes });
		scopes.push("mcp:write");
		expect(p.scopes).toEqual(["mcp:read"]);
		expect(hasScope(p.scopes, "mcp:write")).toBe(false);
	});

	it("keeps only the four principal fields", () => {
		const p = brandPrincipal({ ...valid, isAdmin: true } as typeof valid);
		expect(Object.keys(p).sort()).toEqual(["clientId", "scopes", "tenantId", "userId"]);
	});

	it("validates like receivePrincipal", () => {
		expect(() => brandPrincipal({ ...valid, tenantId: "bad tenant" })).toThrow(TypeError);
	});
});

describe("issuedPrincipal", () => {
	it("refuses a value of the right shape that no constructor made (forged principal handoff)", () => {
		expect(() => issuedPrincipal({ ...valid })).toThrow(TypeError);
		expect(() => issuedPrincipal(null)).toThrow(TypeError);
	});

	it("returns a principal made by brandPrincipal or receivePrincipal in this isolate", () => {
		const p = brandPrincipal(valid);
		expect(issuedPrincipal(p)).toBe(p);
		const q = receivePrincipal(valid);
		expect(issuedPrincipal(q)).toBe(q);
	});
});

describe("session owner", () => {
	it("carries no scopes, so it authorises no tool (scope escalation through a stored session)", () => {
		const owner = receiveOwner({ ...valid, scopes: ["mcp:write"] });
		expect(Object.keys(owner).sort()).toEqual(["clientId", "tenantId", "userId"]);
		expect(Object.keys(ownerOf(brandPrincipal(valid))).sort()).toEqual(["clientId", "tenantId", "userId"]);
	});

	it("is validated like a principal", () => {
		expect(() => receiveOwner({ ...valid, tenantId: "../t-2" })).toThrow(TypeError);
	});
});
