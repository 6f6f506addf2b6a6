import { describe, expect, it } from "vitest";
import { catalogFor } from "../catalog/packs";
import { toolInputSchema, toolList } from "./publish";

describe("toolInputSchema", () => {
	it("builds one tool's schema before the list exists, equal to what tools/list then publishes; unknown names are undefined", () => {
		// A catalog view of its own (the conformance pack on), so no earlier test built its list.
		const catalog = catalogFor({ SMCP_CONFORMANCE: "true" });
		const names = catalog.tools.published().map((t) => t.name);
		const early = Object.fromEntries(names.map((n) => [n, toolInputSchema(catalog, n)]));
		expect(toolInputSchema(catalog, "no_such_tool")).toBeUndefined();
		const listed = Object.fromEntries(toolList(catalog, ["mcp:read", "mcp:write"]).map((e) => [e.name, e.inputSchema]));
		expect(early).toEqual(listed);
		for (const n of names) expect(toolInputSchema(catalog, n)).toEqual(listed[n]);
	});
});
