/**
 * The 2024-11-05 HTTP+SSE transport on the wire: endpoint event, messages on the stream, each
 * message exactly once, binding of the message endpoint to the principal.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { ORIGIN, rawPost, selfFetch, signedIn, testEnv } from "./helpers";

async function openSse(token: string) {
	const res = await selfFetch(`${ORIGIN}/sse`, { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } });
	expect(res.status).toBe(200);
	expect(res.headers.get("Content-Type")).toBe("text/event-stream");
	const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
	let buf = "";
	while (!buf.includes("\n\n")) buf += (await reader.read()).value;
	const endpoint = /^event: endpoint\ndata: (.*)$/m.exec(buf)![1]!;
	buf = buf.slice(buf.indexOf("\n\n") + 2);
	/** Reads messages until one with `id` arrives. */
	const until = async (id: number) => {
		const out: Record<string, unknown>[] = [];
		for (;;) {
			let at: number;
			while ((at = buf.indexOf("\n\n")) >= 0) {
				const block = buf.slice(0, at);
				buf = buf.slice(at + 2);
				const data = block.split("\n").find((l) => l.startsWith("data: "));
				if (!data) continue;
				const msg = JSON.parse(data.slice(6));
				out.push(msg);
				if (msg.id === id) return out;
			}
			buf += (await reader.read()).value;
		}
	};
	return { endpoint, until, close: () => reader.cancel() };
}

const post = (token: string, endpoint: string, msg: unknown) =>
	selfFetch(`${ORIGIN}${endpoint}`, {
		method: "POST",
		headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
		body: JSON.stringify(msg),
	});

describe("HTTP+SSE (2024-11-05)", () => {
	it("announces the message endpoint, answers on the stream, and sends each message exactly once", async () => {
		const { tokens } = await signedIn();
		const s = await openSse(tokens.access_token);
		expect(s.endpoint).toMatch(/^\/sse\/message\?sessionId=[A-Za-z0-9_-]{44}$/);
		expect(
			(
				await post(tokens.access_token, s.endpoint, {
					jsonrpc: "2.0",
					id: 1,
					method: "initialize",
					params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
				})
			).status,
		).toBe(202);
		const init = await s.until(1);
		expect((init.at(-1)!.result as { protocolVersion: string }).protocolVersion).toBe("2024-11-05");
		await post(tokens.access_token, s.endpoint, { jsonrpc: "2.0", method: "notifications/initialized" });
		const ents = Array.from({ length: 200 }, (_, i) => ({ name: `S${i}`, entityType: "t", observations: [] }));
		await post(tokens.access_token, s.endpoint, {
			jsonrpc: "2.0",
			id: 2,
			method: "tools/call",
			params: { name: "create_entities", arguments: { entities: ents }, _meta: { progressToken: 7 } },
		});
		const msgs = await s.until(2);
		const progress = msgs.filter((m) => m.method === "notifications/progress").map((m) => (m.params as { progress: number }).progress);
		expect(progress).toEqual([100, 200]);
		expect(msgs.filter((m) => m.id === 2)).toHaveLength(1);
		await s.close();
	});

	it("a plain tool call's answer (made without the SDK server) equals the SDK server's answer, each once on the stream", async () => {
		const { tokens } = await signedIn();
		const s = await openSse(tokens.access_token);
		await post(tokens.access_token, s.endpoint, {
			jsonrpc: "2.0",
			id: 1,
			method: "initialize",
			params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
		});
		await s.until(1);
		await post(tokens.access_token, s.endpoint, { jsonrpc: "2.0", method: "notifications/initialized" });
		const calls: [string, Record<string, unknown>][] = [
			["read_graph", {}],
			["create_entities", { entities: "nope" }],
			["no_such_tool", {}],
		];
		let id = 10;
		for (const [name, args] of calls) {
			// Plain: answered directly. With a progress token: through the SDK server.
			expect(
				(await post(tokens.access_token, s.endpoint, { jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name, arguments: args } }))
					.status,
			).toBe(202);
			const direct = (await s.until(id)).filter((m) => m.id === id);
			expect(
				(
					await post(tokens.access_token, s.endpoint, {
						jsonrpc: "2.0",
						id: ++id,
						method: "tools/call",
						params: { name, arguments: args, _meta: { progressToken: 1 } },
					})
				).status,
			).toBe(202);
			const viaSdk = (await s.until(id)).filter((m) => m.id === id);
			expect(direct).toHaveLength(1);
			expect(direct[0]!.result, name).toEqual(viaSdk[0]!.result);
			expect(direct[0]!.error).toEqual(viaSdk[0]!.error);
		}
		await s.close();
	});

	it("another principal posting to my message endpoint gets 404 (session hijacking)", async () => {
		const a = await signedIn();
		const b = await signedIn();
		const s = await openSse(a.tokens.access_token);
		const res = await post(b.tokens.access_token, s.endpoint, { jsonrpc: "2.0", id: 1, method: "tools/list" });
		expect(res.status).toBe(404);
		await s.close();
	});

	it("a 2024-11-05 session is one row of the tenant's session table; a DELETE or a plain call on /mcp naming it is a 404 and frees no slot", async () => {
		const { account, tokens } = await signedIn();
		const s = await openSse(tokens.access_token);
		const sessionId = new URL(s.endpoint, ORIGIN).searchParams.get("sessionId")!;
		const kernel = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(account.tenantId));
		const rows = () =>
			runInDurableObject(kernel, (_o: TenantObject, state) =>
				state.storage.sql.exec("SELECT kind, init, has_object FROM sessions WHERE session_id = ?", sessionId).toArray(),
			);
		expect(await rows()).toEqual([{ kind: "sse", init: null, has_object: 1 }]);
		const auth = { Authorization: `Bearer ${tokens.access_token}`, "Mcp-Session-Id": sessionId };
		expect((await selfFetch(`${ORIGIN}/mcp`, { method: "DELETE", headers: auth })).status).toBe(404);
		const plain = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "read_graph", arguments: {} } };
		expect((await rawPost(tokens.access_token, plain, { "Mcp-Session-Id": sessionId })).status).toBe(404);
		// Still counted, and the stream still answers.
		expect(await rows()).toEqual([{ kind: "sse", init: null, has_object: 1 }]);
		expect((await post(tokens.access_token, s.endpoint, { jsonrpc: "2.0", id: 3, method: "tools/list" })).status).toBe(202);
		expect((await s.until(3)).at(-1)).toMatchObject({ id: 3, result: { tools: expect.any(Array) } });
		await s.close();
	});

	it("wrong method on /sse → 405; message endpoint without a valid session → 404", async () => {
		const { tokens } = await signedIn();
		const res = await selfFetch(`${ORIGIN}/sse`, { method: "POST", headers: { Authorization: `Bearer ${tokens.access_token}` } });
		expect(res.status).toBe(405);
		expect((await post(tokens.access_token, "/sse/message?sessionId=forged", { jsonrpc: "2.0", id: 1, method: "tools/list" })).status).toBe(
			404,
		);
	});
});
