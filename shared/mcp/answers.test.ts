/**
 * @module shared/mcp/answers.test
 * The server's identity: the version reported in `initialize` and in the registry's `server.json`
 * is the package's, never a copy that drifts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SERVER_INFO, serverInfo } from "./answers";

const read = (file: string) => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8"));

describe("server identity", () => {
	it("reports the package version, and server.json describes the same version and both remote endpoints", () => {
		const pkg = read("package.json") as { version: string };
		expect(SERVER_INFO.version).toBe(pkg.version);
		const registry = read("server.json") as { version: string; remotes: { type: string; url: string }[] };
		expect(registry.version).toBe(pkg.version);
		expect(registry.remotes.map((r) => [r.type, r.url])).toEqual([
			["streamable-http", "https://{host}/mcp"],
			["sse", "https://{host}/sse"],
		]);
	});

	it("adds the deployment's landing page as websiteUrl", () => {
		expect(serverInfo("https://mcp.example.com").websiteUrl).toBe("https://mcp.example.com/");
		expect(serverInfo(undefined)).not.toHaveProperty("websiteUrl");
	});
});
