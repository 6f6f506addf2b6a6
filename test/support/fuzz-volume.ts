/**
 * @module test/support/fuzz-volume
 * Generators for the volume fuzzing in test/integration/fuzz.test.ts: the malformed traffic an
 * outside tester sends, as requests to build for `SELF.fetch`. Every endpoint and method; random
 * and hostile headers; truncated, deeply nested and non-JSON bodies; `initialize` and `tools/call`
 * with a wrong type in each of their fields (2025 and 2026-07-28 shapes); JSON-RPC methods that
 * are not strings; mixed batches; huge and chunked bodies; lone surrogates and NULs in strings;
 * over-long identifiers (client ids, bearer tokens, codes) that reach KV keys.
 *
 * Pure: credentials come in through {@link Credentials}, so the same seed gives the same traffic.
 */
import fc from "fast-check";

/** What the generated requests may authenticate with. */
export interface Credentials {
	/** Bearer tokens that may only read (so the run can check that nothing was written). */
	tokens: string[];
	/** A session id of each token's client, in the same order. */
	sessions: string[];
	/** A registered OAuth client id. */
	clientId: string;
}

/** A request to send: `body` is text, or chunks streamed with `Transfer-Encoding: chunked`. */
export interface VolumeRequest {
	kind: string;
	path: string;
	method: string;
	headers: Record<string, string>;
	body?: string | { chunks: string[] };
}

const MODERN = "2026-07-28";
const ENVELOPE = {
	"io.modelcontextprotocol/protocolVersion": MODERN,
	"io.modelcontextprotocol/clientCapabilities": {},
	"io.modelcontextprotocol/clientInfo": { name: "volume", version: "1" },
};
const INIT = {
	jsonrpc: "2.0",
	id: 1,
	method: "initialize",
	params: { protocolVersion: "2025-11-25", capabilities: { elicitation: {} }, clientInfo: { name: "volume", version: "1" } },
};
const READS = [
	{ name: "search_nodes", arguments: { query: "fuzz" } },
	{ name: "open_nodes", arguments: { names: ["FuzzAlpha"] } },
	{ name: "read_graph", arguments: { limit: 2 } },
	{ name: "audit_log", arguments: { limit: 2 } },
	{ name: "create_entities", arguments: { entities: [{ name: "never", entityType: "t", observations: [] }] } },
];

/** Values of every JSON type and then some: one of them replaces a field. */
const wrongType = fc.constantFrom<unknown>(
	null,
	0,
	-1,
	1.5,
	1e308,
	true,
	false,
	"",
	"x",
	"\ud800",
	"a\u0000b",
	[],
	[1, "2"],
	{},
	{ a: { b: [] } },
	"n".repeat(600),
);

/** Strings with what storage and parsers trip on: lone surrogates, NUL, Turkish i, over-long ones. */
const hostileString = fc.oneof(
	fc.constantFrom("x\ud800", "\udc00", "a\u0000bcd", "\u0000\u0000\u0000", "İzmir", "ς", "\ud83c", "q".repeat(1025), "n".repeat(513)),
	fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 8 }),
);

/** Every dotted path of an object's fields (arrays by index). */
function paths(v: unknown, prefix: string[] = []): string[][] {
	if (v === null || typeof v !== "object") return [];
	return Object.entries(v).flatMap(([k, child]) => [[...prefix, k], ...paths(child, [...prefix, k])]);
}

/** A deep copy of `v` with the field at `path` replaced (or deleted when `value` is undefined). */
function setAt(v: unknown, path: string[], value: unknown): unknown {
	const copy = structuredClone(v) as Record<string, unknown>;
	let at = copy;
	for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
	const last = path[path.length - 1]!;
	if (value === undefined) delete at[last];
	else at[last] = value;
	return copy;
}

/** A message with one field replaced by a wrong type, deleted, or a hostile string. */
const mutated = (base: unknown) =>
	fc.tuple(fc.constantFrom(...paths(base)), fc.oneof(wrongType, hostileString, fc.constant(undefined))).map(([p, v]) => setAt(base, p, v));

const modernCall = (call: { name: string; arguments: unknown }, id = 7) => ({
	jsonrpc: "2.0",
	id,
	method: "tools/call",
	params: { ...call, _meta: ENVELOPE },
});
const legacyCall = (call: { name: string; arguments: unknown }, id = 7) => ({ jsonrpc: "2.0", id, method: "tools/call", params: call });

/** `[[[…]]]` or `{"a":{"a":…}}` nested `depth` levels (below the 3,000 a known bug elsewhere pins). */
const nested = fc
	.tuple(fc.integer({ min: 10, max: 2000 }), fc.boolean())
	.map(([depth, arrays]) => (arrays ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`));

/** Built once: a body just over the 4 MiB cap, and a 1 MiB argument. */
const HUGE = `{"x":"${"h".repeat(4 * 1024 * 1024)}"}`;
const BIG_ARGUMENT = JSON.stringify(legacyCall({ name: "search_nodes", arguments: { query: "b".repeat(1024 * 1024) } }));

const body = fc.oneof(
	{ weight: 6, arbitrary: mutated(INIT).map((m) => JSON.stringify(m)) },
	{
		weight: 6,
		arbitrary: fc
			.constantFrom(...READS)
			.chain((c) => mutated(legacyCall(c)))
			.map((m) => JSON.stringify(m)),
	},
	{
		weight: 6,
		arbitrary: fc
			.constantFrom(...READS)
			.chain((c) => mutated(modernCall(c)))
			.map((m) => JSON.stringify(m)),
	},
	{
		weight: 3,
		arbitrary: fc
			.tuple(fc.constantFrom<unknown>(5, { x: 1 }, false, null, ["tools/list"], 1.5), fc.boolean())
			.map(([method, id]) => JSON.stringify({ jsonrpc: "2.0", ...(id ? { id: 1 } : {}), method, params: { _meta: ENVELOPE } })),
	},
	{
		weight: 3,
		arbitrary: fc
			.tuple(fc.constantFrom(...READS), hostileString, fc.boolean())
			.map(([c, s, modern]) =>
				JSON.stringify((modern ? modernCall : legacyCall)({ name: c.name, arguments: { query: s, names: [s], limit: 1 } })),
			),
	},
	{
		weight: 3,
		arbitrary: fc
			.array(
				fc.oneof(
					fc.constantFrom(...READS).map((c) => legacyCall(c)),
					fc.constant(INIT),
					fc.constant({ jsonrpc: "2.0", method: "notifications/initialized" }),
					fc.constant({ jsonrpc: "2.0", id: 3, result: {} }),
					fc.constantFrom(...READS).map((c) => modernCall(c)),
					wrongType,
				),
				{ maxLength: 6 },
			)
			.map((b) => JSON.stringify(b)),
	},
	{ weight: 2, arbitrary: nested },
	{
		weight: 3,
		arbitrary: fc
			.tuple(
				fc.oneof(
					mutated(INIT),
					fc.constantFrom(...READS).map((c) => modernCall(c)),
				),
				fc.nat(),
			)
			.map(([m, n]) => {
				const s = JSON.stringify(m);
				return s.slice(0, n % s.length);
			}),
	},
	{ weight: 2, arbitrary: fc.string({ maxLength: 64 }) },
	{ weight: 1, arbitrary: fc.constantFrom("", "null", "[]", "{}", "\uFEFF{}", '{"jsonrpc":"2.0"}{"x":1}', "\ud800", BIG_ARGUMENT) },
);

/** Authorization headers: the read-only tokens, nothing, and malformed or over-long bearers. */
const authorization = (c: Credentials) =>
	fc.oneof(
		{ weight: 10, arbitrary: fc.constantFrom(...c.tokens.map((t) => `Bearer ${t}`)) },
		{
			weight: 3,
			arbitrary: fc.constantFrom(
				undefined,
				"",
				"Bearer",
				`Bearer ${"u".repeat(500)}:grant:secret`,
				`Bearer user:${"g".repeat(500)}:secret`,
				`Bearer ${"t".repeat(5000)}`,
				"Bearer a:b:c!",
				`Basic ${btoa("user:pass")}`,
				`Bearer ${c.tokens[0]}, Bearer x`,
				`bearer ${c.tokens[0]}`,
			),
		},
		{ weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")) },
	);

/** A request to /mcp, /sse or /sse/message. */
const mcpRequest = (c: Credentials) =>
	fc
		.record({
			path: fc.constantFrom("/mcp", "/mcp", "/mcp", "/mcp", "/sse/message?sessionId=", "/sse", "/mcp/"),
			method: fc.constantFrom("POST", "POST", "POST", "POST", "POST", "POST", "GET", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"),
			auth: authorization(c),
			client: fc.nat(),
			session: fc.constantFrom("own", "own", "none", "forged", "long"),
			version: fc.constantFrom<string | undefined>(undefined, MODERN, MODERN, "2025-11-25", "2025-03-26", "2099-01-01", ""),
			mcpMethod: fc.constantFrom<string | undefined>(undefined, "tools/call", "tools/call", "initialize", "x"),
			accept: fc.constantFrom<string | undefined>(
				"application/json, text/event-stream",
				"application/json, text/event-stream",
				"*/*",
				undefined,
			),
			contentType: fc.constantFrom<string | undefined>("application/json", "application/json", "text/plain", undefined),
			body,
		})
		.map((r): VolumeRequest => {
			const i = r.client % c.tokens.length;
			const headers: Record<string, string> = {};
			const set = (k: string, v: string | undefined) => v !== undefined && (headers[k] = v);
			set("Authorization", r.auth);
			const session = {
				own: c.sessions[i],
				none: undefined,
				forged: `${c.sessions[i]!.slice(0, 22)}${"A".repeat(22)}`,
				long: "s".repeat(600),
			}[r.session];
			set("Mcp-Session-Id", r.session === "own" && r.method === "DELETE" ? undefined : session);
			set("MCP-Protocol-Version", r.version);
			set("Mcp-Method", r.mcpMethod);
			set("Accept", r.accept);
			set("Content-Type", r.contentType);
			const path = r.path.endsWith("=") ? `${r.path}${c.sessions[i]}` : r.path;
			const withBody = r.method === "POST" || r.method === "PUT" || r.method === "PATCH" || r.method === "DELETE";
			// A GET on /sse opens a stream that stays open; most are cut right away, so keep them rare.
			const method = path === "/sse" && r.method === "GET" && r.client % 4 !== 0 ? "POST" : r.method;
			return { kind: "mcp", path, method, headers, ...(withBody ? { body: r.body } : {}) };
		});

/** A well-formed request of either lane, with a valid or a mutated call: traffic that reaches the kernel. */
const wellFormed = (c: Credentials) =>
	fc
		.record({
			client: fc.nat(),
			modern: fc.boolean(),
			call: fc.constantFrom(...READS),
			mutate: fc.boolean(),
			id: fc.integer({ min: 1, max: 1e6 }),
		})
		.chain((r) => {
			const message = r.modern ? modernCall(r.call, r.id) : legacyCall(r.call, r.id);
			return (r.mutate ? mutated(message) : fc.constant(message)).map((m): VolumeRequest => {
				const i = r.client % c.tokens.length;
				const headers: Record<string, string> = {
					Authorization: `Bearer ${c.tokens[i]}`,
					Accept: "application/json, text/event-stream",
					"Content-Type": "application/json",
					"MCP-Protocol-Version": r.modern ? MODERN : "2025-11-25",
					...(r.modern ? { "Mcp-Method": "tools/call", "Mcp-Name": r.call.name } : { "Mcp-Session-Id": c.sessions[i]! }),
				};
				return { kind: r.modern ? "mcp:modern" : "mcp:legacy", path: "/mcp", method: "POST", headers, body: JSON.stringify(m) };
			});
		});

/** A request to an OAuth, account, admin or other endpoint, mostly unauthenticated. */
const otherRequest = (c: Credentials) =>
	fc.oneof(
		fc
			.record({
				grant: fc.constantFrom(
					"authorization_code",
					"refresh_token",
					"client_credentials",
					"urn:ietf:params:oauth:grant-type:token-exchange",
					"",
				),
				clientId: fc.oneof(fc.constant(c.clientId), fc.constantFrom("c".repeat(520), "x", "", "é".repeat(300)), hostileString),
				code: fc.constantFrom("a:b:c", `u:${"g".repeat(500)}:s`, "", "x"),
				verifier: fc.constantFrom("v".repeat(43), "short", "v".repeat(200)),
				basic: fc.constantFrom<string | undefined>(undefined, btoa(`${"c".repeat(520)}:s`), "!!notbase64", btoa(`${c.clientId}:x`)),
			})
			.map(
				(f): VolumeRequest => ({
					kind: "token",
					path: "/token",
					method: "POST",
					headers: { "Content-Type": "application/x-www-form-urlencoded", ...(f.basic ? { Authorization: `Basic ${f.basic}` } : {}) },
					body: new URLSearchParams({
						grant_type: f.grant,
						client_id: f.clientId,
						code: f.code,
						refresh_token: f.code,
						code_verifier: f.verifier,
						redirect_uri: "http://127.0.0.1/cb",
					}).toString(),
				}),
			),
		fc
			.record({
				clientId: fc.oneof(fc.constant(c.clientId), fc.constantFrom("c".repeat(600), "nope")),
				method: fc.constantFrom("GET", "POST"),
			})
			.map(
				(a): VolumeRequest => ({
					kind: "authorize",
					path: `/authorize?response_type=code&client_id=${encodeURIComponent(a.clientId)}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_challenge=${"a".repeat(43)}&code_challenge_method=S256`,
					method: a.method,
					headers: a.method === "POST" ? { "Content-Type": "application/x-www-form-urlencoded" } : {},
					...(a.method === "POST" ? { body: "action=approve&email=x" } : {}),
				}),
			),
		fc
			.record({
				path: fc.constantFrom(
					"/register",
					"/.well-known/oauth-authorization-server",
					"/.well-known/oauth-protected-resource",
					"/admin/tenants",
					"/admin/users",
					"/account",
					"/account/keys",
					"/healthz",
					"/",
					"/nope",
					"/oidc/callback?state=x&code=y",
				),
				method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"),
				auth: fc.constantFrom<string | undefined>(undefined, "Bearer wrong-admin-token", `Bearer ${"a".repeat(600)}`),
				body,
			})
			.map(
				(r): VolumeRequest => ({
					kind: "other",
					path: r.path,
					method: r.method,
					headers: { "Content-Type": "application/json", ...(r.auth ? { Authorization: r.auth } : {}) },
					...(r.method === "POST" || r.method === "PUT" ? { body: r.body } : {}),
				}),
			),
	);

/**
 * One request of the volume run: MCP traffic mostly, the other endpoints too; some bodies sent
 * chunked, a few huge.
 *
 * @example
 * ```ts
 * const requests = fc.sample(volumeRequest(credentials), { numRuns: 10_000, seed: 1 });
 * ```
 */
export function volumeRequest(c: Credentials): fc.Arbitrary<VolumeRequest> {
	return fc
		.tuple(
			fc.oneof({ weight: 5, arbitrary: mcpRequest(c) }, { weight: 3, arbitrary: wellFormed(c) }, { weight: 2, arbitrary: otherRequest(c) }),
			fc.integer({ min: 0, max: 9 }),
			fc.integer({ min: 0, max: 999 }),
		)
		.map(([r, chunking, huge]) => {
			if (typeof r.body !== "string") return r;
			if (huge === 0 && chunking === 0 && r.method === "POST") return { ...r, kind: `${r.kind}:huge`, body: HUGE };
			if (chunking < 3 && r.body.length > 0) {
				const size = Math.max(1, Math.ceil(r.body.length / (chunking + 2)));
				const chunks: string[] = [];
				for (let i = 0; i < r.body.length; i += size) chunks.push(r.body.slice(i, i + size));
				return { ...r, kind: `${r.kind}:chunked`, body: { chunks } };
			}
			return r;
		});
}
