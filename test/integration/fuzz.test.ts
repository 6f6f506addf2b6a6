/**
 * Property-based fuzzing of the whole Worker over `SELF.fetch` (fast-check): random and malformed
 * JSON-RPC bodies, hostile header combinations (Accept, Content-Type, MCP-Protocol-Version,
 * Mcp-Session-Id, Origin, Authorization, Mcp-Method) and generated arguments for every tool in the
 * registry (derived from each tool's published JSON Schema, then mutated), on the 2025 lane and
 * the 2026-07-28 lane. For every request:
 *
 * - never a 5xx, and no error-level log line (a crash, an unhandled rejection) anywhere in workerd;
 * - bounded: each answer is complete in under 2 s (open GET streams are cut after a moment);
 * - a rejected request (HTTP error, JSON-RPC error, or a tool error) leaves the caller's graph as it
 *   was (compared at the storage level, so the check itself spends no rate budget);
 * - nothing from another tenant: tenant B's canary entity, observation and ids never appear in
 *   anything tenant A receives.
 *
 * Then a volume run: 10,000 requests of the kinds an outside tester sends
 * (test/support/fuzz-volume.ts: every endpoint and method, hostile headers, truncated and deeply
 * nested JSON, wrong types in every field of `initialize` and `tools/call`, non-string methods,
 * mixed batches, huge and chunked bodies, lone surrogates and NULs, over-long identifiers), sent
 * 16 at a time with a read-only token of tenant C and without one. It checks: never a 5xx, no
 * error-level log line, nothing of tenant B in any answer, tenant C's graph unchanged (its token
 * cannot write, so any change is a bug), and after it the server is healthy (a real client
 * connects and calls a tool) and every tenant's audit chain verifies.
 *
 * Deep nesting (≥ 3,000 levels) is left to attacks-sessions.test.ts, which pins a known bug.
 * Runs are bounded (about 270 requests checked one by one, then the 10,000) so the file stays well
 * under a minute on two cores.
 */
import fc from "fast-check";
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { catalogFor } from "../../shared/catalog/packs";

const registry = catalogFor({}).tools;
import { MemoryStore } from "../../shared/catalog/packs/memory/store";
import { toJsonSchema } from "../../shared/catalog/registry";
import { volumeRequest, type VolumeRequest } from "../support/fuzz-volume";
import { obtainTokens } from "../support/oauth-flow";
import { connectMcp, INIT, ORIGIN, rawSession, selfFetch, signedIn, testEnv } from "./helpers";

const MODERN = "2026-07-28";
const LEGACY_VERSIONS = ["2025-03-26", "2025-06-18", "2025-11-25"];
const REQUEST_BUDGET_MS = 2_000;
/**
 * Fixed, so CI is reproducible; a failure prints fast-check's seed and shrunk counterexample. To
 * explore further, change it (or use `Date.now()`) locally.
 */
const SEED = 20_261_125;

interface World {
	/** Tenant A: several clients (so rate limits stay out of the way), one open session each. */
	a: { tenantId: string; userId: string; clients: { token: string; sessionId: string }[] };
	/** Tenant B: its canary and a session id of its own (a hijack target). */
	b: { tenantId: string; userId: string; sessionId: string; secrets: string[] };
	/** Tenant C: read-only tokens for the volume run, a session each, and a graph to keep. */
	c: { tenantId: string; clientId: string; clients: { token: string; sessionId: string }[] };
}

let world: World;
/** What the fuzzing reached, so a run that never got past the front door fails instead of passing vacuously. */
const stats = { requests: 0, byStatus: {} as Record<number, number>, toolResults: 0, toolErrors: 0, rpcErrors: 0, graphChanges: 0 };
const errorLogs: string[] = [];
const rejections: unknown[] = [];
const onRejection = (e: PromiseRejectionEvent | Event) => void rejections.push((e as PromiseRejectionEvent).reason);

beforeAll(async () => {
	const a = await signedIn();
	const clients = [{ token: a.tokens.access_token }];
	for (let i = 0; i < 2; i++) {
		const more = await obtainTokens({ fetch: selfFetch, origin: ORIGIN, email: a.account.email, password: a.account.password });
		clients.push({ token: more.access_token });
	}
	const withSessions = await Promise.all(clients.map(async (c) => ({ ...c, sessionId: await rawSession(c.token) })));
	const ca = (await connectMcp(a.tokens.access_token)).client;
	await ca.callTool({
		name: "create_entities",
		arguments: {
			entities: [
				{ name: "FuzzAlpha", entityType: "seed", observations: ["alpha"] },
				{ name: "FuzzBeta", entityType: "seed", observations: [] },
			],
		},
	});
	await ca.callTool({ name: "create_relations", arguments: { relations: [{ from: "FuzzAlpha", to: "FuzzBeta", relationType: "knows" }] } });
	await ca.close();

	const b = await signedIn();
	const canary = `Canary-${crypto.randomUUID()}`;
	const secret = `canary-secret-${crypto.randomUUID()}`;
	const cb = (await connectMcp(b.tokens.access_token)).client;
	// Named like A's seeds too, so a cross-tenant leak of a shared name would show B's observation.
	await cb.callTool({
		name: "create_entities",
		arguments: {
			entities: [
				{ name: canary, entityType: "secret", observations: [secret] },
				{ name: "FuzzAlpha", entityType: "b-only", observations: [secret] },
			],
		},
	});
	await cb.close();
	const c = await signedIn();
	const cc = (await connectMcp(c.tokens.access_token)).client;
	await cc.callTool({
		name: "create_entities",
		arguments: {
			entities: [
				{ name: "FuzzAlpha", entityType: "c-only", observations: ["kept"] },
				{ name: "İzmir", entityType: "city", observations: [] },
			],
		},
	});
	await cc.close();
	const readOnly = [];
	for (let i = 0; i < 2; i++) {
		const t = await obtainTokens({
			fetch: selfFetch,
			origin: ORIGIN,
			email: c.account.email,
			password: c.account.password,
			scope: ["mcp:read"],
		});
		readOnly.push({ token: t.access_token, sessionId: await rawSession(t.access_token) });
	}
	world = {
		c: { tenantId: c.account.tenantId, clientId: c.tokens.clientId, clients: readOnly },
		a: { tenantId: a.account.tenantId, userId: a.account.userId, clients: withSessions },
		b: {
			tenantId: b.account.tenantId,
			userId: b.account.userId,
			sessionId: await rawSession(b.tokens.access_token),
			secrets: [canary, secret, b.account.tenantId, b.account.userId, b.tokens.access_token],
		},
	};

	for (const level of ["log", "info", "warn", "error", "debug"] as const) {
		const original = console[level].bind(console);
		vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
			const line = args.map(String).join(" ");
			if (level === "error" || line.includes('"level":"error"')) errorLogs.push(line);
			else if (line.startsWith("fuzz:")) original(...args);
		});
	}
	globalThis.addEventListener("unhandledrejection", onRejection);
}, 60_000);

afterAll(() => {
	globalThis.removeEventListener("unhandledrejection", onRejection);
	vi.restoreAllMocks();
});

/** A tenant's graph, read in storage (no audit row, no rate budget). */
function graphOf(tenantId: string): Promise<string> {
	return runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId)), (_o: TenantObject, s) =>
		JSON.stringify(new MemoryStore(s.storage.sql).readGraph()),
	);
}
const graphOfA = () => graphOf(world.a.tenantId);

/** Reads a response within the budget; an open GET event stream is read briefly, then cut. */
async function readBounded(res: Response, method: string): Promise<{ text: string; complete: boolean }> {
	if (!res.body) return { text: "", complete: true };
	const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
	const streaming = method === "GET" && (res.headers.get("Content-Type") ?? "").includes("text/event-stream");
	const deadline = Date.now() + (streaming ? 150 : REQUEST_BUDGET_MS);
	let text = "";
	// One timer per response, cleared when it is read (workerd caps active timeouts at 10,000).
	let timer: ReturnType<typeof setTimeout> | undefined;
	const late = new Promise<"late">((r) => {
		timer = setTimeout(() => r("late"), Math.max(0, deadline - Date.now()));
	});
	try {
		for (;;) {
			const next = await Promise.race([reader.read(), late]);
			if (next === "late") {
				await reader.cancel().catch(() => {});
				return { text, complete: streaming };
			}
			if (next.done) return { text, complete: true };
			text += next.value;
		}
	} finally {
		clearTimeout(timer);
	}
}

/** The JSON-RPC messages in a body: one JSON value, a batch, or SSE `data:` lines. */
function messagesIn(text: string, contentType: string): unknown[] {
	try {
		if (contentType.includes("text/event-stream")) {
			return text
				.split("\n\n")
				.map((b) =>
					b
						.split("\n")
						.filter((l) => l.startsWith("data: "))
						.map((l) => l.slice(6))
						.join("\n"),
				)
				.filter((d) => d.startsWith("{") || d.startsWith("["))
				.map((d) => JSON.parse(d));
		}
		if (!text) return [];
		const v = JSON.parse(text);
		return Array.isArray(v) ? v : [v];
	} catch {
		return [];
	}
}

/** Whether a response only carries refusals: an HTTP error, or every answer an error or a tool error. */
function rejected(status: number, messages: unknown[]): boolean {
	if (status >= 300) return true;
	const answers = messages.filter((m): m is Record<string, any> => typeof m === "object" && m !== null && !("method" in m));
	if (answers.length === 0) return status !== 200; // 202: notifications only, nothing ran
	return answers.every((m) => m.error !== undefined || m.result?.isError === true || m.result?.resultType === "input_required");
}

const GENERIC_INTERNAL = /^(MCP error -32603: )?(Internal error|Tool failed)$/;

interface Sent {
	path: string;
	method: string;
	headers: Record<string, string>;
	body?: string;
	/** The Authorization header is not a valid bearer token: nothing may reach a Durable Object. */
	unauthenticated?: boolean;
}

const objectCount = async () =>
	(await listDurableObjectIds(testEnv.SESSIONS)).length + (await listDurableObjectIds(testEnv.TENANTS)).length;

/** Sends one request and checks every invariant. */
async function sendAndCheck(req: Sent): Promise<void> {
	const before = await graphOfA();
	const objectsBefore = req.unauthenticated ? await objectCount() : 0;
	const logsBefore = errorLogs.length;
	const started = Date.now();
	const res = await selfFetch(`${ORIGIN}${req.path}`, { method: req.method, headers: req.headers, body: req.body, redirect: "manual" });
	const { text, complete } = await readBounded(res, req.method);
	const elapsed = Date.now() - started;
	const label = `${req.method} ${req.path} ${JSON.stringify(req.headers).slice(0, 300)} ${String(req.body).slice(0, 300)} → ${res.status} ${text.slice(0, 300)}`;

	expect(res.status, label).toBeLessThan(500);
	expect(complete, `unbounded: ${label}`).toBe(true);
	expect(elapsed, label).toBeLessThan(REQUEST_BUDGET_MS + 500);
	for (const secret of world.b.secrets)
		expect(text.includes(secret) || JSON.stringify([...res.headers]).includes(secret), `another tenant's data leaked: ${label}`).toBe(
			false,
		);
	const messages = messagesIn(text, res.headers.get("Content-Type") ?? "");
	// Two error planes: an internal error carries generic text only (no stack, no validator dump).
	for (const m of messages as Record<string, any>[]) {
		if (m?.error?.code === -32603) expect(String(m.error.message), `internal text on the wire: ${label}`).toMatch(GENERIC_INTERNAL);
	}
	const after = await graphOfA();
	if (rejected(res.status, messages)) expect(after, `a rejected request changed the graph: ${label}`).toBe(before);
	stats.requests++;
	stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
	if (after !== before) stats.graphChanges++;
	for (const m of messages as Record<string, any>[]) {
		if (m?.error) stats.rpcErrors++;
		else if (m?.result?.isError) stats.toolErrors++;
		else if (m?.result?.content) stats.toolResults++;
	}
	expect(errorLogs.slice(logsBefore), label).toEqual([]);
	expect(rejections, label).toEqual([]);
	if (req.unauthenticated) {
		expect(res.status, label).toBeGreaterThanOrEqual(400);
		expect(await objectCount(), `an unauthenticated request created a Durable Object: ${label}`).toBe(objectsBefore);
	}
}

/** Requests in the volume run, and how many are in flight at once. */
const VOLUME = 10_000;
const VOLUME_CONCURRENCY = 32;

/** Sends one volume request and checks what can be checked per request: no 5xx, bounded, no leak. */
async function sendVolume(r: VolumeRequest, seen: { byStatus: Record<number, number>; byKind: Record<string, number>; results: number }) {
	const body =
		typeof r.body === "object"
			? new ReadableStream<Uint8Array>({
					start(controller) {
						for (const chunk of (r.body as { chunks: string[] }).chunks) controller.enqueue(new TextEncoder().encode(chunk));
						controller.close();
					},
				})
			: r.body;
	const res = await selfFetch(`${ORIGIN}${r.path}`, {
		method: r.method,
		headers: r.headers,
		body,
		redirect: "manual",
		duplex: "half",
	} as RequestInit);
	// An event stream opened by a GET stays open: its status is what counts here.
	const stream = r.method === "GET" && (res.headers.get("Content-Type") ?? "").includes("text/event-stream");
	if (stream) await res.body?.cancel();
	const { text, complete } = stream ? { text: "", complete: true } : await readBounded(res, r.method);
	// The label is built only for a failure: building it for each of 10,000 requests costs seconds.
	const label = () =>
		`${r.kind} ${r.method} ${r.path.slice(0, 80)} ${JSON.stringify(r.headers).slice(0, 200)} ${String(typeof r.body === "object" ? r.body.chunks.join("") : r.body).slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`;
	if (res.status >= 500 || !complete) expect.fail(`${res.status >= 500 ? "5xx" : "unbounded"}: ${label()}`);
	for (const secret of world.b.secrets) if (text.includes(secret)) expect.fail(`another tenant's data leaked: ${label()}`);
	seen.byStatus[res.status] = (seen.byStatus[res.status] ?? 0) + 1;
	seen.byKind[r.kind] = (seen.byKind[r.kind] ?? 0) + 1;
	for (const m of messagesIn(text, res.headers.get("Content-Type") ?? "") as Record<string, any>[]) {
		if (m?.error?.code === -32603 && !GENERIC_INTERNAL.test(String(m.error.message))) expect.fail(`internal text on the wire: ${label()}`);
		if (m?.result?.content) seen.results++;
	}
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const NAMES = [
	"FuzzAlpha",
	"FuzzBeta",
	"FuzzGamma",
	"",
	" ",
	"x",
	"ünï©ødé",
	"a\u0000b",
	"'; DROP TABLE mem_entities; --",
	'"quoted"',
	"%s%n",
	"\u202Eevil",
	"x\ud800",
	"\udc00",
	"İzmir",
	"a\u0000bcd",
];
const nameLike = fc.oneof(
	{ weight: 5, arbitrary: fc.constantFrom(...NAMES) },
	{ weight: 3, arbitrary: fc.string({ maxLength: 16 }) },
	{ weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
	{ weight: 1, arbitrary: fc.constantFrom("n".repeat(513), "q".repeat(1025)) },
);

type Schema = {
	type?: string;
	properties?: Record<string, Schema>;
	required?: string[];
	items?: Schema;
	maxItems?: number;
	maxLength?: number;
	format?: string;
	pattern?: string;
	enum?: unknown[];
	anyOf?: Schema[];
	minimum?: number;
	maximum?: number;
};

/** A fast-check arbitrary for (mostly) valid values of a tool's published JSON Schema. */
function fromSchema(s: Schema): fc.Arbitrary<unknown> {
	if (s.enum) return fc.constantFrom(...s.enum);
	if (s.anyOf) return fc.oneof(...s.anyOf.map(fromSchema));
	switch (s.type) {
		case "object": {
			const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, fromSchema(v)]));
			return fc.record(props, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
		}
		case "array":
			return fc.array(fromSchema(s.items ?? {}), { maxLength: Math.min(s.maxItems ?? 4, 6) });
		case "string":
			if (s.format === "date-time")
				return fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
			if (s.pattern) return fc.oneof(fc.integer({ min: 0, max: 10_000 }).map(String), fc.string({ maxLength: 6 }));
			return (s.maxLength ?? 0) >= 1024 ? fc.oneof(nameLike, fc.string({ maxLength: 40 })) : nameLike;
		case "boolean":
			return fc.boolean();
		case "integer":
		case "number":
			return fc.oneof(
				fc.integer({ min: (s.minimum ?? -3) - 2, max: (s.maximum ?? 200) + 2 }),
				fc.constantFrom(0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5),
			);
		default:
			return fc.jsonValue({ maxDepth: 2 });
	}
}

/** Mutations of a valid argument object: drop a key, replace a value, add a key, or anything. */
const mutate = (valid: fc.Arbitrary<unknown>) =>
	fc.oneof(
		{ weight: 6, arbitrary: valid },
		{ weight: 2, arbitrary: fc.tuple(valid, fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([v, i, junk]) => replaceAt(v, i, junk)) },
		{ weight: 1, arbitrary: fc.tuple(valid, fc.nat()).map(([v, i]) => dropAt(v, i)) },
		{
			weight: 1,
			arbitrary: fc
				.tuple(valid, fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }))
				.map(([v, k, junk]) => (isObj(v) ? { ...v, [k]: junk } : v)),
		},
		{ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
	);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const replaceAt = (v: unknown, i: number, junk: unknown) => {
	if (!isObj(v)) return junk;
	const keys = Object.keys(v);
	return keys.length ? { ...v, [keys[i % keys.length]!]: junk } : junk;
};
const dropAt = (v: unknown, i: number) => {
	if (!isObj(v)) return v;
	const keys = Object.keys(v);
	if (!keys.length) return v;
	const { [keys[i % keys.length]!]: _, ...rest } = v;
	return rest;
};

/** Every tool of the registry with generated arguments (the registry decides what is fuzzed). */
const TOOLS = registry.list();
const toolCallArb = fc.oneof(
	...TOOLS.map((t) => fc.record({ name: fc.constant(t.name), arguments: mutate(fromSchema(toJsonSchema(t.input, "input") as Schema)) })),
	fc.record({
		name: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("", "read_graph ", "READ_GRAPH", "__proto__", "constructor")),
		arguments: fc.jsonValue({ maxDepth: 2 }),
	}),
);

const envelope = (caps: Record<string, unknown> = {}) => ({
	"io.modelcontextprotocol/protocolVersion": MODERN,
	"io.modelcontextprotocol/clientCapabilities": caps,
	"io.modelcontextprotocol/clientInfo": { name: "fuzz", version: "1" },
});

const idArb = fc.oneof(
	{ weight: 6, arbitrary: fc.integer({ min: 0, max: 1_000_000 }) },
	{ weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
	{ weight: 1, arbitrary: fc.constantFrom<unknown>(null, {}, [], 1.5, -0, 1e308, "i".repeat(300), true) },
);
const METHODS = [
	"initialize",
	"ping",
	"tools/list",
	"tools/call",
	"resources/list",
	"resources/read",
	"resources/templates/list",
	"prompts/list",
	"logging/setLevel",
	"completion/complete",
	"server/discover",
	"notifications/initialized",
	"notifications/cancelled",
	"notifications/progress",
	"elicitation/create",
	"sampling/createMessage",
];

/** A JSON-RPC-ish message: valid shapes with malformed parts. */
const messageArb = fc.oneof(
	{ weight: 4, arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), id: idArb, method: fc.constant("tools/call"), params: toolCallArb }) },
	{
		weight: 3,
		arbitrary: fc.record(
			{
				jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant("2.0") }, { weight: 1, arbitrary: fc.constantFrom<unknown>("1.0", 2, null) }),
				id: idArb,
				method: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.string({ maxLength: 140 }) }),
				params: fc.oneof(
					fc.constant({ protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "f", version: "1" } }),
					fc.record({
						uri: fc.constantFrom(
							"smcp://audit-log",
							"smcp://audit-log?limit=2",
							"smcp://audit-log?limit=abc&decision=nope",
							"file:///etc/passwd",
							"smcp://other",
						),
					}),
					fc.record({ requestId: idArb, reason: fc.string({ maxLength: 8 }) }),
					fc.jsonValue({ maxDepth: 3 }),
				),
			},
			{ requiredKeys: [] },
		),
	},
	{
		weight: 1,
		arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), id: idArb, result: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ["jsonrpc"] }),
	},
);

/** A body: one message, a batch, any JSON, or broken text. */
const bodyArb = fc.oneof(
	{ weight: 6, arbitrary: messageArb.map((m) => JSON.stringify(m)) },
	{ weight: 1, arbitrary: fc.array(messageArb, { maxLength: 4 }).map((b) => JSON.stringify(b)) },
	{ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
	{ weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
	{
		weight: 1,
		arbitrary: fc.tuple(messageArb, fc.nat()).map(([m, n]) => {
			const s = JSON.stringify(m);
			return s.slice(0, n % Math.max(1, s.length));
		}),
	},
	{
		weight: 1,
		arbitrary: fc.constantFrom(
			"",
			"null",
			"[]",
			"[[]]",
			"{}",
			'{"__proto__":{"polluted":1},"jsonrpc":"2.0","id":1,"method":"ping"}',
			"\uFEFF{}",
			'{"jsonrpc":"2.0","id":1,"method":"ping"}{"x":1}',
		),
	},
);

/** Picks among fixed options or a generated string. */
const headerArb = (options: (string | undefined)[], weightRandom = 1) =>
	fc.oneof(
		{ weight: 8, arbitrary: fc.constantFrom(...options) },
		{ weight: weightRandom, arbitrary: fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n\0]/g, "")) },
	);

/** The header set of one request, built from world A's credentials and session ids. */
const headersArb = fc.record({
	client: fc.nat(),
	auth: fc.constantFrom("valid", "valid", "valid", "valid", "lower", "none", "empty", "basic", "double", "tampered", "list"),
	session: fc.constantFrom("own", "own", "own", "none", "b", "random", "forged", "long", "nonascii"),
	accept: headerArb([
		"application/json, text/event-stream",
		"application/json, text/event-stream",
		"text/event-stream",
		"application/json",
		"*/*",
		undefined,
	]),
	contentType: headerArb([
		"application/json",
		"application/json",
		"application/json; charset=utf-8",
		"text/plain",
		"application/x-www-form-urlencoded",
		undefined,
	]),
	version: headerArb([undefined, undefined, ...LEGACY_VERSIONS, MODERN, "2024-11-05", "2099-01-01", ""]),
	origin: fc.constantFrom(undefined, undefined, undefined, ORIGIN, "https://evil.example", "null", "http://127.0.0.1:8787.evil.example"),
	mcpMethod: fc.constantFrom(undefined, undefined, "tools/call", "tools/list", "initialize", "x"),
});

type HeaderChoice = typeof headersArb extends fc.Arbitrary<infer T> ? T : never;

function buildHeaders(h: HeaderChoice): Record<string, string> {
	const client = world.a.clients[h.client % world.a.clients.length]!;
	const out: Record<string, string> = {};
	const auth: Record<string, string | undefined> = {
		valid: `Bearer ${client.token}`,
		lower: `bearer ${client.token}`,
		none: undefined,
		empty: "",
		basic: `Basic ${btoa("user:pass")}`,
		double: `Bearer  ${client.token}`,
		tampered: `Bearer ${client.token.slice(0, -1)}${client.token.endsWith("A") ? "B" : "A"}`,
		list: `Bearer ${client.token}, Bearer other`,
	};
	const session: Record<string, string | undefined> = {
		own: client.sessionId,
		none: undefined,
		b: world.b.sessionId,
		random: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(33))))
			.replaceAll("+", "-")
			.replaceAll("/", "_"),
		forged: `${client.sessionId.slice(0, 22)}${"A".repeat(22)}`,
		long: "s".repeat(4096),
		nonascii: encodeURIComponent("é".repeat(44)),
	};
	const set = (k: string, v: string | undefined) => {
		if (v !== undefined) out[k] = v;
	};
	set("Authorization", auth[h.auth]);
	set("Mcp-Session-Id", session[h.session]);
	set("Accept", h.accept);
	set("Content-Type", h.contentType);
	set("MCP-Protocol-Version", h.version);
	set("Origin", h.origin);
	set("Mcp-Method", h.mcpMethod);
	return out;
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe("fuzzing the Worker with a valid token", () => {
	it("random and malformed bodies and headers on /mcp and /sse → never 5xx, bounded, no state change when rejected, nothing from another tenant", async () => {
		const requestArb = fc.record({
			path: fc.constantFrom("/mcp", "/mcp", "/mcp", "/mcp", "/mcp/", "/mcp?x=1", "/sse/message?sessionId=abc", "/sse", "/mcp-v2"),
			method: fc.constantFrom("POST", "POST", "POST", "POST", "POST", "POST", "GET", "DELETE", "PUT", "OPTIONS"),
			headers: headersArb,
			body: bodyArb,
		});
		await fc.assert(
			fc.asyncProperty(requestArb, async (r) => {
				const headers = buildHeaders(r.headers);
				// DELETE with our own session would end it for the later runs; keep it on other ids.
				if (r.method === "DELETE" && r.headers.session === "own") delete headers["Mcp-Session-Id"];
				const unauthenticated = ["none", "empty", "basic", "tampered", "list"].includes(r.headers.auth) && r.method !== "OPTIONS";
				await sendAndCheck({
					path: r.path,
					method: r.method,
					headers,
					body: r.method === "POST" || r.method === "PUT" ? r.body : undefined,
					unauthenticated,
				});
			}),
			{ numRuns: 120, seed: SEED, endOnFailure: true },
		);
	}, 60_000);

	it("every registry tool with generated and mutated arguments, on an open 2025 session → never 5xx, tool errors leave no change, nothing from another tenant", async () => {
		const arb = fc.record({
			client: fc.nat(),
			call: toolCallArb,
			id: idArb,
			progress: fc.option(fc.oneof(fc.integer(), fc.string({ maxLength: 6 }))),
			version: fc.constantFrom(...LEGACY_VERSIONS),
		});
		await fc.assert(
			fc.asyncProperty(arb, async ({ client: i, call, id, progress, version }) => {
				const client = world.a.clients[i % world.a.clients.length]!;
				const params = { ...call, ...(progress === null ? {} : { _meta: { progressToken: progress } }) };
				await sendAndCheck({
					path: "/mcp",
					method: "POST",
					headers: {
						Authorization: `Bearer ${client.token}`,
						"Content-Type": "application/json",
						Accept: "application/json, text/event-stream",
						"Mcp-Session-Id": client.sessionId,
						"MCP-Protocol-Version": version,
					},
					body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params }),
				});
			}),
			{ numRuns: 100, seed: SEED + 1, endOnFailure: true },
		);
	}, 60_000);

	it("every registry tool with generated and mutated arguments, on the stateless 2026-07-28 lane → the same properties", async () => {
		const arb = fc.record({ client: fc.nat(), call: toolCallArb, id: idArb, elicitation: fc.boolean(), nameHeader: fc.boolean() });
		await fc.assert(
			fc.asyncProperty(arb, async ({ client: i, call, id, elicitation, nameHeader }) => {
				const client = world.a.clients[i % world.a.clients.length]!;
				const headers: Record<string, string> = {
					Authorization: `Bearer ${client.token}`,
					"Content-Type": "application/json",
					Accept: "application/json, text/event-stream",
					"MCP-Protocol-Version": MODERN,
					"Mcp-Method": "tools/call",
				};
				if (nameHeader && typeof call.name === "string" && /^[\x21-\x7e]*$/.test(call.name)) headers["Mcp-Name"] = call.name;
				await sendAndCheck({
					path: "/mcp",
					method: "POST",
					headers,
					body: JSON.stringify({
						jsonrpc: "2.0",
						id,
						method: "tools/call",
						params: { ...call, _meta: envelope(elicitation ? { elicitation: { form: {} } } : {}) },
					}),
				});
			}),
			{ numRuns: 50, seed: SEED + 2, endOnFailure: true },
		);
	}, 60_000);

	it("10,000 requests of every malformed kind (read-only token or none) → no 5xx, no error log, no data changed, nothing of another tenant", async () => {
		const credentials = {
			tokens: world.c.clients.map((c) => c.token),
			sessions: world.c.clients.map((c) => c.sessionId),
			clientId: world.c.clientId,
		};
		const requests = fc.sample(volumeRequest(credentials), { numRuns: VOLUME, seed: SEED + 3 });
		const graphC = await graphOf(world.c.tenantId);
		const graphA = await graphOfA();
		const logsBefore = errorLogs.length;
		const started = Date.now();
		const seen = { byStatus: {} as Record<number, number>, byKind: {} as Record<string, number>, results: 0 };
		for (let i = 0; i < requests.length; i += VOLUME_CONCURRENCY) {
			await Promise.all(requests.slice(i, i + VOLUME_CONCURRENCY).map((r) => sendVolume(r, seen)));
			// A wave that wrote to C's graph (its tokens cannot write) or logged an error stops the run here.
			if (i % 2000 === 0 || i + VOLUME_CONCURRENCY >= requests.length) {
				expect(await graphOf(world.c.tenantId), `tenant C's graph changed by wave ${i}`).toBe(graphC);
				expect(errorLogs.slice(logsBefore), `error logs by wave ${i}`).toEqual([]);
			}
		}
		const ms = Date.now() - started;
		console.info(`fuzz: volume ${requests.length} requests in ${ms} ms ${JSON.stringify(seen)}`);
		expect(await graphOfA()).toBe(graphA);
		expect(rejections).toEqual([]);
		// Not vacuous: every kind was sent, and some got past authentication to the tools.
		expect(Object.keys(seen.byKind).sort()).toEqual(
			expect.arrayContaining(["authorize", "mcp", "mcp:chunked", "mcp:legacy", "mcp:modern", "other", "token", "token:chunked"]),
		);
		expect(seen.results).toBeGreaterThan(200);
		expect(seen.byStatus[200] ?? 0).toBeGreaterThan(1000);
		expect(seen.byStatus[400] ?? 0).toBeGreaterThan(1000);
		expect(seen.byStatus[401] ?? 0).toBeGreaterThan(500);
	}, 120_000);

	it("after the fuzzing, tenant B is intact and A's sessions still answer", async () => {
		const graphB = await runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(world.b.tenantId)), (_o: TenantObject, s) =>
			new MemoryStore(s.storage.sql).readGraph(),
		);
		expect(graphB.entities.map((e) => e.name).sort()).toEqual([world.b.secrets[0]!, "FuzzAlpha"].sort());
		const res = await selfFetch(`${ORIGIN}/mcp`, {
			method: "POST",
			headers: {
				Authorization: `Bearer ${world.a.clients[1]!.token}`,
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
			},
			body: JSON.stringify(INIT),
		});
		await res.body?.cancel();
		expect(res.status).toBeLessThan(500);
		// Healthy: the health check answers, a real client connects and reads, every audit chain verifies.
		expect((await selfFetch(`${ORIGIN}/healthz`)).status).toBe(200);
		// A real call still runs: tenant A (C's user used up its sessions and read budget in the run,
		// which is the rate limit working), on the stateless lane.
		const read = await selfFetch(`${ORIGIN}/mcp`, {
			method: "POST",
			headers: {
				Authorization: `Bearer ${world.a.clients[2]!.token}`,
				"Content-Type": "application/json",
				Accept: "application/json, text/event-stream",
				"MCP-Protocol-Version": MODERN,
				"Mcp-Method": "tools/call",
				"Mcp-Name": "read_graph",
			},
			body: JSON.stringify({
				jsonrpc: "2.0",
				id: 1,
				method: "tools/call",
				params: { name: "read_graph", arguments: { limit: 1 }, _meta: envelope() },
			}),
		});
		expect(read.status).toBe(200);
		const found = (await read.json()) as { result: { isError?: boolean; structuredContent: { entities: unknown[] } } };
		expect(found.result.isError).toBeUndefined();
		expect(Array.isArray(found.result.structuredContent.entities)).toBe(true);
		for (const tenantId of [world.a.tenantId, world.b.tenantId, world.c.tenantId]) {
			const verdict = await testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId)).verifyAudit();
			expect(verdict, `${tenantId} ${JSON.stringify(verdict)}`).toMatchObject({ ok: true });
		}
		expect(errorLogs).toEqual([]);
		console.info(`fuzz: seed ${SEED} ${JSON.stringify(stats)}`);
		// Not vacuous: the fuzzing got past the front door, reached the tools and was refused by them.
		expect(stats.requests).toBeGreaterThanOrEqual(270);
		expect(stats.toolResults).toBeGreaterThan(15);
		expect(stats.toolErrors).toBeGreaterThan(15);
		expect(Object.keys(stats.byStatus).length).toBeGreaterThan(5);
	});
});
