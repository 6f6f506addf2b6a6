import { describe, expect, it } from "vitest";
import { z } from "zod";
import { catalogFor, enabledPacks, fullCatalog } from ".";

const registry = catalogFor({}).tools;
const enabledTools = (env: Parameters<typeof catalogFor>[0]) => catalogFor(env).tools;
import { completionValues, promptList, resourceList, resourceRead, serverCapabilities, templateList, toolList } from "../../mcp/publish";
import { Catalog, READ_ONLY, toolAsks, toolContent, type ToolDefinition } from "../registry";
import { statelessTools } from "./conformance/stateless";
import { conformanceTools } from "./conformance/tools";

const ON = { SMCP_CONFORMANCE: "true" };
const READ = ["mcp:read"];
const names = (c: Catalog) => c.tools.published().map((t) => t.name);

describe("packs enabled by configuration (SMCP_CONFORMANCE)", () => {
	it.each([[undefined], ["false"], ["1"], ["TRUE"], ["yes"], [" true"]])("SMCP_CONFORMANCE=%j leaves the conformance pack off", (value) => {
		const env = { SMCP_CONFORMANCE: value };
		expect(enabledPacks(env).has("conformance")).toBe(false);
		const c = catalogFor(env);
		expect(names(c).some((n) => n.startsWith("test_"))).toBe(false);
		expect(c.tools.callable("test_simple_text")).toBeUndefined();
		expect(c.kernelTool("test_simple_text", undefined)).toBeUndefined();
		expect(c.kernelTool("conformance_read_resource", "resources/read")).toBeUndefined();
		expect(c.resource("test://static-text")).toBeUndefined();
		expect(c.prompt("test_simple_prompt")).toBeUndefined();
		expect(c.capabilities()).toEqual({ prompts: false, completions: false, subscribe: false, logging: false, tasks: true });
	});

	it('SMCP_CONFORMANCE="true" serves every fixture tool, resource, template and prompt', () => {
		const c = catalogFor(ON);
		for (const t of [...conformanceTools, ...statelessTools]) expect(c.tools.callable(t.name), t.name).toBe(t);
		expect(resourceList(c, READ).map((r) => r.uri)).toEqual([
			"smcp://audit-log",
			"test://static-text",
			"test://static-binary",
			"test://watched-resource",
		]);
		expect(templateList(c, READ)).toEqual([expect.objectContaining({ uriTemplate: "test://template/{id}/data", name: "template-data" })]);
		expect(promptList(c, READ).map((p) => p.name)).toEqual([
			"test_simple_prompt",
			"test_prompt_with_arguments",
			"test_prompt_with_embedded_resource",
			"test_prompt_with_image",
			"test_input_required_result_prompt",
		]);
		expect(c.capabilities()).toEqual({ prompts: true, completions: true, subscribe: true, logging: true, tasks: true });
	});

	it("the default registry and enabledTools({}) are the production view: memory and audit only", () => {
		expect(registry.list().map((t) => t.name)).toEqual(
			enabledTools({})
				.list()
				.map((t) => t.name),
		);
		expect(registry.list().every((t) => t.pack === undefined)).toBe(true);
		expect(catalogFor({})).toBe(catalogFor({ SMCP_CONFORMANCE: "false" }));
	});

	it("the memory and audit packs are served whatever the configuration", () => {
		for (const env of [{}, ON]) {
			for (const n of ["create_entities", "read_graph", "search_nodes", "audit_log"])
				expect(catalogFor(env).tools.callable(n), n).toBeDefined();
			expect(catalogFor(env).resource("smcp://audit-log?limit=5")?.name).toBe("audit-log");
		}
	});
});

describe("internal readers (resources and prompts run in the kernel)", () => {
	const c = catalogFor(ON);

	it("are never listed and never reachable by tools/call", () => {
		for (const n of ["conformance_read_resource", "conformance_get_prompt"]) {
			expect(names(c)).not.toContain(n);
			expect(c.tools.callable(n)).toBeUndefined();
			expect(c.kernelTool(n, undefined)).toBeUndefined();
			expect(c.kernelTool(n, "tools/call")).toBeUndefined();
		}
	});

	it("serve the read they exist for", () => {
		expect(c.kernelTool("conformance_read_resource", "resources/read")?.name).toBe("conformance_read_resource");
		expect(resourceRead(c, "test://template/123/data")?.call).toEqual({
			name: "conformance_read_resource",
			arguments: { uri: "test://template/123/data" },
			method: "resources/read",
		});
		expect(resourceRead(c, "smcp://audit-log?limit=5&tool=read_graph")?.call).toEqual({
			name: "audit_log",
			arguments: { limit: 5, tool: "read_graph" },
			method: "resources/read",
		});
	});

	it("templates match one segment per variable, nothing more", () => {
		expect(c.resource("test://template/abc/data")?.name).toBe("template-data");
		expect(c.resource("test://template/a/b/data")).toBeUndefined();
		expect(c.resource("test://template//data")).toBeUndefined();
		expect(c.resource("test://template/1/data/extra")).toBeUndefined();
		expect(c.resource("test://static-text-and-more")).toBeUndefined();
	});
});

describe("publishing", () => {
	it("capabilities with the pack off are exactly the core ones on both lanes (tasks: the memory pack's import and export; legacy tools change when an app is deployed)", () => {
		const off = catalogFor({});
		const tasks = { list: {}, cancel: {}, requests: { tools: { call: {} } } };
		expect(serverCapabilities(off, "legacy")).toEqual({ tools: { listChanged: true }, resources: { listChanged: false }, tasks });
		expect(serverCapabilities(off, "modern")).toEqual({
			tools: { listChanged: false },
			resources: { listChanged: false },
			logging: {},
			extensions: { "io.modelcontextprotocol/tasks": {} },
		});
	});

	it("capabilities with the pack on add prompts, completions, logging, and subscribe on the legacy lane only", () => {
		const on = catalogFor(ON);
		expect(serverCapabilities(on, "legacy")).toEqual({
			tools: { listChanged: true },
			resources: { listChanged: false, subscribe: true },
			prompts: { listChanged: false },
			completions: {},
			logging: {},
			tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
		});
		expect(serverCapabilities(on, "modern").resources).toEqual({ listChanged: false });
	});

	it("lists follow the caller's scopes", () => {
		const on = catalogFor(ON);
		expect(toolList(on, [])).toEqual([]);
		expect(resourceList(on, [])).toEqual([]);
		expect(promptList(on, [])).toEqual([]);
		expect(toolList(on, ["mcp:write"]).map((t) => t.name)).toContain("test_simple_text");
	});

	it("completion: prefix matches for a prompt argument, unknown references are undefined", () => {
		const on = catalogFor(ON);
		expect(completionValues(on, { type: "ref/prompt", name: "test_prompt_with_arguments" }, { name: "arg1", value: "par" }, READ)).toEqual({
			values: ["paris", "park", "party"],
			total: 3,
			hasMore: false,
		});
		expect(completionValues(on, { type: "ref/prompt", name: "test_simple_prompt" }, { name: "x", value: "" }, READ)?.values).toEqual([]);
		expect(completionValues(on, { type: "ref/prompt", name: "nope" }, { name: "arg1", value: "" }, READ)).toBeUndefined();
		expect(
			completionValues(on, { type: "ref/prompt", name: "test_prompt_with_arguments" }, { name: "arg1", value: "" }, []),
		).toBeUndefined();
		expect(
			completionValues(catalogFor({}), { type: "ref/prompt", name: "test_prompt_with_arguments" }, { name: "arg1", value: "" }, READ),
		).toBeUndefined();
	});
});

describe("the conformance fixtures", () => {
	const tool = (n: string) => fullCatalog.tools.get(n)!;

	it("are read-only, mcp:read, in the conformance pack", () => {
		for (const t of [...conformanceTools, ...statelessTools])
			expect([t.pack, t.scope, t.rateClass, t.annotations.readOnlyHint], t.name).toEqual(["conformance", "mcp:read", "read", true]);
	});

	it("return the content blocks their scenarios specify", () => {
		expect(toolContent(tool("test_image_content"), { mimeType: "image/png" })).toEqual([
			expect.objectContaining({ type: "image", mimeType: "image/png" }),
		]);
		expect(toolContent(tool("test_audio_content"), { mimeType: "audio/wav" })).toEqual([
			expect.objectContaining({ type: "audio", mimeType: "audio/wav" }),
		]);
		expect(toolContent(tool("test_multiple_content_types"), { blocks: 3 }).map((b) => b.type)).toEqual(["text", "image", "resource"]);
	});

	it("declare their client requests as asks, none for arguments that do not validate", () => {
		expect(Object.values(toolAsks(tool("test_sampling"), { prompt: "hi" })).map((a) => a.method)).toEqual(["sampling/createMessage"]);
		expect(Object.values(toolAsks(tool("test_elicitation"), { message: "who?" })).map((a) => a.method)).toEqual(["elicitation/create"]);
		expect(toolAsks(tool("test_elicitation"), { message: 42 })).toEqual({});
		expect(toolAsks(tool("test_simple_text"), {})).toEqual({});
	});

	it("ask the 2026-07-28 scenarios' questions under the keys their texts name", () => {
		const keys = (n: string, answers = {}) => Object.keys(toolAsks(tool(n), {}, answers));
		expect(keys("test_input_required_result_elicitation")).toEqual(["user_name"]);
		expect(keys("test_input_required_result_sampling")).toEqual(["capital_question"]);
		expect(keys("test_input_required_result_list_roots")).toEqual(["client_roots"]);
		expect(keys("test_input_required_result_multiple_inputs")).toEqual(["user_name", "greeting", "client_roots"]);
		// multi-round: the second question only once the first is answered.
		expect(keys("test_input_required_result_multi_round")).toEqual(["step1"]);
		expect(keys("test_input_required_result_multi_round", { step1: { action: "accept", content: { name: "A" } } })).toEqual(["step2"]);
		expect(Object.keys(toolAsks(tool("conformance_get_prompt"), { name: "test_input_required_result_prompt" }))).toEqual(["user_context"]);
		expect(toolAsks(tool("conformance_get_prompt"), { name: "test_simple_prompt" })).toEqual({});
		expect(tool("test_missing_capability").requires).toEqual(["sampling"]);
	});

	it("publish json_schema_2020_12_tool's JSON Schema verbatim, and validate the same arguments in the kernel", () => {
		const entry = toolList(catalogFor(ON), READ).find((e) => e.name === "json_schema_2020_12_tool")!;
		expect(entry.inputSchema).toMatchObject({
			$schema: "https://json-schema.org/draft/2020-12/schema",
			additionalProperties: false,
			$defs: { address: { $anchor: "addressDef" } },
		});
		expect(entry.inputSchema).toHaveProperty("if");
		const input = tool("json_schema_2020_12_tool").input;
		expect(input.safeParse({ name: "A", email: "a@example.com" }).success).toBe(true);
		expect(input.safeParse({ contactMethod: "phone", phone: "123" }).success).toBe(true);
		expect(input.safeParse({ contactMethod: "phone", email: "a@example.com" }).success).toBe(false);
		expect(input.safeParse({ name: "A" }).success).toBe(false);
		expect(input.safeParse({ email: "a@example.com", extra: 1 }).success).toBe(false);
	});

	it("mirror test_custom_header's region into the Mcp-Param-Region header (x-mcp-header)", () => {
		const entry = toolList(catalogFor(ON), READ).find((e) => e.name === "test_custom_header")!;
		expect(entry.inputSchema).toMatchObject({ properties: { region: { type: "string", "x-mcp-header": "Region" } } });
	});
});

describe("Catalog cross-checks", () => {
	const t = (name: string, extra: Partial<ToolDefinition> = {}): ToolDefinition =>
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
			...extra,
		}) as ToolDefinition;

	it("refuses a resource whose reader is not declared", () => {
		expect(
			() =>
				new Catalog({
					tools: [],
					resources: [{ uri: "x://a", name: "a", description: "a", mimeType: "text/plain", scope: "mcp:read", reader: { tool: "nope" } }],
				}),
		).toThrow(/tool "nope", which is not declared/);
	});

	it("refuses a reader from another pack (it could be off while the entry is listed)", () => {
		expect(
			() =>
				new Catalog({
					tools: [t("r", { pack: "p1" })],
					prompts: [{ name: "x", description: "x", arguments: [], scope: "mcp:read", reader: { tool: "r" } }],
				}),
		).toThrow(/pack p1/);
	});

	it("refuses a resource with both or neither of uri and uriTemplate, and a prompt declared twice", () => {
		expect(
			() =>
				new Catalog({
					tools: [t("r")],
					resources: [{ name: "a", description: "a", mimeType: "text/plain", scope: "mcp:read", reader: { tool: "r" } }],
				}),
		).toThrow(/exactly one/);
		const p = { name: "x", description: "x", arguments: [], scope: "mcp:read" as const, reader: { tool: "r" } };
		expect(() => new Catalog({ tools: [t("r")], prompts: [p, p] })).toThrow(/declared twice/);
	});
});
