/**
 * Attacks through live MCP sessions that the other integration files do not already cover:
 * pathological payloads through the whole Worker, another tenant's entity names in tool
 * arguments, two sessions interleaving progress and notifications, and a restart while a stream
 * is open. Each test is named after a row of the attack catalog in docs/security.md (§2 row 13, §5 rows
 * 41 and 43, §7 row 50).
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { connectMcp, rawPost, rawSession, selfFetch, signedIn, testEnv, ORIGIN } from "./helpers";
import { replies, sseMessages } from "../support/sse";

/** Everything a stream delivers within `ms` (keep-alive comments ignored), then cancels it. */
async function drainFor(res: Response, ms: number): Promise<string> {
	const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
	let text = "";
	const deadline = Date.now() + ms;
	for (;;) {
		const left = deadline - Date.now();
		if (left <= 0) break;
		const next = await Promise.race([reader.read(), new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left))]);
		if (next === "timeout" || next.done) break;
		text += next.value;
	}
	await reader.cancel().catch(() => {});
	return text
		.split("\n\n")
		.filter((b) => b.includes("data:"))
		.join("\n\n");
}

const toolCall = (id: number | string, name: string, args: unknown, progressToken?: string | number) => ({
	jsonrpc: "2.0",
	id,
	method: "tools/call",
	params: { name, arguments: args, ...(progressToken === undefined ? {} : { _meta: { progressToken } }) },
});

const tenantStub = (tenantId: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
const auditOf = (tenantId: string) =>
	runInDurableObject(tenantStub(tenantId), (_o: TenantObject, s) =>
		s.storage.sql
			.exec<{ user_id: string; tool: string | null; decision: string; outcome: string }>(
				"SELECT user_id, tool, decision, outcome FROM audit ORDER BY seq",
			)
			.toArray(),
	);

/** A raw 2025-11-25 session: its id and the headers every later request needs. */
async function session(token: string) {
	const id = await rawSession(token);
	return { id, headers: { "Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-11-25" } };
}

describe("pathological payloads through the Worker (§2 row 13)", () => {
	/** Posts `body` on a live session; asserts a bounded, non-5xx answer and returns it. */
	async function bounded(token: string, headers: Record<string, string>, body: string, label: string) {
		const started = Date.now();
		const res = await rawPost(token, body, headers);
		const text = await res.text();
		const ms = Date.now() - started;
		expect(res.status, label).toBeLessThan(500);
		expect(ms, label).toBeLessThan(5_000);
		return { status: res.status, text };
	}

	it("pathological payloads (50k nesting, 10 MB string within limit → 413 since cap is 4 MiB, 100k keys, huge id) → bounded rejection, no 500", async () => {
		const { tokens } = await signedIn();
		const s = await session(tokens.access_token);
		const t = tokens.access_token;
		const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(",")}}`;

		// 50k nesting as the whole body: parsed (V8 copes) and refused by the shape check.
		expect((await bounded(t, s.headers, "[".repeat(50_000) + "]".repeat(50_000), "50k nested arrays")).status).toBe(400);
		expect((await bounded(t, s.headers, '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000), "50k nested objects")).status).toBe(400);
		// 10 MB string: over the 4 MiB cap, so 413 before parsing (the cap is counted as bytes arrive).
		const huge = JSON.stringify(
			toolCall(1, "create_entities", { entities: [{ name: "x", entityType: "t", observations: ["y".repeat(10_000_000)] }] }),
		);
		expect((await bounded(t, s.headers, huge, "10 MB string")).status).toBe(413);
		// 3 MB string: under the cap, refused by the tool's bound, naming the field and never echoing the value.
		const big = await bounded(
			t,
			s.headers,
			JSON.stringify(toolCall(2, "create_entities", { entities: [{ name: "x", entityType: "t", observations: ["y".repeat(3_000_000)] }] })),
			"3 MB string",
		);
		expect(big.status).toBe(200);
		expect(big.text).toContain("entities.0.observations.0");
		expect(big.text).not.toContain("yyyyyyyyyy");
		// 100k keys: as the message → -32600; inside arguments → ignored by the tool's schema.
		expect((await bounded(t, s.headers, keys(100_000), "100k keys message")).status).toBe(400);
		const wide = await bounded(t, s.headers, JSON.stringify(toolCall(3, "read_graph", JSON.parse(keys(100_000)))), "100k keys arguments");
		expect(wide.status).toBe(200);
		expect(wide.text).toContain('"structuredContent":{"entities":[],"relations":[]}');
		// Huge ids: a 1 MB string id, a 1e308 id, an unsafe integer → -32600, never echoed back.
		for (const id of [`"${"i".repeat(1_000_000)}"`, "1e308", "9007199254740993"]) {
			const r = await bounded(t, s.headers, `{"jsonrpc":"2.0","id":${id},"method":"tools/list"}`, `id ${id.slice(0, 12)}`);
			expect(r.status).toBe(400);
			expect(r.text.length).toBeLessThan(1_000);
		}
		// The session is still healthy and the tenant untouched.
		const after = await rawPost(t, toolCall(4, "read_graph", {}), s.headers);
		expect((await replies(after)).at(-1)!.data.result.structuredContent).toEqual({ entities: [], relations: [] });
	});

	// BUG: worker/mcp/routes.ts (2025 lane) hands the parsed message to SessionObject.handle() over RPC; the
	// RPC serializer throws "RangeError: Maximum call stack size exceeded" for nesting of about 3,000
	// levels or more (a 15 KB body, far under the 4 MiB cap), worker/index.ts catches it as
	// `http.crash` and answered 500 {"error":"server_error"} (fixed: shared/mcp/jsonrpc.ts MAX_DEPTH). Reproduce: POST /mcp with a valid token
	// and session, body {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_graph",
	// "arguments":{"x":{"a":{"a":…3,000 levels…}}}}} → 500. Same for `initialize` with a deeply
	// nested `capabilities` (no session needed) and for tools/list params. Expected: 400 -32600 (or a
	// tool error), like the 50k-deep body at the top level. The kernel's audit digest
	// (shared/audit/chain.mjs canonicalJson, recursive) would overflow next at a similar depth.
	it("deeply nested tool arguments (3,000 levels, 15 KB) → a 4xx or a tool error, never 500", async () => {
		const { tokens } = await signedIn();
		const s = await session(tokens.access_token);
		const deep = '{"a":'.repeat(3_000) + "1" + "}".repeat(3_000);
		const call = await rawPost(
			tokens.access_token,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_graph","arguments":{"x":${deep}}}}`,
			s.headers,
		);
		await call.body?.cancel();
		expect(call.status).toBeLessThan(500);
		const init = await rawPost(
			tokens.access_token,
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"x":${deep}},"clientInfo":{"name":"a","version":"1"}}}`,
		);
		await init.body?.cancel();
		expect(init.status).toBeLessThan(500);
	});
});

describe("bad params on the wire (§2 row 14)", () => {
	// Was a bug (found by fuzz.test.ts): on the 2025 lane, a tools/call whose `arguments` is not an object
	// (a string, an array, null or a number) is answered -32603 with the SDK's raw zod issue list as
	// the message, e.g. {"code":-32603,"message":"[\n  {\n    \"expected\": \"record\",\n    \"code\":
	// \"invalid_type\",\n    \"path\": [\"params\",\"arguments\"] …}]"}. The SDK v1 Server validates
	// the request with CallToolRequestSchema before objects/session/legacy-server.ts sees it, and its
	// ZodError becomes an internal error. Expected (docs/security.md attack 14, the "two error
	// planes"): -32602 Invalid params with generic text. The 2026-07-28 lane answers -32602.
	it("tools/call with non-object arguments → -32602 with generic text, not -32603 with a validator dump", async () => {
		const { tokens } = await signedIn();
		const s = await session(tokens.access_token);
		for (const args of ["a string", [1, 2], null, 5]) {
			const res = await rawPost(tokens.access_token, toolCall(1, "read_graph", args), s.headers);
			// Refused before the session (a JSON answer) or inside it (an SSE stream): either way -32602.
			const error = (await replies(res)).at(-1)!.data.error;
			expect(error.code, JSON.stringify(args)).toBe(-32602);
			expect(error.message).not.toMatch(/invalid_type|expected|path/);
		}
	});
});

describe("cross-tenant references (§5 row 41)", () => {
	it("a tool call whose arguments reference another tenant's entity name is scoped to the caller's tenant", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const ca = (await connectMcp(a.tokens.access_token)).client;
		await ca.callTool({
			name: "create_entities",
			arguments: {
				entities: [
					{ name: "CanaryA", entityType: "secret", observations: ["launch code 0000"] },
					{ name: "OtherA", entityType: "x", observations: [] },
				],
			},
		});
		await ca.callTool({ name: "create_relations", arguments: { relations: [{ from: "CanaryA", to: "OtherA", relationType: "guards" }] } });
		const graphA = (await ca.callTool({ name: "read_graph", arguments: {} })).structuredContent;

		const cb = (await connectMcp(b.tokens.access_token)).client;
		const texts: string[] = [];
		const call = async (name: string, args: Record<string, unknown>) => {
			const r = await cb.callTool({ name, arguments: args });
			texts.push(JSON.stringify(r));
			return r;
		};
		expect((await call("open_nodes", { names: ["CanaryA", "OtherA"] })).structuredContent).toEqual({ entities: [], relations: [] });
		expect((await call("search_nodes", { query: "launch code" })).structuredContent).toEqual({ entities: [], relations: [] });
		const add = await call("add_observations", { observations: [{ entityName: "CanaryA", contents: ["planted by B"] }] });
		// The same answer as for a name that exists nowhere: no oracle for other tenants' names.
		expect(add.isError).toBe(true);
		expect((add.content as { text: string }[])[0]!.text).toBe("Entity with name CanaryA not found");
		await call("delete_observations", { deletions: [{ entityName: "CanaryA", observations: ["launch code 0000"] }] });
		await call("delete_relations", { relations: [{ from: "CanaryA", to: "OtherA", relationType: "guards" }] });
		await call("delete_entities", { entityNames: ["CanaryA", "OtherA"] });
		// B may use the same names in its own graph; they are B's own entities.
		await call("create_entities", { entities: [{ name: "CanaryA", entityType: "mine", observations: ["B's"] }] });
		await call("create_relations", { relations: [{ from: "CanaryA", to: "OtherA", relationType: "points-at" }] });
		expect((await cb.callTool({ name: "read_graph", arguments: {} })).structuredContent).toEqual({
			entities: [{ name: "CanaryA", entityType: "mine", observations: ["B's"] }],
			relations: [{ from: "CanaryA", to: "OtherA", relationType: "points-at" }],
		});
		// A's tenant is exactly as it was, and nothing B got back mentions A's data.
		expect((await ca.callTool({ name: "read_graph", arguments: {} })).structuredContent).toEqual(graphA);
		for (const t of texts) expect(t).not.toMatch(/launch code|guards|secret/);
		// Each call is audited in the caller's own tenant; A's trail has no row of B's.
		const auditA = await auditOf(a.account.tenantId);
		const auditB = await auditOf(b.account.tenantId);
		expect(auditA.every((r) => r.user_id === a.account.userId)).toBe(true);
		expect(auditB.filter((r) => r.tool === "add_observations")).toEqual([
			{ user_id: b.account.userId, tool: "add_observations", decision: "error", outcome: "tool_error" },
		]);
		expect(auditB.filter((r) => r.tool !== null).length).toBeGreaterThanOrEqual(8);
	});
});

describe("two sessions interleaving (§5 row 43)", () => {
	it("two sessions interleaving progress and notifications → nothing crosses", async () => {
		const a = await signedIn();
		const b = await signedIn();
		// Two sessions of A (same principal) and one of B, each with a GET stream open and a bulk
		// create running at the same time, all with the same JSON-RPC id and the same progressToken.
		const sessions = [
			{ who: "A1", token: a.tokens.access_token, s: await session(a.tokens.access_token) },
			{ who: "A2", token: a.tokens.access_token, s: await session(a.tokens.access_token) },
			{ who: "B1", token: b.tokens.access_token, s: await session(b.tokens.access_token) },
		];
		const gets = await Promise.all(
			sessions.map((x) =>
				selfFetch(`${ORIGIN}/mcp`, { headers: { Authorization: `Bearer ${x.token}`, Accept: "text/event-stream", ...x.s.headers } }),
			),
		);
		expect(gets.map((g) => g.status)).toEqual([200, 200, 200]);
		const counts = [250, 230, 210];
		const posts = await Promise.all(
			sessions.map((x, i) =>
				rawPost(
					x.token,
					toolCall(
						1,
						"create_entities",
						{ entities: Array.from({ length: counts[i]! }, (_, k) => ({ name: `${x.who}-${k}`, entityType: x.who, observations: [] })) },
						"same-token",
					),
					x.s.headers,
				),
			),
		);
		const streams = await Promise.all(posts.map((p) => sseMessages(p)));
		streams.forEach((events, i) => {
			const who = sessions[i]!.who;
			const progress = events.filter((e) => e.data.method === "notifications/progress").map((e) => e.data.params);
			// Each stream carries exactly its own call's progress, in order, then its own result.
			expect(progress).toEqual([
				{ progressToken: "same-token", progress: 100, total: counts[i] },
				{ progressToken: "same-token", progress: 200, total: counts[i] },
			]);
			const final = events.at(-1)!.data;
			expect(final.id).toBe(1);
			const names: string[] = final.result.structuredContent.entities.map((e: { name: string }) => e.name);
			expect(names).toHaveLength(counts[i]!);
			expect(names.every((n) => n.startsWith(`${who}-`))).toBe(true);
			expect(events.every((e) => e.data.method === "notifications/progress" || e === events.at(-1))).toBe(true);
		});
		// Nothing leaked onto the standalone GET streams either.
		const standalone = await Promise.all(gets.map((g) => drainFor(g, 300)));
		expect(standalone).toEqual(["", "", ""]);
	});

	it("two HTTP+SSE (2024-11-05) connections of one user, same request id and progressToken: progress and results stay on their own stream", async () => {
		const { tokens } = await signedIn();
		const auth = { Authorization: `Bearer ${tokens.access_token}` };
		/** Opens GET /sse, initializes, and returns the POST endpoint and the stream reader. */
		const open = async () => {
			const res = await selfFetch(`${ORIGIN}/sse`, { headers: { ...auth, Accept: "text/event-stream" } });
			const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
			let buf = "";
			while (!buf.includes("\n\n")) buf += (await reader.read()).value ?? "";
			const endpoint = /data: (.*)/.exec(buf)![1]!;
			const post = (m: unknown) =>
				selfFetch(`${ORIGIN}${endpoint}`, {
					method: "POST",
					headers: { ...auth, "Content-Type": "application/json" },
					body: JSON.stringify(m),
				}).then((r) => r.status);
			expect(
				await post({
					jsonrpc: "2.0",
					id: 0,
					method: "initialize",
					params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "raw-sse", version: "1" } },
				}),
			).toBe(202);
			expect(await post({ jsonrpc: "2.0", method: "notifications/initialized" })).toBe(202);
			/** Messages until the response with `id` arrives. */
			const until = async (id: number) => {
				const out: any[] = [];
				let rest = buf.slice(buf.indexOf("\n\n") + 2);
				for (;;) {
					let at: number;
					while ((at = rest.indexOf("\n\n")) >= 0) {
						const data = rest
							.slice(0, at)
							.split("\n")
							.filter((l) => l.startsWith("data: "))
							.map((l) => l.slice(6))
							.join("\n");
						rest = rest.slice(at + 2);
						if (!data) continue;
						const m = JSON.parse(data);
						out.push(m);
						if (m.id === id && !("method" in m)) {
							await reader.cancel().catch(() => {});
							return out;
						}
					}
					const { done, value } = await reader.read();
					if (done) return out;
					rest += value;
				}
			};
			return { post, until };
		};
		const [one, two] = [await open(), await open()];
		const make = (prefix: string, n: number) =>
			Array.from({ length: n }, (_, k) => ({ name: `${prefix}-${k}`, entityType: prefix, observations: [] }));
		const [s1, s2] = await Promise.all([
			one.post(toolCall(1, "create_entities", { entities: make("one", 220) }, 1)),
			two.post(toolCall(1, "create_entities", { entities: make("two", 205) }, 1)),
		]);
		expect([s1, s2]).toEqual([202, 202]);
		const [m1, m2] = await Promise.all([one.until(1), two.until(1)]);
		for (const [msgs, prefix, total] of [
			[m1, "one", 220],
			[m2, "two", 205],
		] as const) {
			// The initialize response, then exactly this call's two progress reports, then its result.
			const progress = msgs.filter((m) => m.method === "notifications/progress").map((m) => m.params);
			expect(progress).toEqual([
				{ progressToken: 1, progress: 100, total },
				{ progressToken: 1, progress: 200, total },
			]);
			const final = msgs.at(-1);
			expect(final.id).toBe(1);
			expect(final.result.structuredContent.entities.every((e: { name: string }) => e.name.startsWith(`${prefix}-`))).toBe(true);
			expect(msgs).toHaveLength(4);
		}
	});
});

describe("restarts with a stream open (§7 row 50)", () => {
	it("a restart while a response stream is open: the client sees the stream end; re-issuing with a new id works and does not duplicate the change", async () => {
		const { tokens } = await signedIn();
		const s = await session(tokens.access_token);
		const get = await selfFetch(`${ORIGIN}/mcp`, {
			headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "text/event-stream", ...s.headers },
		});
		expect(get.status).toBe(200);
		const reader = get.body!.getReader();
		const create = toolCall(1, "create_entities", { entities: [{ name: "Once", entityType: "t", observations: ["only once"] }] });
		await replies(await rawPost(tokens.access_token, create, s.headers));
		// A deploy: every object is reset. The open stream must end (done or an error), not hang.
		await abortAllDurableObjects();
		const ended = await Promise.race([
			(async () => {
				for (;;) {
					const r = await reader.read();
					if (r.done) return "done";
				}
			})().catch(() => "errored"),
			new Promise<string>((r) => setTimeout(() => r("hung"), 3_000)),
		]);
		expect(["done", "errored"]).toContain(ended);
		// The client did not see the answer; it re-issues the same call with a new id.
		const again = await replies(await rawPost(tokens.access_token, { ...create, id: 2 }, s.headers));
		expect(again.at(-1)!.data.id).toBe(2);
		expect(again.at(-1)!.data.result.isError).toBeUndefined();
		const obs = { ...toolCall(3, "add_observations", { observations: [{ entityName: "Once", contents: ["only once"] }] }) };
		await replies(await rawPost(tokens.access_token, obs, s.headers));
		const graph = await replies(await rawPost(tokens.access_token, toolCall(4, "read_graph", {}), s.headers));
		expect(graph.at(-1)!.data.result.structuredContent).toEqual({
			entities: [{ name: "Once", entityType: "t", observations: ["only once"] }],
			relations: [],
		});
	});
});
