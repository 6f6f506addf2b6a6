/**
 * The compatibility matrix: every protocol revision SMCP serves × the features a client meets,
 * driven by the real SDK clients (v1 `@modelcontextprotocol/sdk` for 2024-11-05 over SSE and the
 * 2025 revisions over Streamable HTTP; v2 `@modelcontextprotocol/client` pinned to 2026-07-28 and
 * auto-negotiating). docs/compatibility.md shows the same matrix as a table.
 */
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { ORIGIN, selfFetch, signedIn, testEnv } from "./helpers";

type Answer = { action: "accept"; content: { confirm: boolean } } | { action: "decline" } | { action: "cancel" };

interface Revision {
	/** What the matrix row is called. */
	name: string;
	/** The revision the session must end up on. */
	expected: string;
	/** Whether that revision has elicitation (2025-06-18 and later). */
	elicitation: boolean;
	connect(token: string, answer: () => Answer): Promise<ClientV1 | ClientV2>;
}

/** A fetch that adds the bearer token and pins the protocol version a v1 client asks for. */
function clientFetch(token: string, revision?: string) {
	return async (url: string | URL, init?: RequestInit) => {
		const headers = new Headers(init?.headers);
		headers.set("Authorization", `Bearer ${token}`);
		let body = init?.body;
		if (revision && typeof body === "string" && body.includes('"initialize"')) {
			const msg = JSON.parse(body);
			msg.params.protocolVersion = revision;
			body = JSON.stringify(msg);
		}
		return selfFetch(url.toString(), { ...init, headers, body });
	};
}

function v1(revision: string, transport: "mcp" | "sse"): Revision["connect"] {
	return async (token, answer) => {
		const elicitation = revision >= "2025-06-18";
		const client = new ClientV1(
			{ name: `matrix-${revision}`, version: "1" },
			{ capabilities: elicitation ? { elicitation: {} } : {}, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
		);
		if (elicitation) client.setRequestHandler(ElicitRequestSchema, async () => answer() as never);
		const f = clientFetch(token, revision);
		const t =
			transport === "mcp"
				? new StreamableHTTPClientTransport(new URL(`${ORIGIN}/mcp`), { fetch: f })
				: new SSEClientTransport(new URL(`${ORIGIN}/sse`), { fetch: f, eventSourceInit: { fetch: f } });
		await client.connect(t);
		return client;
	};
}

function v2(mode: "auto" | { pin: string }): Revision["connect"] {
	return async (token, answer) => {
		const client = new ClientV2(
			{ name: "matrix-v2", version: "1" },
			{ capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode } },
		);
		client.setRequestHandler("elicitation/create", async () => answer() as never);
		await client.connect(new TransportV2(new URL(`${ORIGIN}/mcp`), { fetch: clientFetch(token) }));
		return client;
	};
}

const MATRIX: Revision[] = [
	{ name: "2024-11-05 (HTTP+SSE)", expected: "2024-11-05", elicitation: false, connect: v1("2024-11-05", "sse") },
	{ name: "2025-03-26", expected: "2025-03-26", elicitation: false, connect: v1("2025-03-26", "mcp") },
	{ name: "2025-06-18", expected: "2025-06-18", elicitation: true, connect: v1("2025-06-18", "mcp") },
	{ name: "2025-11-25", expected: "2025-11-25", elicitation: true, connect: v1("2025-11-25", "mcp") },
	{ name: "2026-07-28 (pinned)", expected: "2026-07-28", elicitation: true, connect: v2({ pin: "2026-07-28" }) },
	{ name: "2026-07-28 (auto-negotiated)", expected: "2026-07-28", elicitation: true, connect: v2("auto") },
];

const entities = (prefix: string, n: number) =>
	Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, entityType: "t", observations: [] }));
/** What the matrix needs from either SDK's client. */
type AnyClient = {
	callTool(
		params: { name: string; arguments: Record<string, unknown> },
		...rest: unknown[]
	): Promise<{ structuredContent?: unknown; isError?: boolean; content: unknown }>;
	listTools(): Promise<{ tools: { name: string; inputSchema: { type: string }; outputSchema?: { type: string } }[] }>;
};

describe.each(MATRIX)("revision $name", (rev) => {
	async function session(answer: () => Answer = () => ({ action: "accept", content: { confirm: true } })) {
		const { account, tokens } = await signedIn();
		const client = (await rev.connect(tokens.access_token, answer)) as unknown as AnyClient;
		return { account, client };
	}

	it("connects (initialize or server/discover) on the expected revision, audited as such", async () => {
		const { account, client } = await session();
		await client.callTool({ name: "read_graph", arguments: {} });
		const row = await runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)), (_o: TenantObject, s) =>
			s.storage.sql.exec<{ protocol: string }>("SELECT protocol FROM audit WHERE tool = 'read_graph'").one(),
		);
		expect(row.protocol).toBe(rev.expected);
	});

	it("tools/list has the memory tools with input and output schemas", async () => {
		const { client } = await session();
		const tools = (await client.listTools()).tools;
		const create = tools.find((t) => t.name === "create_entities")!;
		expect(create.inputSchema.type).toBe("object");
		expect(create.outputSchema?.type).toBe("object");
		expect(tools.length).toBeGreaterThanOrEqual(10);
	});

	it("tools/call returns structured output", async () => {
		const { client } = await session();
		const r = await client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "X", entityType: "t", observations: ["o"] }] },
		});
		expect(r.structuredContent).toEqual({ entities: [{ name: "X", entityType: "t", observations: ["o"] }] });
	});

	it("progress notifications reach the client", async () => {
		const { client } = await session();
		const seen: number[] = [];
		const onprogress = (p: { progress: number }) => void seen.push(p.progress);
		const params = { name: "create_entities", arguments: { entities: entities("P", 200) } };
		// v1 takes (params, resultSchema, options); v2 takes (params, options).
		if (client instanceof ClientV2) await client.callTool(params, { onprogress });
		else await (client as unknown as ClientV1).callTool(params, undefined, { onprogress });
		// The SDK's EventSource client, when it runs inside workerd, delivers each SSE message twice;
		// the wire carries each once (sse.test.ts checks the raw stream), so compare distinct values.
		expect(rev.expected === "2024-11-05" ? [...new Set(seen)] : seen).toEqual([100, 200]);
	});

	it.each([
		["accept", { action: "accept", content: { confirm: true } } as Answer],
		["decline", { action: "decline" } as Answer],
		["cancel", { action: "cancel" } as Answer],
	])("elicitation %s on a destructive call (or the confirm argument where the revision has none)", async (kind, answer) => {
		let asked = 0;
		const { client } = await session(() => (asked++, answer));
		await client.callTool({ name: "create_entities", arguments: { entities: entities("D", 5) } });
		const names = entities("D", 5).map((e) => e.name);
		const r = await client.callTool({ name: "delete_entities", arguments: { entityNames: names } });
		const left = ((await client.callTool({ name: "read_graph", arguments: {} })).structuredContent as { entities: unknown[] }).entities
			.length;
		if (rev.elicitation) {
			expect(asked).toBe(1);
			expect(Boolean(r.isError)).toBe(kind !== "accept");
			expect(left).toBe(kind === "accept" ? 0 : 5);
		} else {
			expect(asked).toBe(0);
			expect(r.isError).toBe(true);
			expect((r.content as { text: string }[])[0]!.text).toContain('"confirm": true');
			expect(left).toBe(5);
			if (kind === "accept") {
				await client.callTool({ name: "delete_entities", arguments: { entityNames: names, confirm: true } });
				expect(
					((await client.callTool({ name: "read_graph", arguments: {} })).structuredContent as { entities: unknown[] }).entities,
				).toHaveLength(0);
			}
		}
	});

	it("a tool error is a result with isError and the reference's message", async () => {
		const { client } = await session();
		const r = await client.callTool({ name: "add_observations", arguments: { observations: [{ entityName: "Nobody", contents: ["x"] }] } });
		expect(r.isError).toBe(true);
		expect((r.content as { text: string }[])[0]!.text).toBe("Entity with name Nobody not found");
	});

	it("an unknown tool is a JSON-RPC -32602 error whose message reads once and says what to do (no doubled 'MCP error' prefix)", async () => {
		const { client } = await session();
		const e = (await client.callTool({ name: "no_such_tool", arguments: {} }).catch((x: unknown) => x)) as {
			code: number;
			message: string;
		};
		expect(e.code).toBe(-32602);
		expect(e.message.match(/MCP error/g)?.length ?? 0).toBeLessThanOrEqual(1);
		expect(e.message).toMatch(/Unknown tool: no_such_tool\. Call tools\/list for the tools this connection can call\.$/);
	});

	it("bad params are a tool error naming the field", async () => {
		const { client } = await session();
		const r = await client.callTool({ name: "search_nodes", arguments: { query: 42 } });
		expect(r.isError).toBe(true);
		expect((r.content as { text: string }[])[0]!.text).toMatch(/query/);
	});
});

describe("one tenant state across revisions", () => {
	it("data written by a 2025-11-25 client is read by a 2026-07-28 client and the SSE client", async () => {
		const { tokens } = await signedIn();
		const old = (await v1("2025-11-25", "mcp")(tokens.access_token, () => ({ action: "cancel" }))) as unknown as AnyClient;
		await old.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "Bridge", entityType: "t", observations: ["written in 2025"] }] },
		});
		for (const connect of [v2({ pin: "2026-07-28" }), v1("2024-11-05", "sse")]) {
			const c = (await connect(tokens.access_token, () => ({ action: "cancel" }))) as unknown as AnyClient;
			const r = await c.callTool({ name: "search_nodes", arguments: { query: "written in 2025" } });
			expect((r.structuredContent as { entities: { name: string }[] }).entities.map((e) => e.name)).toEqual(["Bridge"]);
		}
	});
});
