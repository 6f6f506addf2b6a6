/**
 * Hosted tools at the edges of the lanes: a call that needs a scope the token lacks gets the same
 * 403 `insufficient_scope` step-up challenge a built-in tool gets, on every lane (audited as
 * denied, the isolate never started); a hosted call inside a 2025-03-26 JSON-RPC batch is answered
 * with its own clear error, never dropped, while the batch's other items are served.
 */
import { describe, expect, it } from "vitest";
import type { AppManifestInput } from "../../shared/apps/manifest";
import { auditRows, DEFINE_APP, installApp } from "./apps-helpers";
import { envelope, modernPost } from "../support/modern";
import { INIT, ORIGIN, rawPost, selfFetch, signedIn } from "./helpers";

const NOTE_JS = `import { defineApp } from "./sdk.js";
export default defineApp({ tools: {
	read: async () => "read ok",
	write: async ({ text }, ctx) => { await ctx.storage.put("note", text); return "written"; },
}});
`;
const NOTES: AppManifestInput = {
	name: "notes",
	version: "1.0.0",
	main: "index.js",
	tools: [
		{ name: "read", description: "Reads.", inputSchema: { type: "object" }, scope: "mcp:read" },
		{
			name: "write",
			description: "Writes.",
			inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
			scope: "mcp:write",
		},
	],
	egress: [],
	secrets: [],
};

/** A tenant with the notes app and a token that holds only `mcp:read`. */
async function readOnlyTenant() {
	const s = await signedIn({ scope: ["mcp:read"] });
	await installApp(s.account.tenantId, NOTES, { "index.js": NOTE_JS, "sdk.js": DEFINE_APP });
	return s;
}

const callOf = (id: number, name: string, args: Record<string, unknown>) => ({
	jsonrpc: "2.0",
	id,
	method: "tools/call",
	params: { name, arguments: args },
});

/** A raw 2025 session; returns its id. */
async function session(token: string, protocolVersion = "2025-11-25"): Promise<string> {
	const res = await rawPost(token, { ...INIT, params: { ...INIT.params, protocolVersion } });
	await res.text();
	return res.headers.get("Mcp-Session-Id")!;
}

/** A 2026-07-28 tools/call (stateless, the per-request envelope). */
const modernCall = (token: string, name: string, args: Record<string, unknown>, headers: Record<string, string> = {}) =>
	modernPost(
		selfFetch,
		ORIGIN,
		token,
		{ ...callOf(1, name, args), params: { name, arguments: args, _meta: envelope({}) } },
		{ "Mcp-Method": "tools/call", "Mcp-Name": name, ...headers },
	);

/** Opens a 2024-11-05 SSE stream and returns its message endpoint (the stream stays open). */
async function sseEndpoint(token: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
	const res = await selfFetch(`${ORIGIN}/sse`, { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } });
	const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
	let buf = "";
	while (!buf.includes("\n\n")) buf += (await reader.read()).value;
	return { endpoint: /^event: endpoint\ndata: (.*)$/m.exec(buf)![1]!, close: () => reader.cancel() };
}

/** A 403 step-up challenge (RFC 6750 §3) asking for both scopes. */
const STEP_UP = /^Bearer realm="OAuth", error="insufficient_scope", scope="mcp:read mcp:write", /;

/** The parts of a 403 step-up challenge a client reads. */
async function challenge(res: Response) {
	return { status: res.status, wwwAuthenticate: res.headers.get("WWW-Authenticate"), body: await res.text() };
}

describe("hosted tools and the scope step-up", () => {
	it("a hosted write tool called with a read-only token: 403 insufficient_scope with the step-up challenge on every lane, like a built-in write tool", async () => {
		const s = await readOnlyTenant();
		const token = s.tokens.access_token;
		const sid = await session(token);
		const headers = { "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25" };

		const streamable = await challenge(await rawPost(token, callOf(2, "notes__write", { text: "x" }), headers));
		expect(streamable.status).toBe(403);
		expect(streamable.wwwAuthenticate).toMatch(STEP_UP);
		expect(streamable.wwwAuthenticate).toContain("notes__write needs the mcp:write scope");

		const modern = await challenge(await modernCall(token, "notes__write", { text: "x" }));
		expect(modern.status).toBe(403);
		expect(modern.wwwAuthenticate).toMatch(STEP_UP);

		const sse = await sseEndpoint(token);
		const legacy = await challenge(
			await selfFetch(`${ORIGIN}${sse.endpoint}`, {
				method: "POST",
				headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
				body: JSON.stringify(callOf(4, "notes__write", { text: "x" })),
			}),
		);
		await sse.close();
		expect(legacy.status).toBe(403);
		expect(legacy.wwwAuthenticate).toMatch(STEP_UP);

		// Audited as denied (refusals of one kind write one row a minute per caller: the first one),
		// never run: no row of the tool says allowed, and the app's read tool still answers.
		const rows = (await auditRows(s.account.tenantId)).filter((r) => r.tool === "notes__write");
		expect(rows.map((r) => [r.lane, r.decision, r.outcome])).toEqual([["streamable-http", "denied", "insufficient_scope:mcp:write"]]);
		const read = await rawPost(token, callOf(5, "notes__read", {}), headers);
		expect(read.status).toBe(200);
		expect(((await read.json()) as { result: { content: { text: string }[] } }).result.content[0]!.text).toBe("read ok");
	});

	it("the built-in write tool gets the same challenge (the reference for the test above)", async () => {
		const s = await readOnlyTenant();
		const sid = await session(s.tokens.access_token);
		const headers = { "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25" };
		const builtIn = await challenge(await rawPost(s.tokens.access_token, callOf(2, "create_entities", { entities: [] }), headers));
		expect(builtIn.status).toBe(403);
		expect(builtIn.wwwAuthenticate).toMatch(STEP_UP);
		expect(builtIn.wwwAuthenticate).toContain("create_entities needs the mcp:write scope");
	});

	it("a hosted read tool with a read-only token, and a hosted name that does not exist, get no challenge", async () => {
		const s = await readOnlyTenant();
		const sid = await session(s.tokens.access_token);
		const headers = { "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25" };
		expect((await rawPost(s.tokens.access_token, callOf(2, "notes__read", {}), headers)).status).toBe(200);
		const unknown = await rawPost(s.tokens.access_token, callOf(3, "notes__erase", {}), headers);
		expect(unknown.status).toBe(200);
		expect(((await unknown.json()) as { error: { code: number; message: string } }).error).toMatchObject({ code: -32602 });
	});
});

describe("hosted tools inside a JSON-RPC batch (2025-03-26)", () => {
	it("a hosted call in a batch is answered with its own error saying to send it alone, never dropped; the other items are served", async () => {
		const s = await signedIn();
		await installApp(s.account.tenantId, NOTES, { "index.js": NOTE_JS, "sdk.js": DEFINE_APP });
		const sid = await session(s.tokens.access_token, "2025-03-26");
		const res = await rawPost(
			s.tokens.access_token,
			[callOf(2, "notes__read", {}), { jsonrpc: "2.0", id: 3, method: "tools/list" }, callOf(4, "notes__write", { text: "x" })],
			{ "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-03-26" },
		);
		expect(res.status).toBe(200);
		const answers = (await res.json()) as {
			id: number;
			result?: { tools?: { name: string }[] };
			error?: { code: number; message: string };
		}[];
		const byId = new Map(answers.map((a) => [a.id, a]));
		expect([...byId.keys()].sort()).toEqual([2, 3, 4]);
		for (const id of [2, 4]) {
			expect(byId.get(id)!.error).toEqual({
				code: -32600,
				message: expect.stringMatching(
					/^Hosted tool notes__(read|write) cannot run inside a JSON-RPC batch: send this tools\/call as a request of its own\.$/,
				),
			});
		}
		expect(byId.get(3)!.result!.tools!.map((t) => t.name)).toContain("notes__write");
		// Not run, and audited as refused (one row a minute per refusal kind and caller: the first one).
		const rows = (await auditRows(s.account.tenantId)).filter((r) => r.tool?.startsWith("notes__"));
		expect(rows.map((r) => [r.decision, r.outcome])).toEqual([["denied", "batched_hosted_call"]]);
	});
});

describe("hosted tools and SEP-2243 parameter headers", () => {
	const GEO_JS = `import { defineApp } from "./sdk.js";
export default defineApp({ tools: { lookup: async ({ region }) => "region " + region } });
`;
	const GEO: AppManifestInput = {
		name: "geo",
		version: "1.0.0",
		main: "index.js",
		tools: [
			{
				name: "lookup",
				description: "Looks a region up.",
				inputSchema: { type: "object", properties: { region: { type: "string", "x-mcp-header": "Region" } }, required: ["region"] },
				scope: "mcp:read",
			},
		],
		egress: [],
		secrets: [],
	};

	it("a hosted tool that mirrors a parameter into Mcp-Param-Region, called with a header that disagrees with the body (or none): 400 -32020, the isolate never started", async () => {
		const s = await signedIn({ scope: ["mcp:read"] });
		await installApp(s.account.tenantId, GEO, { "index.js": GEO_JS, "sdk.js": DEFINE_APP });
		const token = s.tokens.access_token;
		const before = (await auditRows(s.account.tenantId)).length;
		for (const headers of [{ "Mcp-Param-Region": "us-east" }, {}] as Record<string, string>[]) {
			const res = await modernCall(token, "geo__lookup", { region: "eu-west" }, headers);
			expect(res.status).toBe(400);
			const body = (await res.json()) as { error: { code: number; message: string } };
			expect(body.error.code).toBe(-32020);
			expect(body.error.message).toMatch(/Mcp-Param-Region/);
			expect(body.error.message).not.toMatch(/eu-west|us-east/);
		}
		// Refused before the kernel: no call was audited, nothing ran.
		expect((await auditRows(s.account.tenantId)).length).toBe(before);
		const ok = await modernCall(token, "geo__lookup", { region: "eu-west" }, { "Mcp-Param-Region": "eu-west" });
		expect(ok.status).toBe(200);
		expect(JSON.stringify(await ok.json())).toContain("region eu-west");
	});
});
