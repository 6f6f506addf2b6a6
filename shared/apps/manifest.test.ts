import { describe, expect, it } from "vitest";
import { parseHost } from "./host";
import { LIMITS, hostedToolName, parseHostedToolName, validateManifest, type AppManifestInput } from "./manifest";

const base = (): AppManifestInput => ({
	name: "weather",
	version: "1.0.0",
	main: "index.js",
	tools: [
		{
			name: "forecast",
			description: "Forecast for a city",
			inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
			scope: "mcp:read",
		},
	],
	egress: ["api.example-weather.test"],
	secrets: ["WEATHER_KEY"],
	secretHeaders: [{ host: "api.example-weather.test", header: "Authorization", secret: "WEATHER_KEY", prefix: "Bearer " }],
});

const errorsOf = (input: unknown, options = {}) => {
	const r = validateManifest(input, options);
	return r.ok ? [] : r.errors;
};

describe("validateManifest", () => {
	it("accepts a valid manifest and fills in every default limit", () => {
		const r = validateManifest(base());
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(r.manifest.limits).toEqual({
			cpuMs: 50,
			subRequests: 10,
			timeoutMs: 10_000,
			maxResultBytes: 262_144,
			storageBytes: 1_048_576,
		});
		expect(validateManifest({ ...base(), limits: { cpuMs: 200 } })).toMatchObject({
			ok: true,
			manifest: { limits: { cpuMs: 200, subRequests: 10 } },
		});
	});

	it("reports every problem with its path and what to fix", () => {
		const bad = {
			...base(),
			name: "Weather",
			version: "1",
			tools: [{ ...base().tools[0]!, scope: "admin" }],
			limits: { cpuMs: 60_000 },
		};
		const errors = errorsOf(bad);
		const paths = errors.map((e) => e.path);
		expect(paths).toEqual(expect.arrayContaining(["name", "version", "tools[0].scope", "limits.cpuMs"]));
		expect(errors.find((e) => e.path === "name")!.message).toMatch(/lower-case slug/);
		expect(errors.find((e) => e.path === "limits.cpuMs")!.message).toContain(String(LIMITS.cpuMs.max));
	});

	it("names unknown fields (typos) instead of ignoring them", () => {
		const errors = errorsOf({ ...base(), egres: [] });
		expect(errors).toEqual([{ path: "(manifest)", message: expect.stringContaining('"egres"') }]);
	});

	it("refuses duplicate tools, too many tools and over-long hosted names", () => {
		const t = base().tools[0]!;
		expect(errorsOf({ ...base(), tools: [t, t] })[0]!.message).toMatch(/declared twice/);
		const many = Array.from({ length: 33 }, (_, i) => ({ ...t, name: `t${i}` }));
		expect(errorsOf({ ...base(), tools: many })[0]!.path).toBe("tools");
		const long = { ...base(), name: "a".repeat(32), tools: [{ ...t, name: "b".repeat(40) }] };
		expect(errorsOf(long)[0]!.message).toMatch(/at most 64/);
	});

	it("checks input and output schemas: object type, local refs, depth", () => {
		const t = base().tools[0]!;
		let deep: Record<string, unknown> = { type: "string" };
		for (let i = 0; i < 20; i++) deep = { type: "object", properties: { x: deep } };
		const errors = errorsOf({
			...base(),
			tools: [
				{ ...t, inputSchema: { type: "array" } },
				{ ...t, name: "b", inputSchema: { type: "object", properties: { a: { $ref: "https://evil.test/s.json" } } } },
				{ ...t, name: "c", inputSchema: deep },
				{ ...t, name: "d", outputSchema: { type: "object", required: ["a", "a"] } },
			],
		});
		expect(errors.map((e) => e.path)).toEqual([
			"tools[0].inputSchema.type",
			"tools[1].inputSchema.properties.a.$ref",
			"tools[2].inputSchema",
			"tools[3].outputSchema.required",
		]);
	});

	it("secret headers must name a listed host and a declared secret, and not a platform header", () => {
		const errors = errorsOf({
			...base(),
			secretHeaders: [
				{ host: "other.example.com", header: "X-Key", secret: "WEATHER_KEY" },
				{ host: "api.example-weather.test", header: "X-Key", secret: "MISSING" },
				{ host: "api.example-weather.test", header: "Host", secret: "WEATHER_KEY" },
			],
		});
		expect(errors.map((e) => e.path)).toEqual(["secretHeaders[0].host", "secretHeaders[1].secret", "secretHeaders[2].header"]);
	});

	it("refuses bad secret names", () => {
		expect(errorsOf({ ...base(), secrets: ["weather_key"], secretHeaders: [] })[0]!.path).toBe("secrets[0]");
	});
});

describe("egress hosts in the manifest", () => {
	const refused = [
		"*.example.com",
		"https://api.example.com",
		"api.example.com/v1",
		"user@api.example.com",
		"localhost",
		"localhost:8787",
		"intranet",
		"foo.localhost",
		"10.0.0.1",
		"172.16.3.4",
		"192.168.1.1",
		"127.0.0.1:8080",
		"169.254.169.254",
		"100.64.0.1",
		"0.0.0.0",
		"[::1]:8080",
		"[fd00::1]",
		"[fe80::1]",
		"[::ffff:127.0.0.1]",
		// IPv6 forms that embed or stand for an IPv4 address, or are not global unicast (2000::/3):
		"[::ffff:0:7f00:1]", // IPv4-translated (SIIT) 127.0.0.1
		"[2001:0:4136:e378:8000:63bf:3fff:fdd2]", // Teredo, embeds an IPv4 address
		"[2001:2::1]", // benchmarking, inside the IETF protocol block 2001::/23
		"[3fff::1]", // documentation (RFC 9637)
		"[5f00::1]", // outside 2000::/3
		"[4000::1]",
		"0x7f.1",
		"2130706433",
		"API.example.com",
		"api.example.com:0",
	];
	it.each(refused)("refuses %s", (host) => {
		const errors = errorsOf({ ...base(), egress: [host], secretHeaders: [] });
		expect(errors.length).toBeGreaterThan(0);
		expect(errors[0]!.path).toBe("egress[0]");
	});

	it("accepts public names, ports and public IP literals; 443 is the default port", () => {
		for (const h of ["api.example.com", "api.example.com:8443", "8.8.8.8", "[2606:4700::1111]"]) expect(parseHost(h).ok).toBe(true);
		expect(parseHost("api.example.com:443")).toEqual({
			ok: false,
			message: 'is not in canonical form: write it as "api.example.com"',
		});
		expect(parseHost("api.example.com.").ok).toBe(false);
	});

	it("suggests the canonical form of a disguised address or an upper-case name", () => {
		expect(parseHost("API.example.com")).toEqual({
			ok: false,
			message: 'is not in canonical form: write it as "api.example.com"',
		});
	});

	it("admits loopback with a port only when allowLoopback is set", () => {
		for (const h of ["127.0.0.1:8788", "localhost:8788", "[::1]:8788"]) {
			expect(parseHost(h).ok).toBe(false);
			expect(parseHost(h, { allowLoopback: true }).ok).toBe(true);
		}
		expect(parseHost("127.0.0.1", { allowLoopback: true }).ok).toBe(false);
		expect(parseHost("10.0.0.1:80", { allowLoopback: true }).ok).toBe(false);
	});
});

describe("hosted tool names", () => {
	it("round-trips and never parses a built-in name", () => {
		expect(hostedToolName("unit-converter", "convert")).toBe("unit-converter__convert");
		expect(parseHostedToolName("unit-converter__convert")).toEqual({ app: "unit-converter", tool: "convert" });
		expect(parseHostedToolName("a__b__c")).toEqual({ app: "a", tool: "b__c" });
		for (const builtIn of ["read_graph", "create_entities", "test_simple_text", "audit_log"])
			expect(parseHostedToolName(builtIn)).toBeNull();
		expect(parseHostedToolName("app.tool")).toBeNull();
		expect(() => hostedToolName("Bad", "x")).toThrow(TypeError);
	});
});
