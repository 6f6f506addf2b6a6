/**
 * @module worker/mcp/modern/direct
 * The 2026-07-28 lane's common requests answered from the catalog, without building the SDK v2
 * server (worker/mcp/modern/lane.ts): `server/discover`, `tools/list`, `resources/list`,
 * `resources/templates/list` and plain `tools/call`s — as the 2025 lane's one-hop path answers its
 * own plain requests (worker/mcp/one-hop.ts, shared/mcp/answers.ts). The answers are the SDK's,
 * byte for byte in their JSON: the same handler results, `resultType`, cache fields and
 * `io.modelcontextprotocol/serverInfo` stamp, the same kernel calls and audit rows (checked against
 * the SDK path in test/integration/modern-direct.test.ts).
 *
 * Only a request the SDK would accept as it is comes here: a single request with a numeric or
 * string id, the exact headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, JSON in and
 * out), an envelope of protocol version, client capabilities and client info alone (no progress
 * token, log level or trace context), no cursor, and for `tools/call` a built-in tool the caller
 * may call that sends nothing, asks nothing, needs no client capability, has no confirmation to
 * ask for and no task support. Everything else returns null and goes to the SDK server, which
 * keeps every rule and error of the lane.
 */
import type { Catalog } from "../../../shared/catalog/registry";
import type { Env } from "../../../shared/env";
import type { Failure, Result } from "../../../shared/errors";
import type { RequestRecord, ToolOutcome } from "../../../shared/rpc/kernel";
import { hasScope, type VerifiedPrincipal } from "../../../shared/rpc/principal";
import { admissionError } from "../../../shared/mcp/admission";
import { INSTRUCTIONS, serverInfo } from "../../../shared/mcp/answers";
import {
	confirmationQuestion,
	resourceList,
	sendsBeforeResult,
	serverCapabilities,
	templateList,
	toolList,
} from "../../../shared/mcp/publish";
import { hostedCatalog, hostedToolList } from "../../../shared/mcp/hosted-catalog";
import { parseHostedToolName } from "../../../shared/apps/manifest";
import { log } from "../../../shared/log";
import { tenantStub } from "../../../shared/rpc/stubs";

const MODERN = "2026-07-28";
const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo";
const SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo";
/** The cache fields the lane's SDK server is configured with (lane.ts `cacheHints`). */
const CACHE: Record<string, { ttlMs: number; cacheScope: "public" | "private" }> = {
	"server/discover": { ttlMs: 300_000, cacheScope: "public" },
	"tools/list": { ttlMs: 10_000, cacheScope: "private" },
	"resources/list": { ttlMs: 60_000, cacheScope: "private" },
	"resources/templates/list": { ttlMs: 60_000, cacheScope: "private" },
};
const JSON_HEADERS = { "Content-Type": "application/json" };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const onlyKeys = (o: Record<string, unknown>, allowed: readonly string[]) => Object.keys(o).every((k) => allowed.includes(k));

/** The envelope, when it is exactly what a plain request carries; null otherwise. */
function plainEnvelope(params: Record<string, unknown>): { capabilities: Record<string, unknown> } | null {
	const meta = params._meta;
	if (!isObject(meta) || !onlyKeys(meta, [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY])) return null;
	if (meta[PROTOCOL_VERSION_KEY] !== MODERN || !isObject(meta[CLIENT_CAPABILITIES_KEY])) return null;
	const info = meta[CLIENT_INFO_KEY];
	if (info !== undefined && !(isObject(info) && typeof info.name === "string" && typeof info.version === "string")) return null;
	return { capabilities: meta[CLIENT_CAPABILITIES_KEY] };
}

/** The SDK's encoding of a result: `resultType`, cache fields for cacheable methods, the server's identity in `_meta`. */
function resultResponse(id: string | number, method: string, result: Record<string, unknown>, origin: string | undefined): Response {
	const stamped: Record<string, unknown> = { ...result, resultType: result.resultType ?? "complete" };
	const cache = CACHE[method];
	if (cache) Object.assign(stamped, cache);
	const meta = stamped._meta;
	if (meta === undefined) stamped._meta = { [SERVER_INFO_KEY]: serverInfo(origin) };
	else if (isObject(meta) && meta[SERVER_INFO_KEY] === undefined) stamped._meta = { ...meta, [SERVER_INFO_KEY]: serverInfo(origin) };
	return new Response(JSON.stringify({ result: stamped, jsonrpc: "2.0", id }), { status: 200, headers: JSON_HEADERS });
}

/** An in-band error, as the SDK answers a handler's protocol error (HTTP 200). */
const errorResponse = (id: string | number, code: number, message: string, data?: unknown) =>
	new Response(JSON.stringify({ jsonrpc: "2.0", id, error: { code, message, ...(data === undefined ? {} : { data }) } }), {
		status: 200,
		headers: JSON_HEADERS,
	});

/** What the direct answers need from the route. */
export interface DirectContext {
	env: Env;
	catalog: Catalog;
	principal: VerifiedPrincipal;
	traceId: string;
}

/**
 * The answer to a plain 2026-07-28 request, or null when the SDK server must answer it.
 *
 * @example
 * ```ts
 * const direct = await answerDirectly(request, decoded, { env, catalog: catalogFor(env), principal, traceId });
 * if (direct) return direct;
 * ```
 */
export async function answerDirectly(request: Request, decoded: unknown, c: DirectContext): Promise<Response | null> {
	if (!isObject(decoded) || decoded.jsonrpc !== "2.0" || !onlyKeys(decoded, ["jsonrpc", "id", "method", "params"])) return null;
	const { id, method } = decoded;
	if (!((typeof id === "number" && Number.isSafeInteger(id)) || (typeof id === "string" && id.length > 0))) return null;
	if (typeof method !== "string" || !(method in CACHE || method === "tools/call")) return null;
	const params = decoded.params;
	if (!isObject(params)) return null;
	const h = request.headers;
	const accept = h.get("Accept") ?? "";
	if (
		h.get("MCP-Protocol-Version") !== MODERN ||
		h.get("Mcp-Method") !== method ||
		!accept.includes("application/json") ||
		!accept.includes("text/event-stream") ||
		!(h.get("Content-Type") ?? "").toLowerCase().startsWith("application/json")
	)
		return null;
	const envelope = plainEnvelope(params);
	if (!envelope) return null;
	const origin = c.env.SMCP_PUBLIC_ORIGIN;
	const p = c.principal;
	const kernel = tenantStub(c.env, p);
	const record = (r: Omit<RequestRecord, "lane" | "protocolVersion" | "traceId">) =>
		kernel.record(p, { ...r, lane: "modern", protocolVersion: MODERN, traceId: c.traceId });

	if (method === "tools/call") return plainCall(request, id, params, envelope.capabilities, c, kernel);
	if (!onlyKeys(params, ["_meta"]) || h.has("Mcp-Name")) return null;
	if (method === "server/discover") {
		const result = { supportedVersions: [MODERN], capabilities: serverCapabilities(c.catalog, "modern"), instructions: INSTRUCTIONS };
		return resultResponse(id, method, result, origin);
	}
	// Lists are admitted and audited by the kernel first (lane.ts `listed`).
	const refused = admissionError(await record({ method, decision: "allowed", outcome: "ok", durationMs: 0 }));
	if (refused) return errorResponse(id, refused.code, refused.message, refused.data);
	if (method === "tools/list") {
		const hosted = await hostedCatalog(p.tenantId, () => kernel.hostedTools());
		const tools = [...toolList(c.catalog, p.scopes), ...hostedToolList(hosted, p.scopes)]
			.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
			// 2026-07-28 tools carry no `execution` (task support is the Tasks extension's): the SDK drops it.
			.map(({ execution: _, ...tool }: { execution?: unknown; name: string }) => tool);
		return resultResponse(id, method, { tools }, origin);
	}
	if (method === "resources/list") return resultResponse(id, method, { resources: resourceList(c.catalog, p.scopes) }, origin);
	return resultResponse(id, method, { resourceTemplates: templateList(c.catalog, p.scopes) }, origin);
}

/** A plain `tools/call`: straight to the kernel, its result as the SDK's handler returns it. */
async function plainCall(
	request: Request,
	id: string | number,
	params: Record<string, unknown>,
	capabilities: Record<string, unknown>,
	c: DirectContext,
	kernel: ReturnType<typeof tenantStub>,
): Promise<Response | null> {
	const { name } = params;
	if (!onlyKeys(params, ["name", "arguments", "_meta"]) || typeof name !== "string") return null;
	if (request.headers.get("Mcp-Name") !== name) return null;
	const args = params.arguments ?? {};
	if (!isObject(args)) return null;
	const tool = c.catalog.tools.callable(name);
	// Only a built-in tool the caller may call that sends, asks and needs nothing: the SDK path's
	// errors (unknown tool, scope), rounds (confirmation, asks), tasks and streams stay there.
	if (!tool || parseHostedToolName(name) || !hasScope(c.principal.scopes, tool.scope)) return null;
	if (tool.asks || tool.requires?.length || tool.task || tool.releasesStream) return null;
	if (sendsBeforeResult(c.catalog, params)) return null;
	if (capabilities.elicitation && confirmationQuestion(c.catalog, name, args)) return null;
	let outcome: Result<ToolOutcome, Failure>;
	try {
		outcome = (await kernel.callTool(c.principal, {
			name,
			arguments: args,
			lane: "modern",
			protocolVersion: MODERN,
			traceId: c.traceId,
		})) as Result<ToolOutcome, Failure>;
	} catch (e) {
		// A platform failure (overloaded object, reset): generic on the wire, the kind in the log.
		log("error", "modern.handler_failed", { error: e instanceof Error ? e.name : "unknown", trace: c.traceId });
		return errorResponse(id, -32603, "Internal error");
	}
	if (!outcome.ok) {
		const e = outcome.error;
		if (e.reason === "unknown_tool") return errorResponse(id, -32602, `Unknown tool: ${e.tool}`);
		if (e.reason === "insufficient_scope") return errorResponse(id, -32602, "Insufficient scope");
		return errorResponse(id, -32603, "Internal error");
	}
	return resultResponse(id, "tools/call", outcome.value.result as unknown as Record<string, unknown>, c.env.SMCP_PUBLIC_ORIGIN);
}
