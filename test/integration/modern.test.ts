/**
 * The 2026-07-28 lane on /mcp, next to the 2025 lane on the same URL: era routing, the modern
 * header and version rules, one tenant state across revisions, and confirmation of destructive
 * calls by multi-round-trip elicitation with a sealed, bound, single-use requestState.
 */
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { envelope as modernEnvelope, MODERN, modernPost as rawModernPost } from "../support/modern";
import { connectMcp, ORIGIN, selfFetch, signedIn, testEnv } from "./helpers";

const withAuth = (token: string) => (url: string | URL, init?: RequestInit) => {
	const headers = new Headers(init?.headers);
	headers.set("Authorization", `Bearer ${token}`);
	return selfFetch(url.toString(), { ...init, headers });
};

type Answer = { action: "accept"; content: { confirm: boolean } } | { action: "decline" } | { action: "cancel" };

/** A v2 SDK client. `mode`: pinned modern, auto-negotiating, or the default legacy. */
async function connectV2(token: string, opts: { mode?: "modern" | "auto" | "legacy"; elicit?: () => Answer } = {}) {
	const mode = opts.mode ?? "modern";
	const client = new ClientV2(
		{ name: "itest-v2", version: "1.0.0" },
		{
			capabilities: opts.elicit ? { elicitation: { form: {} } } : {},
			versionNegotiation: { mode: mode === "modern" ? { pin: MODERN } : mode },
		},
	);
	if (opts.elicit) client.setRequestHandler("elicitation/create", async () => opts.elicit!() as never);
	const transport = new TransportV2(new URL(`${ORIGIN}/mcp`), { fetch: withAuth(token) });
	await client.connect(transport);
	return client;
}

const modernPost = (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
	rawModernPost(selfFetch, ORIGIN, token, body, headers);

/** This file's requests declare no capability unless a test says so. */
const envelope = (caps: Record<string, unknown> = {}) => modernEnvelope(caps);

const toolCall = (
	id: number,
	name: string,
	args: Record<string, unknown>,
	caps: Record<string, unknown> = {},
	extra: Record<string, unknown> = {},
) => ({
	jsonrpc: "2.0",
	id,
	method: "tools/call",
	params: { name, arguments: args, _meta: envelope(caps), ...extra },
});

const many = (prefix: string, n = 5) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, entityType: "t", observations: [] }));

describe("era routing on one URL", () => {
	it("a pinned 2026-07-28 client discovers, lists and calls with no session; the data is the tenant's", async () => {
		const { tokens } = await signedIn();
		const modern = await connectV2(tokens.access_token);
		const tools = await modern.listTools();
		expect(tools.tools.map((t) => t.name)).toContain("create_entities");
		const r = await modern.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "FromModern", entityType: "t", observations: ["2026"] }] },
		});
		expect(r.structuredContent).toEqual({ entities: [{ name: "FromModern", entityType: "t", observations: ["2026"] }] });
		// A 2025-11-25 client of the same tenant, at the same time, sees it, and vice versa.
		const legacy = (await connectMcp(tokens.access_token)).client;
		await legacy.callTool({ name: "add_observations", arguments: { observations: [{ entityName: "FromModern", contents: ["2025"] }] } });
		const back = await modern.callTool({ name: "open_nodes", arguments: { names: ["FromModern"] } });
		expect((back.structuredContent as { entities: { observations: string[] }[] }).entities[0]!.observations).toEqual(["2026", "2025"]);
	});

	it("an auto-negotiating v2 client lands on the modern lane; a default v2 client on the 2025 lane", async () => {
		const { account, tokens } = await signedIn();
		const auto = await connectV2(tokens.access_token, { mode: "auto" });
		await auto.callTool({ name: "read_graph", arguments: {} });
		const legacy = await connectV2(tokens.access_token, { mode: "legacy" });
		await legacy.callTool({ name: "read_graph", arguments: {} });
		const lanes = await runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)), (_o: TenantObject, s) =>
			s.storage.sql
				.exec<{ lane: string; protocol: string }>("SELECT lane, protocol FROM audit WHERE tool = 'read_graph' ORDER BY seq")
				.toArray(),
		);
		expect(lanes).toEqual([
			{ lane: "modern", protocol: MODERN },
			{ lane: "streamable-http", protocol: "2025-11-25" },
		]);
	});

	it("server/discover answers with the supported versions and capabilities", async () => {
		const { tokens } = await signedIn();
		const res = await modernPost(
			tokens.access_token,
			{ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: envelope() } },
			{ "Mcp-Method": "server/discover" },
		);
		expect(res.status).toBe(200);
		const body = (await res.json()) as { result: { supportedVersions: string[]; capabilities: { tools?: unknown } } };
		expect(body.result.supportedVersions).toContain(MODERN);
		expect(body.result.capabilities.tools).toBeTruthy();
	});

	it("tools/list carries ttlMs and cacheScope, in a deterministic order", async () => {
		const { tokens } = await signedIn();
		const res = await modernPost(
			tokens.access_token,
			{ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: envelope() } },
			{ "Mcp-Method": "tools/list" },
		);
		const body = (await res.json()) as { result: { tools: { name: string }[]; ttlMs: number; cacheScope: string } };
		expect(body.result.ttlMs).toBe(10_000); // hosted tools change the list: shorter than the other lists' 60 s
		expect(body.result.cacheScope).toBe("private");
		const names = body.result.tools.map((t) => t.name);
		expect(names).toEqual([...names].sort());
	});

	it("resources/read of an unknown URI → -32602 with the URI in data (SEP-2164), never empty contents", async () => {
		const { tokens } = await signedIn();
		const uri = "smcp://no-such-resource";
		const res = await modernPost(
			tokens.access_token,
			{ jsonrpc: "2.0", id: 5, method: "resources/read", params: { uri, _meta: envelope() } },
			{ "Mcp-Method": "resources/read", "Mcp-Name": uri },
		);
		const body = (await res.json()) as { error: { code: number; message: string; data: { uri: string } } };
		expect(body.error).toEqual({ code: -32602, message: "Resource not found", data: { uri } });
	});
});

describe("2026-07-28 header and version rules", () => {
	it("Mcp-Method that does not match the body → 400 with -32020", async () => {
		const { tokens } = await signedIn();
		const res = await modernPost(tokens.access_token, toolCall(1, "read_graph", {}), {
			"Mcp-Method": "tools/list",
			"Mcp-Name": "read_graph",
		});
		expect(res.status).toBe(400);
		expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
	});

	it("Mcp-Name that does not match the tool → 400 with -32020", async () => {
		const { tokens } = await signedIn();
		const res = await modernPost(tokens.access_token, toolCall(1, "read_graph", {}), {
			"Mcp-Method": "tools/call",
			"Mcp-Name": "delete_entities",
		});
		expect(res.status).toBe(400);
		expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
	});

	it("an unsupported revision → 400 with -32022 naming the supported versions", async () => {
		const { tokens } = await signedIn();
		const body = {
			jsonrpc: "2.0",
			id: 1,
			method: "tools/list",
			params: { _meta: { ...envelope(), "io.modelcontextprotocol/protocolVersion": "2099-01-01" } },
		};
		const res = await modernPost(tokens.access_token, body, { "Mcp-Method": "tools/list", "MCP-Protocol-Version": "2099-01-01" });
		expect(res.status).toBe(400);
		const err = ((await res.json()) as { error: { code: number; data: { supported: string[] } } }).error;
		expect(err.code).toBe(-32022);
		expect(err.data.supported).toContain(MODERN);
	});

	it("GET and DELETE without a session → 405", async () => {
		const { tokens } = await signedIn();
		for (const method of ["GET", "DELETE"]) {
			const res = await selfFetch(`${ORIGIN}/mcp`, {
				method,
				headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream" },
			});
			expect(res.status).toBe(405);
		}
	});

	it("a read-only token calling a write tool on the modern lane → 403 insufficient_scope", async () => {
		const { tokens } = await signedIn({ scope: ["mcp:read"] });
		const res = await modernPost(tokens.access_token, toolCall(1, "create_entities", { entities: [] }), {
			"Mcp-Method": "tools/call",
			"Mcp-Name": "create_entities",
		});
		expect(res.status).toBe(403);
		expect(res.headers.get("WWW-Authenticate")).toContain("insufficient_scope");
	});
});

describe("confirmation of destructive calls", () => {
	afterEach(() => vi.useRealTimers());

	async function seeded(prefix: string, opts: Parameters<typeof connectV2>[1] = {}) {
		const s = await signedIn();
		const client = await connectV2(s.tokens.access_token, opts);
		await client.callTool({ name: "create_entities", arguments: { entities: many(prefix) } });
		return { ...s, client };
	}
	const count = async (client: ClientV2) =>
		((await client.callTool({ name: "read_graph", arguments: {} })).structuredContent as { entities: unknown[] }).entities.length;

	it.each([
		["accept", { action: "accept", content: { confirm: true } } as Answer, 0],
		["decline", { action: "decline" } as Answer, 5],
		["cancel", { action: "cancel" } as Answer, 5],
	])("2026-07-28 elicitation (%s): input_required, then the retried call runs only if confirmed", async (_n, answer, left) => {
		let asked = 0;
		const { client } = await seeded("M", { elicit: () => (asked++, answer) });
		const r = await client.callTool({ name: "delete_entities", arguments: { entityNames: many("M").map((e) => e.name) } });
		expect(asked).toBe(1);
		expect(Boolean(r.isError)).toBe(left > 0);
		expect(await count(client)).toBe(left);
	});

	it.each([
		["accept", { action: "accept", content: { confirm: true } } as Answer, 0],
		["decline", { action: "decline" } as Answer, 5],
		["cancel", { action: "cancel" } as Answer, 5],
	])("2025-11-25 pushed elicitation (%s)", async (_n, answer, left) => {
		let asked = 0;
		const { client } = await seeded("L", { mode: "legacy", elicit: () => (asked++, answer) });
		const r = await client.callTool({ name: "delete_entities", arguments: { entityNames: many("L").map((e) => e.name) } });
		expect(asked).toBe(1);
		expect(Boolean(r.isError)).toBe(left > 0);
		expect(await count(client)).toBe(left);
	});

	it("a client without elicitation gets a tool error that says how to proceed, never a silent delete", async () => {
		const { client } = await seeded("N");
		const r = await client.callTool({ name: "delete_entities", arguments: { entityNames: many("N").map((e) => e.name) } });
		expect(r.isError).toBe(true);
		expect((r.content as { text: string }[])[0]!.text).toMatch(/"confirm": true/);
		expect(await count(client)).toBe(5);
		const ok = await client.callTool({ name: "delete_entities", arguments: { entityNames: many("N").map((e) => e.name), confirm: true } });
		expect(ok.isError).toBeFalsy();
		expect(await count(client)).toBe(0);
	});

	it("small deletes need no confirmation", async () => {
		const { client } = await seeded("S");
		const r = await client.callTool({ name: "delete_entities", arguments: { entityNames: ["S0", "S1"] } });
		expect(r.isError).toBeFalsy();
	});

	describe("requestState attacks", () => {
		const caps = { elicitation: { form: {} } };
		const names = many("R").map((e) => e.name);
		const headers = { "Mcp-Method": "tools/call", "Mcp-Name": "delete_entities" };
		const accepted = { confirm: { action: "accept", content: { confirm: true } } };

		async function firstRound(token: string) {
			const res = await modernPost(token, toolCall(1, "delete_entities", { entityNames: names }, caps), headers);
			const body = (await res.json()) as { result: { resultType: string; requestState: string; inputRequests: Record<string, unknown> } };
			expect(body.result.resultType).toBe("input_required");
			expect(body.result.inputRequests.confirm).toBeTruthy();
			return body.result.requestState;
		}
		const retry = (token: string, state: string, id = 2, args: Record<string, unknown> = { entityNames: names }) =>
			modernPost(token, toolCall(id, "delete_entities", args, caps, { inputResponses: accepted, requestState: state }), headers);

		it("a tampered requestState is rejected with -32602 and audited", async () => {
			const { account, tokens } = await seeded("R");
			const state = await firstRound(tokens.access_token);
			const [v, body, mac] = state.split(".");
			const decoded = JSON.parse(atob(body!.replaceAll("-", "+").replaceAll("_", "/")));
			decoded.p.t = "create_entities";
			const forged = `${v}.${btoa(JSON.stringify(decoded)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}.${mac}`;
			const res = await retry(tokens.access_token, forged);
			expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
			const rows = await runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId)), (_o: TenantObject, s) =>
				s.storage.sql.exec<{ outcome: string }>("SELECT outcome FROM audit WHERE decision = 'denied'").toArray(),
			);
			expect(rows.some((r) => r.outcome.startsWith("invalid_request_state"))).toBe(true);
		});

		it("another principal's requestState is rejected (cross-principal replay)", async () => {
			const a = await seeded("R");
			const b = await seeded("R");
			const state = await firstRound(a.tokens.access_token);
			const res = await retry(b.tokens.access_token, state);
			expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
			expect(await count(b.client)).toBe(5);
		});

		it("a requestState for other arguments is rejected", async () => {
			const { tokens, client } = await seeded("R");
			const state = await firstRound(tokens.access_token);
			const res = await retry(tokens.access_token, state, 2, { entityNames: [...names, "extra"] });
			expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
			expect(await count(client)).toBe(5);
		});

		it("a replayed requestState is refused the second time", async () => {
			const { tokens, client } = await seeded("R");
			const state = await firstRound(tokens.access_token);
			const first = (await (await retry(tokens.access_token, state, 2)).json()) as { result: { isError?: boolean } };
			expect(first.result.isError).toBeFalsy();
			await client.callTool({ name: "create_entities", arguments: { entities: many("R") } });
			const again = (await (await retry(tokens.access_token, state, 3)).json()) as {
				result: { isError?: boolean; content: { text: string }[] };
			};
			expect(again.result.isError).toBe(true);
			expect(again.result.content[0]!.text).toMatch(/already used/);
			expect(await count(client)).toBe(5);
		});

		it("a confirmation answered without requestState is asked again, never run (the nonce travels only in the state)", async () => {
			const { tokens, client } = await seeded("R");
			const res = await modernPost(
				tokens.access_token,
				toolCall(1, "delete_entities", { entityNames: names }, caps, { inputResponses: accepted }),
				headers,
			);
			const body = (await res.json()) as { result: { resultType: string; inputRequests: Record<string, unknown> } };
			expect(body.result.resultType).toBe("input_required");
			expect(Object.keys(body.result.inputRequests)).toEqual(["confirm"]);
			expect(await count(client)).toBe(5);
		});

		it("an expired requestState is rejected", async () => {
			const { tokens, client } = await seeded("R");
			const state = await firstRound(tokens.access_token);
			vi.useFakeTimers({ toFake: ["Date"] });
			vi.setSystemTime(Date.now() + 10 * 60_000);
			const res = await retry(tokens.access_token, state);
			vi.useRealTimers();
			expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
			expect(await count(client)).toBe(5);
		});
	});
});
