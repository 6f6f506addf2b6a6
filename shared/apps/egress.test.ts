import { describe, expect, it } from "vitest";
import { decideEgress, egressAuditRecord, secretHeadersFor } from "./egress";

const list = ["api.example-weather.test", "files.example.com:8443", "8.8.8.8"];

describe("decideEgress", () => {
	it("allows https to a listed host, case-insensitively, with a trailing dot, on the right port", () => {
		for (const url of [
			"https://api.example-weather.test/v1?q=x",
			"https://API.Example-Weather.test./v1",
			"https://api.example-weather.test:443/",
		]) {
			expect(decideEgress(list, url)).toEqual({ allow: true, host: "api.example-weather.test" });
		}
		expect(decideEgress(list, "https://files.example.com:8443/a")).toEqual({
			allow: true,
			host: "files.example.com:8443",
		});
		expect(decideEgress(list, "https://8.8.8.8/dns")).toEqual({ allow: true, host: "8.8.8.8" });
	});

	it.each([
		["plain http", "http://api.example-weather.test/", /plain http/],
		["another scheme", "ftp://api.example-weather.test/", /ftp: scheme/],
		["an unlisted host", "https://evil.example/", /host evil\.example is not in/],
		["a sub-domain of a listed host", "https://x.api.example-weather.test/", /not in/],
		["a listed host on another port", "https://api.example-weather.test:8443/", /not in/],
		["a listed host without its port", "https://files.example.com/", /not in/],
		["credentials in the URL", "https://user:pw@api.example-weather.test/", /credentials/],
		["an unlisted IP literal", "https://1.1.1.1/", /IP address 1\.1\.1\.1/],
		["a disguised loopback address", "https://0x7f.1/", /IP address 127\.0\.0\.1/],
		["a relative URL", "/v1/forecast", /absolute/],
	])("refuses %s", (_label, url, reason) => {
		const d = decideEgress(list, url);
		expect(d.allow).toBe(false);
		expect(!d.allow && d.reason).toMatch(reason);
	});

	it("never allows a private address, even if a bad manifest lists one", () => {
		expect(decideEgress(["10.0.0.1", "localhost:8787"], "https://10.0.0.1/").allow).toBe(false);
		expect(decideEgress(["localhost:8787"], "http://localhost:8787/").allow).toBe(false);
	});

	it("allows http to a listed loopback host only with allowLoopback", () => {
		const dev = ["127.0.0.1:8788"];
		expect(decideEgress(dev, "http://127.0.0.1:8788/x", { allowLoopback: true })).toEqual({
			allow: true,
			host: "127.0.0.1:8788",
		});
		expect(decideEgress(dev, "http://127.0.0.1:8788/x").allow).toBe(false);
		expect(decideEgress(dev, "http://127.0.0.1:9999/x", { allowLoopback: true }).allow).toBe(false);
		expect(decideEgress(["api.example.com"], "http://api.example.com/", { allowLoopback: true }).allow).toBe(false);
	});
});

describe("secret headers and audit", () => {
	it("returns the injections for the matched host only", () => {
		const sh = [
			{ host: "api.example-weather.test", header: "Authorization", secret: "WEATHER_KEY", prefix: "Bearer " },
			{ host: "files.example.com:8443", header: "X-Key", secret: "FILES_KEY" },
		];
		expect(secretHeadersFor(sh, "api.example-weather.test").map((s) => s.secret)).toEqual(["WEATHER_KEY"]);
		expect(secretHeadersFor(undefined, "x")).toEqual([]);
	});

	it("keeps host, method, status and bytes only, normalised", () => {
		expect(egressAuditRecord("api.example-weather.test", "get", 200, 512.7)).toEqual({
			host: "api.example-weather.test",
			method: "GET",
			status: 200,
			bytes: 512,
		});
		expect(egressAuditRecord("h", "BREW\r\nX: y", -1, Number.NaN)).toEqual({
			host: "h",
			method: "OTHER",
			status: 0,
			bytes: 0,
		});
		expect(Object.keys(egressAuditRecord("h", "GET", 200, 1))).toEqual(["host", "method", "status", "bytes"]);
	});
});
