import { describe, expect, it } from "vitest";
import { z } from "zod";
import { catalogFor } from "./packs";

const registry = catalogFor({}).tools;
import { memoryTools } from "./packs/memory/tools";
import { SCOPES } from "../rpc/principal";
import { defineTool, READ_ONLY, ToolRegistry, toJsonSchema, type ToolDefinition } from "./registry";

const tool = (name: string): ToolDefinition =>
	({
		name,
		title: name,
		description: name,
		input: z.object({}),
		output: z.object({}),
		annotations: READ_ONLY,
		scope: "mcp:read",
		rateClass: "read",
		handler: () => ({}),
	}) as ToolDefinition;

describe("defineTool", () => {
	it.each(["echo", "read_graph", "a", "a1_b2", "t".repeat(64)])("accepts %j", (name) => {
		expect(defineTool(tool(name)).name).toBe(name);
	});

	it.each([
		["empty", ""],
		["upper case", "Echo"],
		["kebab case", "read-graph"],
		["leading digit", "1tool"],
		["leading underscore", "_tool"],
		["a space", "read graph"],
		["a dot", "memory.read"],
		["a slash", "memory/read"],
		["a trailing newline", "echo\n"],
		["non-ASCII", "écho"],
		["65 characters", "t".repeat(65)],
	])("rejects a name with %s", (_label, name) => {
		expect(() => defineTool(tool(name))).toThrow(TypeError);
	});
});

describe("ToolRegistry", () => {
	it("rejects a duplicate name (tool shadowing)", () => {
		expect(() => new ToolRegistry([tool("echo"), tool("other"), tool("echo")])).toThrow(/"echo" is declared twice/);
	});

	it("lists tools sorted by name whatever the declaration order", () => {
		const r = new ToolRegistry([tool("search_nodes"), tool("add_observations"), tool("open_nodes"), tool("create_entities")]);
		expect(r.list().map((t) => t.name)).toEqual(["add_observations", "create_entities", "open_nodes", "search_nodes"]);
	});

	it("gets a tool by exact name only", () => {
		const echo = tool("echo");
		const r = new ToolRegistry([echo]);
		expect(r.get("echo")).toBe(echo);
		expect(r.get("ECHO")).toBeUndefined();
		expect(r.get("__proto__")).toBeUndefined();
		expect(r.get("constructor")).toBeUndefined();
	});

	it("list() returns a copy that cannot alter the registry", () => {
		const r = new ToolRegistry([tool("a"), tool("b")]);
		r.list().pop();
		expect(r.list()).toHaveLength(2);
	});
});

describe("toJsonSchema", () => {
	it("gives type object, properties and required, without $schema", () => {
		const schema = toJsonSchema(z.object({ name: z.string().max(5), n: z.number().optional() }), "input");
		expect(schema.type).toBe("object");
		expect(schema).not.toHaveProperty("$schema");
		expect(schema.properties).toEqual({ name: { type: "string", maxLength: 5 }, n: { type: "number" } });
		expect(schema.required).toEqual(["name"]);
	});

	it("gives type object for an empty object schema", () => {
		const schema = toJsonSchema(z.object({}), "output");
		expect(schema.type).toBe("object");
		expect(schema).not.toHaveProperty("$schema");
	});
});

describe("the served registry (shared/catalog/packs)", () => {
	const tools = registry.list();

	it("serves at least the memory pack", () => {
		expect(tools.length).toBeGreaterThanOrEqual(9);
	});

	it.each(tools.map((t) => [t.name, t] as const))("%s has a title, a description, a known scope and an object input schema", (_name, t) => {
		expect(t.title.trim().length).toBeGreaterThan(0);
		expect(t.description.trim().length).toBeGreaterThan(0);
		expect(SCOPES).toContain(t.scope);
		expect(toJsonSchema(t.input, "input").type).toBe("object");
		expect(toJsonSchema(t.output, "output").type).toBe("object");
	});

	it.each(tools.map((t) => [t.name, t] as const))(
		"%s has annotations consistent with its scope (read-only tools cannot write)",
		(_name, t) => {
			const a = t.annotations;
			if (a.readOnlyHint) {
				expect(t.scope).toBe("mcp:read");
				expect(a.destructiveHint).toBe(false);
				expect(t.rateClass).toBe("read");
			} else {
				expect(t.scope).toBe("mcp:write");
				expect(t.rateClass).toBe("write");
			}
			if (a.destructiveHint) expect(t.scope).toBe("mcp:write");
		},
	);

	it("the memory pack's tool names equal the nine reference server-memory names", () => {
		expect(memoryTools.map((t) => t.name).sort()).toEqual(
			[
				"create_entities",
				"create_relations",
				"add_observations",
				"delete_entities",
				"delete_observations",
				"delete_relations",
				"read_graph",
				"search_nodes",
				"open_nodes",
			].sort(),
		);
		for (const t of memoryTools) expect(registry.get(t.name), t.name).toBe(t);
	});
});
