/**
 * The 2026-07-28 lane's direct answers (worker/mcp/modern/direct.ts) against the SDK v2 server
 * they stand in for (worker/mcp/modern/lane.ts): the same request, answered both ways, gives the
 * same status, content type and JSON, and the same audit rows; every request the direct path
 * does not fully cover is left to the SDK server.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { catalogFor } from "../../shared/catalog/packs";
import { brandPrincipal, type VerifiedPrincipal } from "../../shared/rpc/principal";
import { answerDirectly } from "../../worker/mcp/modern/direct";
import { modernHandler } from "../../worker/mcp/modern/lane";
import { ORIGIN, signedIn, testEnv } from "./helpers";

const MODERN = "2026-07-28";
const envelope = (caps: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
	"io.modelcontextprotocol/protocolVersion": MODERN,
	"io.modelcontextprotocol/clientCapabilities": caps,
	"io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
	...extra,
});
const body = (method: string, params: Record<string, unknown> = {}, id: number | string = 7) => ({
	jsonrpc: "2.0",
	id,
	method,
	params: { ...params, _meta: (params._meta as Record<string, unknown>) ?? envelope() },
});
const request = (msg: Record<string, unknown>, headers: Record<string, string> = {}) => {
	const params = msg.params as { name?: string } | undefined;
	return new Request(`${ORIGIN}/mcp`, {
		method: "POST",
		headers: {
			"Content-Type": "application/json",
			Accept: "application/json, text/event-stream",
			"MCP-Protocol-Version": MODERN,
			"Mcp-Method": String(msg.method),
			...(msg.method === "tools/call" && params?.name ? { "Mcp-Name": params.name } : {}),
			...headers,
		},
		body: JSON.stringify(msg),
	});
};
const secret = () => String(testEnv.SMCP_SECRET);

async function caller(): Promise<VerifiedPrincipal> {
	const { account, tokens } = await signedIn();
	return brandPrincipal({
		tenantId: account.tenantId,
		userId: account.userId,
		clientId: tokens.clientId,
		scopes: ["mcp:read", "mcp:write"],
	});
}

/** Both answers to the same request: the direct one (must exist) and the SDK server's. */
async function both(p: VerifiedPrincipal, msg: Record<string, unknown>) {
	const ctx = { env: testEnv, catalog: catalogFor(testEnv), principal: p, traceId: "trace-direct" };
	const direct = await answerDirectly(request(msg), msg, ctx);
	const authInfo = { token: "", clientId: p.clientId, scopes: [...p.scopes], extra: { principal: p, traceId: "trace-direct" } };
	const sdk = await (await modernHandler(testEnv, secret())).fetch(request(msg), { authInfo, parsedBody: msg });
	const shape = async (r: Response) => ({ status: r.status, type: r.headers.get("Content-Type"), body: JSON.parse(await r.text()) });
	return { direct: direct ? await shape(direct) : null, sdk: await shape(sdk) };
}

/** The tenant's newest audit rows, without what differs from call to call. */
const lastRows = (p: VerifiedPrincipal, n: number) =>
	runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(p.tenantId)), (_o: TenantObject, s) =>
		s.storage.sql
			.exec<Record<string, SqlStorageValue>>(
				"SELECT user_id, client_id, session, lane, protocol, method, tool, args_digest, decision, outcome, trace FROM audit ORDER BY seq DESC LIMIT ?",
				n,
			)
			.toArray(),
	);

describe("2026-07-28 direct answers match the SDK server's", () => {
	it.each([
		["server/discover", body("server/discover")],
		["tools/list", body("tools/list")],
		["resources/list", body("resources/list")],
		["resources/templates/list", body("resources/templates/list")],
		["tools/call read_graph", body("tools/call", { name: "read_graph", arguments: {} })],
		["tools/call search_nodes, string id", body("tools/call", { name: "search_nodes", arguments: { query: "nothing" } }, "req-1")],
		["tools/call with invalid arguments (a tool error)", body("tools/call", { name: "search_nodes", arguments: { query: 42 } })],
	])("%s: same status, content type and JSON; same audit rows", async (_n, msg) => {
		const p = await caller();
		const { direct, sdk } = await both(p, msg);
		expect(direct).not.toBeNull();
		expect(direct).toEqual(sdk);
		const method = String(msg.method);
		if (method !== "server/discover") {
			const [a, b] = await lastRows(p, 2);
			expect(a).toEqual(b);
			expect(a).toMatchObject({ lane: "modern", protocol: MODERN, method });
		}
	});

	it.each([
		["a progress token", body("tools/call", { name: "read_graph", arguments: {}, _meta: envelope({}, { progressToken: 1 }) })],
		[
			"a log level",
			body("tools/call", { name: "read_graph", arguments: {}, _meta: envelope({}, { "io.modelcontextprotocol/logLevel": "debug" }) }),
		],
		["a list cursor", body("tools/list", { cursor: "abc" })],
		["an unknown tool", body("tools/call", { name: "no_such_tool", arguments: {} })],
		["a hosted app tool", body("tools/call", { name: "unit-converter__convert", arguments: {} })],
		[
			"a destructive call from a client that can confirm",
			body("tools/call", { name: "delete_entities", arguments: { entityNames: ["x"] }, _meta: envelope({ elicitation: {} }) }),
		],
		["an answered round (requestState)", body("tools/call", { name: "read_graph", arguments: {}, requestState: "x" })],
		["a null id", { ...body("tools/call", { name: "read_graph", arguments: {} }), id: null }],
		[
			"an envelope of another version",
			body("tools/list", { _meta: envelope({}, { "io.modelcontextprotocol/protocolVersion": "2025-11-25" }) }),
		],
	])("left to the SDK server: %s", async (_n, msg) => {
		const p = await caller();
		const direct = await answerDirectly(request(msg), msg, { env: testEnv, catalog: catalogFor(testEnv), principal: p, traceId: "t" });
		expect(direct).toBeNull();
	});

	it("left to the SDK server: headers that disagree with the body (Mcp-Method, Mcp-Name, protocol version)", async () => {
		const p = await caller();
		const ctx = { env: testEnv, catalog: catalogFor(testEnv), principal: p, traceId: "t" };
		const msg = body("tools/call", { name: "read_graph", arguments: {} });
		const variants: Record<string, string>[] = [
			{ "Mcp-Method": "tools/list" },
			{ "Mcp-Name": "search_nodes" },
			{ "MCP-Protocol-Version": "2025-11-25" },
		];
		for (const headers of variants) expect(await answerDirectly(request(msg, headers), msg, ctx)).toBeNull();
	});
});
