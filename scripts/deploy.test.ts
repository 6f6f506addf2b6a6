/**
 * @module scripts/deploy.test
 * The deploy script's checks: a deploy without the required secrets, or under a non-https or
 * path-carrying origin, is refused before wrangler runs.
 */
import { describe, expect, it } from "vitest";
import { checkOrigin, missingSecrets, REQUIRED_SECRETS } from "./deploy.mjs";

describe("deploy checks", () => {
	it("names every required secret that is missing (deploy without SMCP_SECRET)", () => {
		expect(missingSecrets([])).toEqual(REQUIRED_SECRETS);
		expect(missingSecrets(["SMCP_SECRET", "SMCP_ADMIN_TOKEN"])).toEqual(["SMCP_SECRETS_KEY"]);
		expect(missingSecrets(["SMCP_SECRET", "SMCP_SECRETS_KEY", "SMCP_ADMIN_TOKEN"])).toEqual([]);
	});

	it.each(["http://mcp.example.com", "https://mcp.example.com/mcp", "mcp.example.com", undefined])("refuses the origin %s", (o) => {
		expect(checkOrigin(o).ok).toBe(false);
	});

	it("accepts an https origin, with or without a trailing slash", () => {
		expect(checkOrigin("https://mcp.example.com/")).toEqual({ ok: true, origin: "https://mcp.example.com" });
	});
});
