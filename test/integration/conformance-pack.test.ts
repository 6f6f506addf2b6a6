/**
 * The conformance fixture pack (`shared/catalog/packs/conformance`) is enabled only by configuration:
 * with the default configuration (`SMCP_CONFORMANCE` "false" in wrangler.jsonc) no lane lists
 * its tools, resources or prompts, none is callable, and the kernel refuses its tools and
 * internal readers even when asked directly. `npm run conformance` runs the official suite with
 * the pack on (test/conformance/README.md).
 */
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { brandPrincipal } from "../../shared/rpc/principal";
import { conformanceTools } from "../../shared/catalog/packs/conformance/tools";
import { connectMcp, ORIGIN, selfFetch, signedIn, testEnv } from "./helpers";

const FIXTURE_TOOLS = conformanceTools.map((t) => t.name);
const withAuth = (token: string) => (url: string | URL, init?: RequestInit) => {
	const headers = new Headers(init?.headers);
	headers.set("Authorization", `Bearer ${token}`);
	return selfFetch(url.toString(), { ...init, headers });
};
const rpcCode = (e: unknown) => (e as { code?: number }).code;

describe("the conformance fixture pack is off by default", () => {
	it("the test configuration leaves SMCP_CONFORMANCE off, as wrangler.jsonc does", () => {
		expect(testEnv.SMCP_CONFORMANCE ?? "false").not.toBe("true");
	});

	it("2025-11-25 lane: no fixture tool, resource, template or prompt is listed, and the capabilities are the core ones", async () => {
		const { tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		const caps = client.getServerCapabilities();
		expect(caps?.prompts).toBeUndefined();
		expect(caps?.completions).toBeUndefined();
		expect(caps?.logging).toBeUndefined();
		expect(caps?.resources).toEqual({ listChanged: false });
		const tools = (await client.listTools()).tools.map((t) => t.name);
		expect(tools).toContain("read_graph");
		expect(tools.filter((n) => n.startsWith("test_") || n.startsWith("conformance_"))).toEqual([]);
		expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(["smcp://audit-log"]);
		expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
		// No prompts capability: the method is not served at all.
		await expect(
			client.request({ method: "prompts/list", params: {} }, (await import("@modelcontextprotocol/sdk/types.js")).ListPromptsResultSchema),
		).rejects.toSatisfy((e) => rpcCode(e) === -32601);
	});

	it("2025-11-25 lane: calling any fixture tool is an unknown tool (-32602)", async () => {
		const { tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		for (const name of FIXTURE_TOOLS) {
			const args = name === "test_sampling" ? { prompt: "p" } : name === "test_elicitation" ? { message: "m" } : {};
			await expect(client.callTool({ name, arguments: args }), name).rejects.toSatisfy(
				(e) => rpcCode(e) === -32602 && /Unknown tool/.test(String((e as Error).message)),
			);
		}
	});

	it("2025-11-25 lane: fixture resources are not found (-32002) and internal readers are unknown tools", async () => {
		const { tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		for (const uri of ["test://static-text", "test://static-binary", "test://template/123/data", "test://watched-resource"]) {
			await expect(client.readResource({ uri })).rejects.toSatisfy((e) => rpcCode(e) === -32002);
		}
		for (const name of ["conformance_read_resource", "conformance_get_prompt"]) {
			await expect(client.callTool({ name, arguments: { uri: "test://static-text", name: "test_simple_prompt" } })).rejects.toSatisfy(
				(e) => rpcCode(e) === -32602,
			);
		}
	});

	it("2026-07-28 lane: no fixture is listed or callable", async () => {
		const { tokens } = await signedIn();
		const client = new ClientV2(
			{ name: "itest-v2", version: "1.0.0" },
			{ capabilities: {}, versionNegotiation: { mode: { pin: "2026-07-28" } } },
		);
		await client.connect(new TransportV2(new URL(`${ORIGIN}/mcp`), { fetch: withAuth(tokens.access_token) }));
		const tools = (await client.listTools()).tools.map((t) => t.name);
		expect(tools).toContain("read_graph");
		expect(tools.filter((n) => n.startsWith("test_"))).toEqual([]);
		expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(["smcp://audit-log"]);
		await expect(client.callTool({ name: "test_simple_text", arguments: {} })).rejects.toThrow(/Unknown tool/);
		await expect(client.readResource({ uri: "test://static-text" })).rejects.toThrow();
	});

	it("the kernel refuses fixture tools and internal readers even when called directly, and audits the attempt", async () => {
		const tenantId = `t_${crypto.randomUUID().replaceAll("-", "")}`;
		const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
		const p = brandPrincipal({ tenantId, userId: "u_1", clientId: "c1", scopes: ["mcp:read", "mcp:write"] });
		const base = { lane: "streamable-http" as const, protocolVersion: "2025-11-25", traceId: "trace-conformance-off" };
		expect(await stub.callTool(p, { ...base, name: "test_simple_text", arguments: {} })).toEqual({
			ok: false,
			error: { reason: "unknown_tool", tool: "test_simple_text" },
		});
		expect(
			await stub.callTool(p, {
				...base,
				name: "conformance_read_resource",
				arguments: { uri: "test://static-text" },
				method: "resources/read",
			}),
		).toEqual({
			ok: false,
			error: { reason: "unknown_tool", tool: "conformance_read_resource" },
		});
		const rows = await runInDurableObject(stub, (_o: TenantObject, s) =>
			s.storage.sql
				.exec<{ tool: string; decision: string; outcome: string }>("SELECT tool, decision, outcome FROM audit ORDER BY seq")
				.toArray(),
		);
		// Refused requests of one kind and caller are audited once per minute (docs/security.md,
		// "Every audited request spends budget"): the first attempt's row stands for both.
		expect(rows).toEqual([{ tool: "test_simple_text", decision: "error", outcome: "unknown_tool" }]);
	});
});
