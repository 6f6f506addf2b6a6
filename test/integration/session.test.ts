/**
 * SessionObject and the Streamable HTTP lane: session binding, lifecycle, resumption, eviction.
 * Scenarios trace to ../shared/security-tests.md §1, §2, §5 and §7.
 */
import { abortAllDurableObjects, evictDurableObject, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { createLegacyServer } from "../../objects/session/mcp-server";
import { migrate } from "../../objects/migrations";
import { SESSION_MIGRATIONS } from "../../objects/session/schema";
import { SessionObject } from "../../objects/session/session-object";
import { catalogFor } from "../../shared/packs";
import { sseMessages } from "../support/sse";
import { connectMcp, INIT, rawPost, rawSession, selfFetch, signedIn, testEnv, ORIGIN } from "./helpers";

const json = { "Content-Type": "application/json" };
const sessionStub = (id: string) => testEnv.SESSIONS.get(testEnv.SESSIONS.idFromName(id));


/** A progress token asks for the answer over SSE: the stream tests need one. */
const STREAMED = { progressToken: "p1" };

const call = (id: number, name: string, args: unknown, meta?: unknown) => ({
	jsonrpc: "2.0",
	id,
	method: "tools/call",
	params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
});

describe("session lifecycle", () => {
	it("initialize mints an unguessable session id bound to the session object", async () => {
		const { tokens } = await signedIn();
		const res = await rawPost(tokens.access_token, INIT);
		expect(res.status).toBe(200);
		const body = (await res.json()) as { result: { protocolVersion: string; serverInfo: { name: string } } };
		expect(body.result.protocolVersion).toBe("2025-11-25");
		expect(body.result.serverInfo.name).toBe("smcp");
		const id = res.headers.get("Mcp-Session-Id")!;
		expect(id).toMatch(/^[A-Za-z0-9_-]{44}$/); // 128-bit nonce + 128-bit MAC, visible ASCII
	});

	it("negotiates each legacy revision it supports and offers the latest for an unknown one", async () => {
		const { tokens } = await signedIn();
		for (const v of ["2025-03-26", "2025-06-18", "2025-11-25", "1999-01-01"]) {
			const res = await rawPost(tokens.access_token, { ...INIT, params: { ...INIT.params, protocolVersion: v } });
			const body = (await res.json()) as { result: { protocolVersion: string } };
			expect(body.result.protocolVersion).toBe(v === "1999-01-01" ? "2025-11-25" : v);
		}
	});

	it("a request without a session id is refused with 400", async () => {
		const { tokens } = await signedIn();
		const res = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" });
		expect(res.status).toBe(400);
	});

	it("forged, random, over-long and non-ASCII session ids get 404 without instantiating an object", async () => {
		const { tokens } = await signedIn();
		const before = (await listDurableObjectIds(testEnv.SESSIONS)).length;
		// listDurableObjectIds sees only objects that stored something; the spy sees any call at all.
		const reached = vi.spyOn(SessionObject.prototype, "handle");
		try {
			for (const id of ["x".repeat(44), "A".repeat(22) + "B".repeat(22), "a".repeat(5000), "é".repeat(44)]) {
				const res = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": encodeURIComponent(id) });
				expect(res.status).toBe(404);
			}
			expect(reached).not.toHaveBeenCalled();
		} finally {
			reached.mockRestore();
		}
		expect((await listDurableObjectIds(testEnv.SESSIONS)).length).toBe(before);
	});

	it("user B's valid token with user A's session id gets 404 (session hijacking)", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const sessionA = await rawSession(a.tokens.access_token);
		const res = await rawPost(b.tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": sessionA });
		expect(res.status).toBe(404);
		const del = await selfFetch(`${ORIGIN}/mcp`, { method: "DELETE", headers: { Authorization: `Bearer ${b.tokens.access_token}`, "Mcp-Session-Id": sessionA } });
		expect(del.status).toBe(404);
		// A's session still works.
		const ok = await rawPost(a.tokens.access_token, { jsonrpc: "2.0", id: 3, method: "tools/list" }, { "Mcp-Session-Id": sessionA });
		expect(ok.status).toBe(200);
	});

	it("the object rejects a principal that differs from the one it was bound to, even past the MAC", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const sessionA = await rawSession(a.tokens.access_token);
		const res = await sessionStub(sessionA).handle(
			{ tenantId: b.account.tenantId, userId: b.account.userId, clientId: b.tokens.clientId, scopes: ["mcp:read"] } as never,
			{ op: "post", sessionId: sessionA, messages: [{ jsonrpc: "2.0", id: 1, method: "tools/list" }], batch: false, sse: false, traceId: "t" },
		);
		expect(res.status).toBe(404);
	});

	it("re-initialize on an existing session is rejected with 400 / -32600", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const res = await rawPost(tokens.access_token, INIT, { "Mcp-Session-Id": id });
		expect(res.status).toBe(400);
		expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32600);
	});

	it("DELETE by the owner ends the session: later requests 404 and its storage is gone", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const del = await selfFetch(`${ORIGIN}/mcp`, { method: "DELETE", headers: { Authorization: `Bearer ${tokens.access_token}`, "Mcp-Session-Id": id } });
		expect(del.status).toBe(200);
		const after = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": id });
		expect(after.status).toBe(404);
		const tables = await runInDurableObject(sessionStub(id), (_o, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'").toArray());
		expect(tables).toEqual([]);
	});

	it("session TTL expiry by alarm → 404 afterwards, and a second alarm run is harmless", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		await runInDurableObject(sessionStub(id), (_o, state) => {
			const meta = state.storage.kv.get<Record<string, unknown>>("session");
			state.storage.kv.put("session", { ...meta, lastSeen: 0 });
		});
		await evictDurableObject(sessionStub(id));
		expect(await runDurableObjectAlarm(sessionStub(id))).toBe(true);
		await runDurableObjectAlarm(sessionStub(id));
		const after = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": id });
		expect(after.status).toBe(404);
	});

	it("a session stored by the earlier build (state in the SQL meta table) carries on after the upgrade", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		// Rewrite the stored session the way the earlier build kept it.
		await runInDurableObject(sessionStub(id), (_o, state) => {
			const meta = state.storage.kv.get("session");
			state.storage.kv.delete("session");
			migrate(state.storage, SESSION_MIGRATIONS);
			state.storage.sql.exec("INSERT INTO meta (k, v) VALUES ('session', ?)", JSON.stringify(meta));
		});
		await evictDurableObject(sessionStub(id));
		const res = await rawPost(tokens.access_token, call(2, "read_graph", {}), { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" });
		expect(res.status).toBe(200);
		expect(((await res.json()) as { result: { isError?: boolean } }).result.isError).toBeUndefined();
		const moved = await runInDurableObject(sessionStub(id), (_o, state) => ({
			kv: state.storage.kv.get("session") !== undefined,
			rows: state.storage.sql.exec("SELECT COUNT(*) AS n FROM meta").one().n,
		}));
		expect(moved).toEqual({ kv: true, rows: 0 });
	});

	it("an alarm on a live session only reschedules it", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		await runDurableObjectAlarm(sessionStub(id));
		const after = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": id });
		expect(after.status).toBe(200);
	});
});

describe("eviction and resumption", () => {
	it("evicting the session object between two tool calls: the second call succeeds", async () => {
		const { tokens } = await signedIn();
		const { client, transport } = await connectMcp(tokens.access_token);
		await client.callTool({ name: "create_entities", arguments: { entities: [{ name: "Kepler", entityType: "probe", observations: [] }] } });
		// A restart, as on a deploy: every object is reset, open streams included.
		await abortAllDurableObjects();
		const graph = await client.callTool({ name: "read_graph", arguments: {} });
		expect((graph.structuredContent as { entities: { name: string }[] }).entities.map((e) => e.name)).toEqual(["Kepler"]);
		// The rehydrated session still knows the client's negotiated revision.
		const list = await client.listTools();
		expect(list.tools.length).toBe(10);
	});

	it("Last-Event-ID replays the events of an interrupted stream, also after eviction", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" };
		const res = await rawPost(tokens.access_token, call(7, "create_entities", { entities: [{ name: "E1", entityType: "t", observations: [] }] }, STREAMED), headers);
		expect(res.headers.get("Content-Type")).toBe("text/event-stream");
		const events = await sseMessages(res);
		const final = events.at(-1)!;
		expect(final.data.id).toBe(7);
		expect(final.id).toBeTruthy();
		await evictDurableObject(sessionStub(id));
		// Resume from before the response: the response is delivered again.
		const [stream] = final.id!.split("_");
		const replay = await selfFetch(`${ORIGIN}/mcp`, {
			headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream", "Last-Event-ID": `${stream}_0`, ...headers },
		});
		expect(replay.status).toBe(200);
		const again = await sseMessages(replay, 1);
		expect(again[0]!.data).toEqual(final.data);
	});

	it("a 2025-11-25 POST stream opens with a priming event (id, retry, empty data) from which Last-Event-ID replays everything", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" };
		const res = await rawPost(tokens.access_token, call(3, "read_graph", {}, STREAMED), headers);
		const text = await res.text();
		// streamable-http §"Sending Messages to the Server": an event ID and an empty data field first.
		const [priming, ...rest] = text.split("\n\n").filter(Boolean);
		expect(priming).toMatch(/^id: [A-Za-z0-9]+_0\nretry: \d+\ndata: $/);
		expect(rest.at(-1)).toContain('"id":3');
		const replay = await selfFetch(`${ORIGIN}/mcp`, {
			headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream", "Last-Event-ID": priming!.slice(4, priming!.indexOf("\n")), ...headers },
		});
		expect((await sseMessages(replay, 1))[0]!.data.id).toBe(3);
	});

	it("a 2025-06-18 session gets no priming event (older clients choke on empty data)", async () => {
		const { tokens } = await signedIn();
		const init = await rawPost(tokens.access_token, { ...INIT, params: { ...INIT.params, protocolVersion: "2025-06-18" } });
		await init.text();
		const headers = { "Mcp-Session-Id": init.headers.get("Mcp-Session-Id")!, "MCP-Protocol-Version": "2025-06-18" };
		const text = await (await rawPost(tokens.access_token, call(4, "read_graph", {}, STREAMED), headers)).text();
		expect(text).not.toContain("retry:");
		expect(text.split("\n\n").filter(Boolean).every((block) => /\ndata: \{/.test(block))).toBe(true);
	});

	it("a malformed Last-Event-ID is a 400, not a crash", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const res = await selfFetch(`${ORIGIN}/mcp`, {
			headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream", "Last-Event-ID": "not an event id!", "Mcp-Session-Id": id },
		});
		expect(res.status).toBe(400);
	});

	it("progress notifications reach the client before the result", async () => {
		const { tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		const seen: number[] = [];
		const entities = Array.from({ length: 250 }, (_, i) => ({ name: `P${i}`, entityType: "bulk", observations: [] }));
		const r = await client.callTool({ name: "create_entities", arguments: { entities } }, undefined, { onprogress: (p) => seen.push(p.progress) });
		expect((r.structuredContent as { entities: unknown[] }).entities).toHaveLength(250);
		expect(seen).toEqual([100, 200]);
	});

	it("two concurrent requests with the same JSON-RPC id keep their own streams", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" };
		const [a, b] = await Promise.all([
			rawPost(tokens.access_token, call(1, "create_entities", { entities: [{ name: "A", entityType: "a", observations: [] }] }, STREAMED), headers),
			rawPost(tokens.access_token, call(1, "search_nodes", { query: "zzz-nothing" }, STREAMED), headers),
		]);
		const [ea, eb] = await Promise.all([sseMessages(a), sseMessages(b)]);
		expect(ea.at(-1)!.data.result.structuredContent.entities[0].name).toBe("A");
		expect(eb.at(-1)!.data.result.structuredContent.entities).toEqual([]);
		expect(ea.at(-1)!.data.id).toBe(1);
		expect(eb.at(-1)!.data.id).toBe(1);
	});

	it("a tool call that sends nothing before its result is answered as one JSON body, and the event log stays empty", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" };
		const plain = await rawPost(tokens.access_token, call(5, "read_graph", {}), headers);
		expect(plain.headers.get("Content-Type")).toBe("application/json");
		expect(((await plain.json()) as { id: number; result: { isError?: boolean } }).id).toBe(5);
		// No event log was even created: the session never needed its SDK server or a stream.
		const tables = await runInDurableObject(sessionStub(id), (_o, state) => state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name = 'events'").toArray());
		expect(tables).toEqual([]);
		// With a progress token the same call streams, so progress can travel before the result.
		const streamed = await rawPost(tokens.access_token, call(6, "read_graph", {}, STREAMED), headers);
		expect(streamed.headers.get("Content-Type")).toBe("text/event-stream");
		expect((await sseMessages(streamed)).at(-1)!.data.id).toBe(6);
	});

	it("the session's own initialize answer is the SDK server's answer, for every supported version", async () => {
		const { tokens } = await signedIn();
		for (const protocolVersion of ["2025-11-25", "2025-06-18", "2025-03-26", "1999-01-01"]) {
			const init = { ...INIT, params: { ...INIT.params, protocolVersion } };
			const direct = (await (await rawPost(tokens.access_token, init)).json()) as { result: unknown };
			// The SDK server the session builds when a request needs it, fed the same initialize.
			const server = createLegacyServer({
				lane: "streamable-http",
				catalog: catalogFor(testEnv),
				sessionId: "s",
				protocolVersion: () => protocolVersion,
				traceId: () => "t",
				principalOf: () => {
					throw new Error("unused");
				},
				callTool: () => Promise.reject(new Error("unused")),
				record: () => Promise.resolve(),
			});
			const [client, end] = InMemoryTransport.createLinkedPair();
			await server.connect(end);
			const answered = new Promise<{ result: unknown }>((resolve) => (client.onmessage = (m) => resolve(m as { result: unknown })));
			await client.start();
			await client.send(init as never);
			expect(direct.result).toEqual((await answered).result);
			expect((direct.result as { protocolVersion: string }).protocolVersion).toBe(protocolVersion === "1999-01-01" ? "2025-11-25" : protocolVersion);
			await server.close();
		}
	});

	it("a plain tool call's direct answer is the SDK server's answer (result, tool error, unknown tool)", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-03-26" };
		const calls = [call(1, "read_graph", {}), call(2, "create_entities", { entities: "nope" }), call(3, "no_such_tool", {})];
		for (const c of calls) {
			const direct = (await (await rawPost(tokens.access_token, c, headers)).json()) as { result?: unknown; error?: { code: number; message: string } };
			const [viaSdk] = (await (await rawPost(tokens.access_token, [c], headers)).json()) as { result?: unknown; error?: { code: number; message: string } }[];
			expect(direct.result, c.params.name).toEqual(viaSdk!.result);
			expect(direct.error).toEqual(viaSdk!.error);
		}
	});

	it("a GET stream opens with text/event-stream", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const res = await selfFetch(`${ORIGIN}/mcp`, { headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream", "Mcp-Session-Id": id } });
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("text/event-stream");
		await res.body!.cancel();
	});
});

describe("HTTP and JSON-RPC boundary on /mcp", () => {
	it("wrong Accept → 406, wrong Content-Type → 415, wrong method → 405", async () => {
		const { tokens } = await signedIn();
		expect((await rawPost(tokens.access_token, INIT, { Accept: "application/json" })).status).toBe(406);
		expect((await rawPost(tokens.access_token, INIT, { "Content-Type": "text/plain" })).status).toBe(415);
		const put = await selfFetch(`${ORIGIN}/mcp`, { method: "PUT", headers: { Authorization: `Bearer ${tokens.access_token}` } });
		expect(put.status).toBe(405);
		expect(put.headers.get("Allow")).toContain("POST");
	});

	it("an unsupported MCP-Protocol-Version header → 400", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const res = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2099-01-01" });
		expect(res.status).toBe(400);
	});

	it("invalid JSON → 400 with -32700 and id null; not JSON-RPC → 400 -32600", async () => {
		const { tokens } = await signedIn();
		const bad = await rawPost(tokens.access_token, "{not json");
		expect(bad.status).toBe(400);
		expect(await bad.json()).toEqual({ jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null });
		const notRpc = await rawPost(tokens.access_token, { jsonrpc: "1.0", id: {}, method: "initialize" });
		expect(notRpc.status).toBe(400);
		expect(((await notRpc.json()) as { error: { code: number } }).error.code).toBe(-32600);
	});

	it("batches are rejected under 2025-06-18 and later, and [] and batched initialize always", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
		expect((await rawPost(tokens.access_token, [list, { ...list, id: 3 }], { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-06-18" })).status).toBe(400);
		expect((await rawPost(tokens.access_token, [], { "Mcp-Session-Id": id })).status).toBe(400);
		expect((await rawPost(tokens.access_token, [INIT])).status).toBe(400);
	});

	it("2025-03-26 batches are answered as a batch", async () => {
		const { tokens } = await signedIn();
		const init = await rawPost(tokens.access_token, { ...INIT, params: { ...INIT.params, protocolVersion: "2025-03-26" } });
		const id = init.headers.get("Mcp-Session-Id")!;
		const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
		const res = await rawPost(tokens.access_token, [list, { ...list, id: 3 }], { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-03-26" });
		expect(res.status).toBe(200);
		const body = (await res.json()) as { id: number }[];
		expect(body.map((r) => r.id).sort()).toEqual([2, 3]);
	});

	it("unknown method → -32601; unknown tool → -32602; bad params → tool error naming the field", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const h = { "Mcp-Session-Id": id };
		const unknown = (await (await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "no/such" }, h)).json()) as { error: { code: number } };
		expect(unknown.error.code).toBe(-32601);
		const tool = (await (await rawPost(tokens.access_token, call(3, "no_such_tool", {}), h)).json()) as { error: { code: number } };
		expect(tool.error.code).toBe(-32602);
		const bad = (await (await rawPost(tokens.access_token, call(4, "create_entities", { entities: "nope" }), h)).json()) as { result: { isError: boolean; content: { text: string }[] } };
		expect(bad.result.isError).toBe(true);
		expect(bad.result.content[0]!.text).toContain("entities");
		expect(bad.result.content[0]!.text).not.toContain("nope"); // raw argument values never echoed
	});

	it("notifications-only POST → 202", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const res = await rawPost(tokens.access_token, { jsonrpc: "2.0", method: "notifications/initialized" }, { "Mcp-Session-Id": id });
		expect(res.status).toBe(202);
	});

	it("?access_token= in the query without a header → 401 (query ignored)", async () => {
		const { tokens } = await signedIn();
		const res = await selfFetch(`${ORIGIN}/mcp?access_token=${tokens.access_token}`, {
			method: "POST",
			headers: { ...json, Accept: "application/json, text/event-stream" },
			body: JSON.stringify(INIT),
		});
		expect(res.status).toBe(401);
	});
});
