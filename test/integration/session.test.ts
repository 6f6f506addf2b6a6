/**
 * SessionObject and the Streamable HTTP lane: session binding, lifecycle, resumption, eviction.
 * Scenarios trace to the attack catalog in docs/security.md §1, §2, §5 and §7.
 */
import {
	abortAllDurableObjects,
	evictDurableObject,
	listDurableObjectIds,
	runDurableObjectAlarm,
	runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import pkg from "../../package.json";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { createLegacyServer } from "../../objects/session/legacy-server";
import { catalogFor } from "../../shared/catalog/packs";
import { SessionObject } from "../../objects/session/session-object";
import { sseMessages } from "../support/sse";
import { TenantObject } from "../../objects/tenant/tenant-object";
import {
	ageRegisteredSession,
	connectMcp,
	INIT,
	objectSession,
	rawPost,
	rawSession,
	selfFetch,
	signedIn,
	testEnv,
	ORIGIN,
} from "./helpers";

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

	it("serverInfo carries the package version, a title, an icon and the deployment's website (MCP 2025-11-25 Implementation)", async () => {
		const { tokens } = await signedIn();
		const body = (await (await rawPost(tokens.access_token, INIT)).json()) as { result: { serverInfo: Record<string, unknown> } };
		expect(body.result.serverInfo).toMatchObject({ name: "smcp", title: "SMCP", version: pkg.version, websiteUrl: `${ORIGIN}/` });
		const [icon] = body.result.serverInfo.icons as { src: string; mimeType: string }[];
		expect(icon!.src).toMatch(/^data:image\/svg\+xml;base64,/);
		expect(icon!.mimeType).toBe("image/svg+xml");
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
				const res = await rawPost(
					tokens.access_token,
					{ jsonrpc: "2.0", id: 2, method: "tools/list" },
					{ "Mcp-Session-Id": encodeURIComponent(id) },
				);
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
		const del = await selfFetch(`${ORIGIN}/mcp`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${b.tokens.access_token}`, "Mcp-Session-Id": sessionA },
		});
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
			{
				op: "post",
				sessionId: sessionA,
				messages: [{ jsonrpc: "2.0", id: 1, method: "tools/list" }],
				batch: false,
				sse: false,
				traceId: "t",
			},
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
		const del = await selfFetch(`${ORIGIN}/mcp`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${tokens.access_token}`, "Mcp-Session-Id": id },
		});
		expect(del.status).toBe(200);
		const after = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": id });
		expect(after.status).toBe(404);
		const tables = await runInDurableObject(sessionStub(id), (_o, state) =>
			state.storage.sql
				.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'")
				.toArray(),
		);
		expect(tables).toEqual([]);
	});

	it("session TTL expiry by alarm → 404 afterwards, and a second alarm run is harmless", async () => {
		const { account, tokens } = await signedIn();
		const id = await objectSession(tokens.access_token);
		// Idle on both paths: plain calls would have kept the registry's row fresh.
		expect(await ageRegisteredSession(account.tenantId, id)).toBe(1);
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

	it("the event log's schema drops the meta table nothing writes (migration 2)", async () => {
		const { tokens } = await signedIn();
		const id = await objectSession(tokens.access_token);
		const tables = await runInDurableObject(sessionStub(id), (_o, state) =>
			state.storage.sql
				.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'events')")
				.toArray()
				.map((r) => r.name),
		);
		expect(tables).toEqual(["events"]);
	});

	it("an alarm on a live session only reschedules it", async () => {
		const { tokens } = await signedIn();
		const id = await objectSession(tokens.access_token);
		await runDurableObjectAlarm(sessionStub(id));
		const after = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": id });
		expect(after.status).toBe(200);
	});
});

describe("eviction and resumption", () => {
	it("evicting the session object between two tool calls: the second call succeeds", async () => {
		const { tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		await client.callTool({
			name: "create_entities",
			arguments: { entities: [{ name: "Kepler", entityType: "probe", observations: [] }] },
		});
		// A restart, as on a deploy: every object is reset, open streams included.
		await abortAllDurableObjects();
		const graph = await client.callTool({ name: "read_graph", arguments: {} });
		expect((graph.structuredContent as { entities: { name: string }[] }).entities.map((e) => e.name)).toEqual(["Kepler"]);
		// The rehydrated session still knows the client's negotiated revision.
		const list = await client.listTools();
		expect(list.tools.length).toBe(12);
	});

	it("Last-Event-ID replays the events of an interrupted stream, also after eviction", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" };
		const res = await rawPost(
			tokens.access_token,
			call(7, "create_entities", { entities: [{ name: "E1", entityType: "t", observations: [] }] }, STREAMED),
			headers,
		);
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
			headers: {
				Authorization: `Bearer ${tokens.access_token}`,
				Accept: "text/event-stream",
				"Last-Event-ID": priming!.slice(4, priming!.indexOf("\n")),
				...headers,
			},
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
		expect(
			text
				.split("\n\n")
				.filter(Boolean)
				.every((block) => /\ndata: \{/.test(block)),
		).toBe(true);
	});

	it("a malformed Last-Event-ID is a 400, not a crash", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const res = await selfFetch(`${ORIGIN}/mcp`, {
			headers: {
				Authorization: `Bearer ${tokens.access_token}`,
				Accept: "text/event-stream",
				"Last-Event-ID": "not an event id!",
				"Mcp-Session-Id": id,
			},
		});
		expect(res.status).toBe(400);
	});

	it("progress notifications reach the client before the result", async () => {
		const { tokens } = await signedIn();
		const { client } = await connectMcp(tokens.access_token);
		const seen: number[] = [];
		const entities = Array.from({ length: 250 }, (_, i) => ({ name: `P${i}`, entityType: "bulk", observations: [] }));
		const r = await client.callTool({ name: "create_entities", arguments: { entities } }, undefined, {
			onprogress: (p) => seen.push(p.progress),
		});
		expect((r.structuredContent as { entities: unknown[] }).entities).toHaveLength(250);
		expect(seen).toEqual([100, 200]);
	});

	it("two concurrent requests with the same JSON-RPC id keep their own streams", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" };
		const [a, b] = await Promise.all([
			rawPost(
				tokens.access_token,
				call(1, "create_entities", { entities: [{ name: "A", entityType: "a", observations: [] }] }, STREAMED),
				headers,
			),
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
		const tables = await runInDurableObject(sessionStub(id), (_o, state) =>
			state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name = 'events'").toArray(),
		);
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
				origin: testEnv.SMCP_PUBLIC_ORIGIN,
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
			expect((direct.result as { protocolVersion: string }).protocolVersion).toBe(
				protocolVersion === "1999-01-01" ? "2025-11-25" : protocolVersion,
			);
			await server.close();
		}
	});

	it("a plain tool call's direct answer is the SDK server's answer (result, tool error, unknown tool)", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const headers = { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-03-26" };
		const calls = [call(1, "read_graph", {}), call(2, "create_entities", { entities: "nope" }), call(3, "no_such_tool", {})];
		for (const c of calls) {
			const direct = (await (await rawPost(tokens.access_token, c, headers)).json()) as {
				result?: unknown;
				error?: { code: number; message: string };
			};
			const [viaSdk] = (await (await rawPost(tokens.access_token, [c], headers)).json()) as {
				result?: unknown;
				error?: { code: number; message: string };
			}[];
			expect(direct.result, c.params.name).toEqual(viaSdk!.result);
			expect(direct.error).toEqual(viaSdk!.error);
		}
	});

	it("a GET stream opens with text/event-stream", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const res = await selfFetch(`${ORIGIN}/mcp`, {
			headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream", "Mcp-Session-Id": id },
		});
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("text/event-stream");
		await res.body!.cancel();
	});
});

describe("one hop: sessions in the tenant's registry", () => {
	const tenantOf = (tenantId: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
	const auditRows = (tenantId: string, session: string) =>
		runInDurableObject(tenantOf(tenantId), (_o: TenantObject, s) =>
			s.storage.sql
				.exec<{ method: string; protocol: string; decision: string }>(
					"SELECT method, protocol, decision FROM audit WHERE session = ? ORDER BY seq",
					session.slice(0, 12),
				)
				.toArray(),
		);
	const headersFor = (id: string, version = "2025-11-25") => ({ "Mcp-Session-Id": id, "MCP-Protocol-Version": version });

	it("a session of plain requests (initialize, initialized, tool calls) never creates its SessionObject, and its trail records the negotiated revision", async () => {
		const { account, tokens } = await signedIn();
		const before = (await listDurableObjectIds(testEnv.SESSIONS)).length;
		const reached = vi.spyOn(SessionObject.prototype, "handle");
		try {
			const init = await rawPost(tokens.access_token, { ...INIT, params: { ...INIT.params, protocolVersion: "2025-06-18" } });
			expect(((await init.json()) as { result: { protocolVersion: string } }).result.protocolVersion).toBe("2025-06-18");
			const id = init.headers.get("Mcp-Session-Id")!;
			const note = await rawPost(
				tokens.access_token,
				{ jsonrpc: "2.0", method: "notifications/initialized" },
				headersFor(id, "2025-06-18"),
			);
			expect(note.status).toBe(202);
			const created = await rawPost(
				tokens.access_token,
				call(2, "create_entities", { entities: [{ name: "Vega", entityType: "star", observations: [] }] }),
				headersFor(id, "2025-06-18"),
			);
			expect(created.headers.get("Mcp-Session-Id")).toBe(id);
			expect(((await created.json()) as { result: { isError?: boolean } }).result.isError).toBeUndefined();
			const read = (await (await rawPost(tokens.access_token, call(3, "read_graph", {}), headersFor(id, "2025-06-18"))).json()) as {
				result: { structuredContent: { entities: { name: string }[] } };
			};
			expect(read.result.structuredContent.entities.map((e) => e.name)).toEqual(["Vega"]);
			expect(reached).not.toHaveBeenCalled();
			expect(await auditRows(account.tenantId, id)).toEqual([
				{ method: "initialize", protocol: "2025-06-18", decision: "allowed" },
				{ method: "tools/call", protocol: "2025-06-18", decision: "allowed" },
				{ method: "tools/call", protocol: "2025-06-18", decision: "allowed" },
			]);
		} finally {
			reached.mockRestore();
		}
		expect((await listDurableObjectIds(testEnv.SESSIONS)).length).toBe(before);
	});

	it("the first request that needs the SDK server creates the object, which adopts the session; plain calls and DELETE still work, audited once", async () => {
		const { account, tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const list = await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, headersFor(id));
		expect(((await list.json()) as { result: { tools: unknown[] } }).result.tools.length).toBe(12);
		const adopted = await runInDurableObject(sessionStub(id), (_o, s) =>
			s.storage.kv.get<{ protocolVersion: string; init: unknown }>("session"),
		);
		expect(adopted?.protocolVersion).toBe("2025-11-25");
		expect(adopted?.init).toEqual(INIT);
		const plain = await rawPost(tokens.access_token, call(3, "read_graph", {}), headersFor(id));
		expect(plain.status).toBe(200);
		const del = await selfFetch(`${ORIGIN}/mcp`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${tokens.access_token}`, ...headersFor(id) },
		});
		expect(del.status).toBe(200);
		expect(await runInDurableObject(sessionStub(id), (_o, s) => s.storage.kv.get("session"))).toBeUndefined();
		for (const body of [call(4, "read_graph", {}), { jsonrpc: "2.0", id: 5, method: "tools/list" }]) {
			expect((await rawPost(tokens.access_token, body, headersFor(id))).status).toBe(404);
		}
		const methods = (await auditRows(account.tenantId, id)).map((r) => r.method);
		expect(methods.filter((m) => m === "session/delete")).toHaveLength(1);
		const live = await runInDurableObject(tenantOf(account.tenantId), (_o: TenantObject, s) =>
			Number(s.storage.sql.exec("SELECT COUNT(*) AS n FROM sessions").one().n),
		);
		expect(live).toBe(0);
	});

	it("an idle registered session expires: 404 on the one-hop path and through the object, DELETE of it is a 404, and the retention alarm prunes its row", async () => {
		const { account, tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		expect(await ageRegisteredSession(account.tenantId, id)).toBe(1);
		const rows = () =>
			runInDurableObject(tenantOf(account.tenantId), (_o: TenantObject, s) =>
				Number(s.storage.sql.exec("SELECT COUNT(*) AS n FROM sessions WHERE session_id = ?", id).one().n),
			);
		expect((await rawPost(tokens.access_token, call(2, "read_graph", {}), headersFor(id))).status).toBe(404);
		expect((await rawPost(tokens.access_token, { jsonrpc: "2.0", method: "notifications/initialized" }, headersFor(id))).status).toBe(404);
		expect((await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 3, method: "tools/list" }, headersFor(id))).status).toBe(404);
		// Refused on sight, kept until the retention alarm prunes it.
		expect(await rows()).toBe(1);
		expect(await runDurableObjectAlarm(tenantOf(account.tenantId))).toBe(true);
		expect(await rows()).toBe(0);
		const del = await selfFetch(`${ORIGIN}/mcp`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${tokens.access_token}`, ...headersFor(id) },
		});
		expect(del.status).toBe(404);
	});

	it("an object's expiry alarm keeps a session the registry saw more recently (plain calls do not pass through the object)", async () => {
		const { tokens } = await signedIn();
		const id = await objectSession(tokens.access_token);
		// The object last saw the session long ago; the registry saw it just now.
		await runInDurableObject(sessionStub(id), (_o, state) => {
			const meta = state.storage.kv.get<Record<string, unknown>>("session");
			state.storage.kv.put("session", { ...meta, lastSeen: 0 });
		});
		await evictDurableObject(sessionStub(id));
		expect(await runDurableObjectAlarm(sessionStub(id))).toBe(true);
		expect(await runInDurableObject(sessionStub(id), (_o, s) => s.storage.kv.get("session"))).toBeDefined();
		expect((await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 3, method: "tools/list" }, headersFor(id))).status).toBe(200);
	});

	it("a registry-only session lives while plain calls touch it and expires a TTL after the last one, without a restart of the kernel", async () => {
		const { account, tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const kernel = tenantOf(account.tenantId);
		// Straight to the kernel, as the front Worker sends a plain call (the access token would expire with the clock).
		const p = { tenantId: account.tenantId, userId: account.userId, clientId: tokens.clientId, scopes: ["mcp:read"] } as never;
		const plain = () =>
			kernel.callTool(p, {
				name: "read_graph",
				arguments: {},
				lane: "streamable-http",
				protocolVersion: "-",
				traceId: "t",
				sessionId: id,
				registered: true,
			});
		const ttlMs = 86_400_000; // SMCP_SESSION_TTL_SECONDS default
		const start = Date.now();
		const clock = vi.spyOn(Date, "now");
		try {
			clock.mockReturnValue(start + ttlMs * 0.8);
			expect((await plain()).ok).toBe(true);
			// 1.6 TTLs after opening, 0.8 after the last call: still live.
			clock.mockReturnValue(start + ttlMs * 1.6);
			expect((await plain()).ok).toBe(true);
			clock.mockReturnValue(start + ttlMs * 2.7);
			expect(await plain()).toEqual({ ok: false, error: { reason: "unknown_session" } });
		} finally {
			clock.mockRestore();
		}
	});

	it("DELETE of a registry-only session: 200, one session/delete row, its cap slot freed, and no SessionObject created", async () => {
		const { account, tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const before = (await listDurableObjectIds(testEnv.SESSIONS)).length;
		const reached = vi.spyOn(SessionObject.prototype, "handle");
		try {
			const del = await selfFetch(`${ORIGIN}/mcp`, {
				method: "DELETE",
				headers: { Authorization: `Bearer ${tokens.access_token}`, ...headersFor(id) },
			});
			expect(del.status).toBe(200);
			expect(reached).not.toHaveBeenCalled();
		} finally {
			reached.mockRestore();
		}
		expect((await listDurableObjectIds(testEnv.SESSIONS)).length).toBe(before);
		expect((await auditRows(account.tenantId, id)).filter((r) => r.method === "session/delete")).toHaveLength(1);
		const slots = await runInDurableObject(tenantOf(account.tenantId), (_o: TenantObject, s) =>
			Number(s.storage.sql.exec("SELECT COUNT(*) AS n FROM sessions").one().n),
		);
		expect(slots).toBe(0);
		expect((await rawPost(tokens.access_token, call(2, "read_graph", {}), headersFor(id))).status).toBe(404);
	});

	it("a DELETE that lands while the object is adopting the session wins: nothing is adopted, later requests 404", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const state = TenantObject.prototype.sessionState;
		let release = () => {};
		const held = new Promise<void>((resolve) => (release = resolve));
		let adopting = () => {};
		const adoptStarted = new Promise<void>((resolve) => (adopting = resolve));
		// The kernel records the adoption, then its answer is held back until the DELETE is through.
		vi.spyOn(TenantObject.prototype, "sessionState").mockImplementation(async function (this: TenantObject, ...args) {
			const r = await state.apply(this, args);
			if (args[2] === "adopt") {
				adopting();
				await held;
			}
			return r;
		});
		try {
			const list = rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, headersFor(id));
			await adoptStarted;
			const del = await selfFetch(`${ORIGIN}/mcp`, {
				method: "DELETE",
				headers: { Authorization: `Bearer ${tokens.access_token}`, ...headersFor(id) },
			});
			expect(del.status).toBe(200);
			release();
			expect((await list).status).toBe(404);
		} finally {
			release();
			vi.restoreAllMocks();
		}
		expect(await runInDurableObject(sessionStub(id), (_o, s) => s.storage.kv.get("session"))).toBeUndefined();
		expect((await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 3, method: "tools/list" }, headersFor(id))).status).toBe(404);
	});

	it("a session its object holds keeps its registry row fresh, so its plain calls keep their one hop", async () => {
		const { account, tokens } = await signedIn();
		const id = await objectSession(tokens.access_token);
		const kernel = tenantOf(account.tenantId);
		const lastSeen = () =>
			runInDurableObject(kernel, (_o: TenantObject, s) =>
				Number(s.storage.sql.exec("SELECT last_seen FROM sessions WHERE session_id = ?", id).one().last_seen),
			);
		const old = Date.now() - 120_000;
		await runInDurableObject(kernel, (_o: TenantObject, s) =>
			s.storage.sql.exec("UPDATE sessions SET last_seen = ? WHERE session_id = ?", old, id),
		);
		await evictDurableObject(kernel);
		await runInDurableObject(sessionStub(id), (_o, state) => {
			const meta = state.storage.kv.get<Record<string, unknown>>("session");
			state.storage.kv.put("session", { ...meta, lastSeen: old });
		});
		await evictDurableObject(sessionStub(id));
		expect((await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 3, method: "tools/list" }, headersFor(id))).status).toBe(200);
		await vi.waitFor(async () => expect(await lastSeen()).toBeGreaterThan(old), { timeout: 2000 });
	});

	it("a kernel that cannot be reached this time: 503 with Retry-After, never the 404 that ends the client's session", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		vi.spyOn(TenantObject.prototype, "sessionState").mockRejectedValue(new Error("Durable Object is overloaded."));
		try {
			// One hop (initialized) and through the object (tools/list adopts the session): the same 503.
			for (const message of [
				{ jsonrpc: "2.0", method: "notifications/initialized" },
				{ jsonrpc: "2.0", id: 2, method: "tools/list" },
			]) {
				const res = await rawPost(tokens.access_token, message, headersFor(id));
				expect(res.status, JSON.stringify(message)).toBe(503);
				expect(res.headers.get("Retry-After")).toBe("1");
				expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32603);
			}
		} finally {
			vi.restoreAllMocks();
		}
		// Once the kernel answers again, the session is still there.
		expect((await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 3, method: "tools/list" }, headersFor(id))).status).toBe(200);
	});

	it("session hijacking past the MAC on the one-hop path: the kernel refuses another principal's registered session id and frees nothing", async () => {
		const { account, tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const kernel = tenantOf(account.tenantId);
		// Same tenant, another user or another client: what a forged handoff past the MAC would carry.
		for (const other of [
			{ userId: "someone-else", clientId: tokens.clientId },
			{ userId: account.userId, clientId: "other-client" },
		]) {
			const p = { tenantId: account.tenantId, ...other, scopes: ["mcp:read", "mcp:write"] } as never;
			const r = await kernel.callTool(p, {
				name: "read_graph",
				arguments: {},
				lane: "streamable-http",
				protocolVersion: "2025-11-25",
				traceId: "t",
				sessionId: id,
				registered: true,
			});
			expect(r).toEqual({ ok: false, error: { reason: "unknown_session" } });
			expect(await kernel.sessionState(p, id, "adopt")).toBeNull();
			expect(
				await kernel.closeSession(p, id, {
					method: "session/delete",
					lane: "streamable-http",
					protocolVersion: "-",
					traceId: "t",
					sessionId: id,
					decision: "allowed",
					outcome: "ok",
					durationMs: 0,
				}),
			).toEqual({ found: false, hasObject: false });
			// Without a record (how a SessionObject ends its own session): still someone else's slot.
			expect(await kernel.closeSession(p, id)).toEqual({ found: false, hasObject: false });
		}
		// The owner's session is untouched: still live, still in its cap slot, never held by an object.
		const ok = await rawPost(tokens.access_token, call(2, "read_graph", {}), headersFor(id));
		expect(ok.status).toBe(200);
		const state = await runInDurableObject(kernel, (_o: TenantObject, s) => ({
			live: Number(s.storage.sql.exec("SELECT COUNT(*) AS n FROM sessions").one().n),
			hasObject: Number(s.storage.sql.exec("SELECT has_object FROM sessions WHERE session_id = ?", id).one().has_object),
		}));
		expect(state).toEqual({ live: 1, hasObject: 0 });
	});

	it("an initialize too large to store, or one the SDK's schema refuses, opens no session: -32602, no session id", async () => {
		const { tokens } = await signedIn();
		const capabilities = { experimental: { pad: { text: "x".repeat(70_000) } } };
		const large = { ...INIT, params: { ...INIT.params, protocolVersion: "2025-03-26", capabilities } };
		for (const init of [large, { ...INIT, params: { protocolVersion: "2025-11-25" } }]) {
			const reached = vi.spyOn(TenantObject.prototype, "openSession");
			try {
				const res = await rawPost(tokens.access_token, init);
				expect(res.status).toBe(200);
				expect(res.headers.get("Mcp-Session-Id")).toBeNull();
				expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
				expect(reached).not.toHaveBeenCalled();
			} finally {
				reached.mockRestore();
			}
		}
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
		const res = await rawPost(
			tokens.access_token,
			{ jsonrpc: "2.0", id: 2, method: "tools/list" },
			{ "Mcp-Session-Id": id, "MCP-Protocol-Version": "2099-01-01" },
		);
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
		expect(
			(await rawPost(tokens.access_token, [list, { ...list, id: 3 }], { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-06-18" }))
				.status,
		).toBe(400);
		expect((await rawPost(tokens.access_token, [], { "Mcp-Session-Id": id })).status).toBe(400);
		expect((await rawPost(tokens.access_token, [INIT])).status).toBe(400);
	});

	it("2025-03-26 batches are answered as a batch", async () => {
		const { tokens } = await signedIn();
		const init = await rawPost(tokens.access_token, { ...INIT, params: { ...INIT.params, protocolVersion: "2025-03-26" } });
		const id = init.headers.get("Mcp-Session-Id")!;
		const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
		const res = await rawPost(tokens.access_token, [list, { ...list, id: 3 }], {
			"Mcp-Session-Id": id,
			"MCP-Protocol-Version": "2025-03-26",
		});
		expect(res.status).toBe(200);
		const body = (await res.json()) as { id: number }[];
		expect(body.map((r) => r.id).sort()).toEqual([2, 3]);
	});

	it("unknown method → -32601; unknown tool → -32602; bad params → tool error naming the field", async () => {
		const { tokens } = await signedIn();
		const id = await rawSession(tokens.access_token);
		const h = { "Mcp-Session-Id": id };
		const unknown = (await (await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 2, method: "no/such" }, h)).json()) as {
			error: { code: number };
		};
		expect(unknown.error.code).toBe(-32601);
		const tool = (await (await rawPost(tokens.access_token, call(3, "no_such_tool", {}), h)).json()) as { error: { code: number } };
		expect(tool.error.code).toBe(-32602);
		const bad = (await (await rawPost(tokens.access_token, call(4, "create_entities", { entities: "nope" }), h)).json()) as {
			result: { isError: boolean; content: { text: string }[] };
		};
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
