/**
 * Differential test: one scripted sequence of memory-tool calls against the reference
 * `@modelcontextprotocol/server-memory` (from npm, over stdio) and against SMCP (over /mcp, signed
 * in through OAuth). Results must match call for call: structured content, error flag and text.
 */
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWithOAuth } from "./oauth-client";
import { startWrangler, type DevServer } from "./wrangler";

const require = createRequire(import.meta.url);
let dev: DevServer;
let smcp: Client;
let reference: Client;

beforeAll(async () => {
	dev = await startWrangler({ persistDir: mkdtempSync(join(tmpdir(), "smcp-diff-")) });
	smcp = (await connectWithOAuth("mcp", dev.origin, { email: "dev@smcp.local", password: "smcp-dev-password" })).client;
	reference = new Client({ name: "differential", version: "1.0.0" });
	await reference.connect(
		new StdioClientTransport({
			command: process.execPath,
			args: [require.resolve("@modelcontextprotocol/server-memory/dist/index.js")],
			env: { MEMORY_FILE_PATH: join(mkdtempSync(join(tmpdir(), "smcp-ref-")), "memory.jsonl") },
			stderr: "ignore",
		}),
	);
});
afterAll(async () => {
	await smcp?.close();
	await reference?.close();
	await dev?.stop();
});

/** The script: duplicates against stored state, dangling relations, a failing call, searches, deletes. */
const SCRIPT: [string, Record<string, unknown>][] = [
	[
		"create_entities",
		{
			entities: [
				{ name: "Ada", entityType: "person", observations: ["wrote notes", "liked engines"] },
				{ name: "Analytical Engine", entityType: "machine", observations: [] },
			],
		},
	],
	[
		"create_entities",
		{
			entities: [
				{ name: "Ada", entityType: "robot", observations: ["other"] },
				{ name: "Babbage", entityType: "person", observations: ["designed engines"] },
			],
		},
	],
	[
		"create_relations",
		{
			relations: [
				{ from: "Ada", to: "Analytical Engine", relationType: "programmed" },
				{ from: "Babbage", to: "Ada", relationType: "worked with" },
				{ from: "Ada", to: "Ghost", relationType: "mentions" },
			],
		},
	],
	[
		"create_relations",
		{
			relations: [
				{ from: "Ada", to: "Analytical Engine", relationType: "programmed" },
				{ from: "Babbage", to: "Analytical Engine", relationType: "designed" },
			],
		},
	],
	[
		"add_observations",
		{
			observations: [
				{ entityName: "Ada", contents: ["liked engines", "Countess of Lovelace"] },
				{ entityName: "Babbage", contents: ["Difference Engine"] },
			],
		},
	],
	["add_observations", { observations: [{ entityName: "Nobody", contents: ["x"] }] }],
	["search_nodes", { query: "ENGINE" }],
	["search_nodes", { query: "person" }],
	["search_nodes", { query: "zz-nothing" }],
	["search_nodes", { query: "" }],
	["search_nodes", { query: "ab" }],
	["open_nodes", { names: ["Ada", "Ghost", "Babbage"] }],
	[
		"delete_observations",
		{
			deletions: [
				{ entityName: "Ada", observations: ["wrote notes", "never said"] },
				{ entityName: "Nobody", observations: ["x"] },
			],
		},
	],
	[
		"delete_relations",
		{
			relations: [
				{ from: "Babbage", to: "Ada", relationType: "worked with" },
				{ from: "X", to: "Y", relationType: "none" },
			],
		},
	],
	["delete_entities", { entityNames: ["Analytical Engine", "Not there"] }],
	["read_graph", {}],
	["open_nodes", { names: [] }],
];

describe("SMCP's memory pack vs @modelcontextprotocol/server-memory", () => {
	it("publishes the same tool names and input schema shapes", async () => {
		const shape = (tools: { name: string; inputSchema: { properties?: Record<string, unknown>; required?: string[] } }[]) =>
			Object.fromEntries(
				tools.map((t) => [
					t.name,
					{ properties: Object.keys(t.inputSchema.properties ?? {}).sort(), required: [...(t.inputSchema.required ?? [])].sort() },
				]),
			);
		const theirs = shape((await reference.listTools()).tools as never);
		const ours = shape((await smcp.listTools()).tools as never);
		// SMCP serves more packs (audit_log) and documented additions: delete_entities takes an
		// optional `confirm` for clients that cannot ask the person, and the two reads whose answer
		// grows with the graph take an optional `limit` and `cursor` (docs/architecture.md).
		expect(Object.keys(theirs)).toHaveLength(9);
		const additions: Record<string, string[]> = {
			delete_entities: ["confirm"],
			read_graph: ["cursor", "limit"],
			search_nodes: ["cursor", "limit"],
		};
		for (const name of Object.keys(theirs)) {
			const extra = additions[name] ?? [];
			expect({ ...ours[name], properties: ours[name]!.properties.filter((p) => !extra.includes(p)) }).toEqual(theirs[name]);
		}
	});

	it.each(SCRIPT.map((step, i) => [i + 1, ...step] as const))("step %i: %s gives the same result", async (_i, name, args) => {
		const [ours, theirs] = await Promise.all([smcp.callTool({ name, arguments: args }), reference.callTool({ name, arguments: args })]);
		expect(Boolean(ours.isError)).toBe(Boolean(theirs.isError));
		expect(ours.structuredContent).toEqual(theirs.structuredContent);
		expect(ours.content).toEqual(theirs.content);
	});
});
