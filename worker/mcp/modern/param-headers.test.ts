import { describe, expect, it } from "vitest";
import { decodeParamValue, paramHeaderMismatch, paramHeaders } from "./param-headers";

const schema = {
	type: "object",
	properties: {
		region: { type: "string", "x-mcp-header": "Region" },
		count: { type: "integer", "x-mcp-header": "Count" },
		flag: { type: "boolean", "x-mcp-header": "Flag" },
		plain: { type: "string" },
		nested: { type: "object", properties: { zone: { type: "string", "x-mcp-header": "Zone" } } },
	},
};
const b64 = (s: string) => `=?base64?${btoa(String.fromCharCode(...new TextEncoder().encode(s)))}?=`;
const check = (args: unknown, headers: Record<string, string>) => paramHeaderMismatch(schema, args, new Headers(headers));

describe("paramHeaders", () => {
	it("collects x-mcp-header declarations along properties chains only", () => {
		expect(paramHeaders(schema).map((d) => [d.path.join("."), d.header])).toEqual([
			["region", "Region"],
			["count", "Count"],
			["flag", "Flag"],
			["nested.zone", "Zone"],
		]);
		expect(paramHeaders({ type: "object", "x-mcp-header": "Root", items: { "x-mcp-header": "No" } })).toEqual([]);
	});
});

describe("decodeParamValue", () => {
	it("decodes the Base64 sentinel as UTF-8 and takes anything else literally", () => {
		expect(decodeParamValue(b64("Grüße"))).toBe("Grüße");
		expect(decodeParamValue("SGVsbG8=")).toBe("SGVsbG8=");
		expect(decodeParamValue("=?base64?SGVsbG8=")).toBe("=?base64?SGVsbG8=");
	});

	it("refuses non-canonical Base64 and invalid UTF-8 (SEP-2243 test-case table)", () => {
		expect(decodeParamValue("=?base64?SGVsbG8?=")).toBeUndefined(); // bad padding
		expect(decodeParamValue("=?base64?SGVs!!!bG8=?=")).toBeUndefined(); // bad characters
		expect(decodeParamValue("=?base64?/w==?=")).toBeUndefined(); // 0xFF is not UTF-8
	});
});

describe("paramHeaderMismatch", () => {
	it("accepts headers that agree with the body, literal or Base64", () => {
		expect(check({ region: "eu-west" }, { "Mcp-Param-Region": "eu-west" })).toBeUndefined();
		expect(check({ region: "Hello" }, { "mcp-param-region": b64("Hello") })).toBeUndefined();
		expect(check({ count: 42, flag: true }, { "Mcp-Param-Count": "42.0", "Mcp-Param-Flag": "true" })).toBeUndefined();
		expect(check({ nested: { zone: "z1" } }, { "Mcp-Param-Zone": "z1" })).toBeUndefined();
	});

	it("needs no header for an absent or null value, and ignores one sent anyway", () => {
		expect(check({}, {})).toBeUndefined();
		expect(check({ region: null }, { "Mcp-Param-Region": "x" })).toBeUndefined();
		expect(check(undefined, {})).toBeUndefined();
	});

	it("rejects a missing header, a disagreeing one, and invalid Base64, naming the header but no value", () => {
		expect(check({ region: "secret-value" }, {})).toMatch(/Mcp-Param-Region header is required/);
		const wrong = check({ region: "secret-value" }, { "Mcp-Param-Region": "other" });
		expect(wrong).toMatch(/does not match region/);
		expect(wrong).not.toContain("secret-value");
		expect(check({ region: "Hello" }, { "Mcp-Param-Region": "=?base64?SGVsbG8?=" })).toMatch(/not valid Base64/);
		expect(check({ flag: false }, { "Mcp-Param-Flag": "False" })).toMatch(/does not match flag/);
	});
});
