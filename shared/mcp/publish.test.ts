import { describe, expect, it } from "vitest";
import { catalogFor } from "../catalog/packs";
import { z } from "zod";
import { toJsonSchema } from "../catalog/registry";
import { headerCheckSchema, mayDeclareParamHeaders, toolInputSchema, toolList } from "./publish";

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

/** Any `x-mcp-header` anywhere in a JSON Schema (a superset of what the header check follows). */
const mentionsHeader = (schema: unknown) => JSON.stringify(schema).includes('"x-mcp-header"');

describe("headerCheckSchema", () => {
	it("never misses a tool that declares an Mcp-Param header: every catalog tool's JSON Schema agrees with the metadata check", () => {
		const catalog = catalogFor({ SMCP_CONFORMANCE: "true" });
		const declaring = catalog.tools.published().filter((t) => mentionsHeader(toJsonSchema(t.input, "input")));
		expect(declaring.map((t) => t.name)).toEqual(["test_custom_header"]);
		for (const t of declaring) expect(headerCheckSchema(catalog, t.name)).toEqual(toolInputSchema(catalog, t.name));
		// A tool published with a JSON Schema of its own is always checked against it.
		for (const t of catalog.tools.published().filter((x) => x.inputJsonSchema))
			expect(headerCheckSchema(catalog, t.name)).toEqual(toolInputSchema(catalog, t.name));
		// What the check is for: the memory tools declare none, and their calls skip the conversion.
		for (const name of ["read_graph", "search_nodes", "create_entities", "open_nodes"])
			expect(headerCheckSchema(catalog, name)).toBeUndefined();
	});

	it("reads the annotation through wrappers and nested objects, and counts anything it does not know as 'may'", () => {
		const h = { "x-mcp-header": "Region" };
		expect(mayDeclareParamHeaders(z.object({ a: z.string(), b: z.number().optional() }))).toBe(false);
		expect(mayDeclareParamHeaders(z.object({ a: z.string().meta(h).describe("d") }))).toBe(true);
		expect(mayDeclareParamHeaders(z.object({ a: z.string().meta(h).optional().nullable() }))).toBe(true);
		expect(mayDeclareParamHeaders(z.object({ o: z.object({ a: z.string().meta(h) }).default({ a: "x" }) }))).toBe(true);
		expect(mayDeclareParamHeaders(z.object({ u: z.union([z.string(), z.number()]) }))).toBe(true);
		for (const schema of [z.object({ a: z.string().meta(h) }), z.object({ o: z.object({ a: z.number().meta(h) }).optional() })])
			expect(mentionsHeader(toJsonSchema(schema, "input"))).toBe(true);
	});
});
