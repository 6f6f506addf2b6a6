import { describe, expect, it } from "vitest";
import { connectMcp, signedIn } from "./helpers";

describe("smoke", () => {
	it("a signed-in client lists and calls memory tools", async () => {
		const { tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		const tools = await client.listTools();
		expect(tools.tools.map((t) => t.name)).toContain("create_entities");
		const created = await client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "Ada", entityType: "person", observations: ["wrote notes"] }] },
		});
		expect(created.structuredContent).toEqual({ entities: [{ name: "Ada", entityType: "person", observations: ["wrote notes"] }] });
		const found = await client.callTool({ name: "search_nodes", arguments: { query: "NOTES" } });
		expect((found.structuredContent as { entities: unknown[] }).entities).toHaveLength(1);
	});
});
