/**
 * @module worker/mcp/routes
 * worker/mcp/ (entry: this module) owns the MCP endpoints: routing, session ids, the one-hop path
 * (one-hop.ts) and the stateless 2026-07-28 lane (modern/). It may import shared/, worker/oauth/,
 * worker/identity/, worker/edge/, worker/apps/ (hosted tool calls) and npm packages; never objects/.
 *
 * The protected MCP endpoints, reached only with a valid bearer token:
 * `/mcp` (Streamable HTTP, protocol revisions 2025-03-26 … 2025-11-25) and `/sse` +
 * `/sse/message` (HTTP+SSE, 2024-11-05). Everything that can be decided without the session is
 * decided here — method, Accept, Content-Type, protocol version header, JSON-RPC shape, session id
 * MAC, scope — so malformed or foreign traffic never reaches a Durable Object.
 */
import { insufficientScope, type OAuthResourceAuth } from "@cloudflare/workers-oauth-provider";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { RpcCode } from "../../shared/errors";
import { admissionError } from "../../shared/mcp/admission";
import {
	decodeJson,
	errorBody,
	isRequest,
	NOT_JSON,
	parseBody,
	parseDecoded,
	toMessage,
	tooDeep,
	type RpcMessage,
} from "../../shared/mcp/jsonrpc";
import type { Lane } from "../../shared/rpc/kernel";
import { log } from "../../shared/log";
import { catalogFor } from "../../shared/catalog/packs";
import { headerCheckSchema, sendsBeforeResult } from "../../shared/mcp/publish";
import { hasScope, type VerifiedPrincipal } from "../../shared/rpc/principal";
import { tenantStub } from "../../shared/rpc/stubs";
import { invalidToken, rpcError, sessionNotFound } from "../../shared/mcp/wire";
import { principalFrom } from "../oauth/principal";
import { resolveConfig } from "../../shared/config";
import { TenantDirectory } from "../identity/tenants";
import type { Env } from "../../shared/env";
import { paramHeaderMismatch } from "./modern/param-headers";
import { answerDirectly } from "./modern/direct";
import { knownEra } from "./modern/era";
import { invalidParams } from "./params";
import { annotate } from "../edge/request-log";
import { answerInTenant, endSession, openSession, openSseSession, toSession } from "./one-hop";
import { mintSessionId, verifySessionId } from "./session-id";
import { hostedInputSchema, hostedOnSse, hostedRunner, hostedToolNeedingScope, isHostedCall, runContext } from "../apps/lanes";

type ApiContext = ExecutionContext & { props?: unknown; auth?: OAuthResourceAuth };

const JSON_HEADERS = { "Content-Type": "application/json" };

/** Protocol revisions the SDK server negotiates; a header naming any other is refused. */
const STREAMABLE_VERSIONS = new Set(SUPPORTED_PROTOCOL_VERSIONS);

/** Returns 403 + step-up challenge (audited as denied) when a tools/call needs a scope the token lacks. */
async function scopeChallenge(
	env: Env,
	messages: RpcMessage[],
	principal: VerifiedPrincipal,
	ctx: ApiContext,
	traceId: string,
	lane: Lane,
): Promise<Response | null> {
	for (const m of messages) {
		if (!isRequest(m) || m.method !== "tools/call") continue;
		// A tool of a pack this deployment leaves off is unknown here too: no challenge names it.
		// A tenant's own (hosted) tool gets the same challenge as a built-in one.
		const name = String(m.params?.name ?? "");
		const tool = catalogFor(env).tools.callable(name) ?? (ctx.auth ? await hostedToolNeedingScope(env, principal, name) : null);
		if (tool && !hasScope(principal.scopes, tool.scope) && ctx.auth) {
			const admission = await tenantStub(env, principal).record(principal, {
				method: "tools/call",
				tool: tool.name,
				lane,
				protocolVersion: "-",
				traceId,
				decision: "denied",
				outcome: `insufficient_scope:${tool.scope}`,
				durationMs: 0,
			});
			// Refusals pay from the request budget too (objects/tenant/budget.ts): past it, 429.
			const refused = admissionError(admission);
			if (refused?.data) return rpcError(429, refused.code, refused.message, { "Retry-After": String(refused.data.retryAfterSeconds) });
			log("warn", "tool.denied", {
				trace: traceId,
				tenant: principal.tenantId,
				user: principal.userId,
				client_id: principal.clientId,
				tool: tool.name,
				decision: "denied",
			});
			// MCP 2025-11-25 authorization §"Scope Challenge Handling": 403 insufficient_scope with the scope needed.
			return insufficientScope(ctx.auth, [...new Set([...principal.scopes, tool.scope])], scopeHint(principal, tool));
		}
	}
	return null;
}

/**
 * What the 403 says (RFC 6750 §3 `error_description`): which tool needed which scope, and how to
 * get it, worded for an API key (a new key) or an app (approve write access when reconnecting).
 */
function scopeHint(principal: VerifiedPrincipal, tool: { name: string; scope: string }): string {
	const what = `The tool ${tool.name} needs the ${tool.scope} scope`;
	return principal.clientId.startsWith("key_")
		? `${what}, and this API key does not have it (a read-only key). Ask a workspace owner for a key with ${tool.scope} on the account page (/account).`
		: `${what}, which this app was not granted. Reconnect the app and approve "Create, change and delete", or revoke it on the account page (/account) and connect again.`;
}

/** A POST is answered over SSE when one of its tool calls may send something before its result. */
function needsStream(env: Env, messages: RpcMessage[]): boolean {
	const catalog = catalogFor(env);
	return messages.some((m) => isRequest(m) && m.method === "tools/call" && sendsBeforeResult(catalog, m.params));
}

/** Adds the principal and the JSON-RPC method (and tool) to the request's log line. */
function annotateRequest(request: Request, p: VerifiedPrincipal, lane: Lane, protocol: string | null, messages: RpcMessage[]): void {
	const first = messages.find(isRequest) ?? messages[0];
	const method = first && "method" in first ? first.method : "response";
	const tool = first && isRequest(first) && first.method === "tools/call" ? String(first.params?.name ?? "").slice(0, 64) : undefined;
	annotate(request, {
		tenant: p.tenantId,
		user: p.userId,
		client_id: p.clientId,
		lane,
		protocol: protocol ?? "2025-03-26",
		method: method.slice(0, 64),
		...(tool ? { tool } : {}),
	});
}

/** The verified principal of an API request, or the 401 to send (malformed handoff, suspended tenant). */
async function authenticated(env: Env, ctx: ApiContext, request: Request): Promise<VerifiedPrincipal | Response> {
	const principal = principalFrom(ctx);
	if (!principal) return rpcError(401, RpcCode.ConnectionClosed, "Unauthorized");
	if (!(await new TenantDirectory(env.DIRECTORY_KV).isActive(principal.tenantId))) {
		// A suspended tenant's tokens and keys are refused like invalid ones (RFC 6750 §3.1).
		return invalidToken(new URL(request.url).origin);
	}
	return principal;
}

/** The SDK's era classifier (`isLegacyRequest`), for the requests {@link knownEra} leaves to it. */
async function sdkSaysLegacy(request: Request, decoded: unknown, maxRequestBodySize: number): Promise<boolean> {
	const { isLegacyRequest } = await import("@modelcontextprotocol/server");
	return isLegacyRequest(request, decoded, { maxRequestBodySize });
}

/** `/mcp`: Streamable HTTP. */
export async function handleMcp(request: Request, env: Env, ctx: ApiContext, traceId: string): Promise<Response> {
	const principal = await authenticated(env, ctx, request);
	if (principal instanceof Response) return principal;
	const config = resolveConfig(env);
	const secret = config.secret;
	const sessionHeader = request.headers.get("Mcp-Session-Id");
	const accept = request.headers.get("Accept") ?? "";

	// Era routing (spec 2026-07-28 basic/versioning): a request that carries the per-request
	// `_meta` envelope is modern and stateless; everything else (initialize, session traffic,
	// claim-less POSTs) belongs to the sessionful 2025 lane. The SDK's own classifier decides what
	// ./modern/era.ts does not (a property test holds the two to the same answers), so this router
	// never disagrees with the modern handler about which requests are its own.
	// The body is read and decoded once, here; the classifier and the modern handler take the
	// decoded value (their `parsedBody` option) instead of cloning and parsing it again.
	const decoded = request.method === "POST" ? decodeJson(await request.text()) : NOT_JSON;
	if (decoded !== NOT_JSON && tooDeep(decoded)) return rpcError(400, RpcCode.InvalidRequest, "Invalid Request: nesting too deep");
	// The two common shapes are told apart here (./modern/era.ts); the SDK's classifier, loaded on
	// first need, decides the rest.
	if (decoded !== NOT_JSON && !(knownEra(request.headers, decoded) ?? (await sdkSaysLegacy(request, decoded, config.maxBodyBytes)))) {
		return handleModern(request, decoded, env, ctx, principal, secret, traceId);
	}
	if ((request.method === "GET" || request.method === "DELETE") && !sessionHeader) {
		// Without a session there is nothing to stream or end: the 2026-07-28 answer is 405.
		return rpcError(405, RpcCode.ConnectionClosed, "Method Not Allowed", { Allow: "POST" });
	}

	if (request.method === "POST") {
		// streamable-http §"Sending Messages": the client MUST accept both JSON and SSE.
		if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
			return rpcError(406, RpcCode.ConnectionClosed, "Not Acceptable: Client must accept both application/json and text/event-stream");
		}
		if (!(request.headers.get("Content-Type") ?? "").toLowerCase().startsWith("application/json")) {
			return rpcError(415, RpcCode.ConnectionClosed, "Unsupported Media Type: Content-Type must be application/json");
		}
		// streamable-http §"Protocol Version Header": absent means 2025-03-26; unsupported → 400.
		const version = request.headers.get("MCP-Protocol-Version");
		if (version !== null && !STREAMABLE_VERSIONS.has(version)) {
			return rpcError(
				400,
				RpcCode.ConnectionClosed,
				`Bad Request: Unsupported protocol version (supported: ${[...STREAMABLE_VERSIONS].join(", ")})`,
			);
		}
		if (decoded === NOT_JSON) return rpcError(400, RpcCode.ParseError, "Parse error");
		const parsed = parseDecoded(decoded, { allowBatch: version === null || version === "2025-03-26" });
		if (!parsed.ok) return rpcError(400, parsed.error.code, parsed.error.message);
		const { messages, batch } = parsed;
		const badCall = invalidParams(messages);
		if (badCall) return badCall;
		const isInit = messages.some((m) => "method" in m && m.method === "initialize");

		const init = messages.find((m) => isRequest(m) && m.method === "initialize");
		if (isInit && !init) return rpcError(400, RpcCode.InvalidRequest, "Invalid Request: initialize must be a request");
		if (isInit && sessionHeader) return rpcError(400, RpcCode.InvalidRequest, "Invalid Request: Server already initialized");
		if (!isInit && !sessionHeader) return rpcError(400, RpcCode.ConnectionClosed, "Bad Request: Mcp-Session-Id header is required");
		if (!isInit && !(await verifySessionId(secret, principal, sessionHeader))) return sessionNotFound();
		annotateRequest(request, principal, "streamable-http", version, messages);
		// A batch may not carry initialize (parseDecoded), so an opening request is a lone one.
		if (init && isRequest(init)) {
			return openSession(env, principal, await mintSessionId(secret, principal), init, traceId, new URL(request.url).origin);
		}
		const sessionId = sessionHeader!;
		const challenge = await scopeChallenge(env, messages, principal, ctx, traceId, "streamable-http");
		if (challenge) return challenge;
		const sse = needsStream(env, messages);
		// One hop when the session's own state is not needed (worker/mcp/one-hop.ts).
		const only = !batch && !sse && messages.length === 1 ? messages[0] : undefined;
		const direct = only ? await answerInTenant(runContext(env, ctx), principal, sessionId, only, traceId) : null;
		if (direct) return direct;
		return toSession(env, principal, { op: "post", sessionId, messages, batch, sse, traceId });
	}

	if (request.method === "GET" || request.method === "DELETE") {
		if (request.method === "GET" && !accept.includes("text/event-stream")) {
			return rpcError(406, RpcCode.ConnectionClosed, "Not Acceptable: Client must accept text/event-stream");
		}
		if (!sessionHeader) return rpcError(400, RpcCode.ConnectionClosed, "Bad Request: Mcp-Session-Id header is required");
		if (!(await verifySessionId(secret, principal, sessionHeader))) return sessionNotFound();
		if (request.method === "DELETE") return endSession(env, principal, sessionHeader, traceId);
		return toSession(env, principal, { op: "get", sessionId: sessionHeader, lastEventId: request.headers.get("Last-Event-ID"), traceId });
	}
	return rpcError(405, RpcCode.ConnectionClosed, "Method Not Allowed", { Allow: "GET, POST, DELETE" });
}

/** A 2026-07-28 request: scope step-up here, then the stateless modern handler. */
async function handleModern(
	request: Request,
	decoded: unknown,
	env: Env,
	ctx: ApiContext,
	principal: VerifiedPrincipal,
	secret: string,
	traceId: string,
): Promise<Response> {
	// Anything not a single object is answered by the modern handler itself. A single object is
	// checked here, before anything reads it: a `method` that is not a string, `params` that are not
	// an object, and the like are -32600 (JSON-RPC 2.0 §5.1: id null, the request could not be
	// read), the same answer the 2025 lane gives.
	const object = decoded && typeof decoded === "object" && !Array.isArray(decoded) ? decoded : null;
	const message = object ? toMessage(object) : null;
	if (object && !message) return rpcError(400, RpcCode.InvalidRequest, "Invalid Request");
	const version = request.headers.get("MCP-Protocol-Version");
	if (message) {
		annotateRequest(request, principal, "modern", version, [message]);
		const challenge = await scopeChallenge(env, [message], principal, ctx, traceId, "modern");
		if (challenge) return challenge;
		// SEP-2243: parameters the tool — built-in or hosted — mirrors into Mcp-Param-* headers must agree with the body.
		if (isRequest(message) && message.method === "tools/call") {
			const name = String(message.params?.name ?? "");
			const schema = headerCheckSchema(catalogFor(env), name) ?? (await hostedInputSchema(env, principal, name));
			const mismatch = schema && paramHeaderMismatch(schema, message.params?.arguments, request.headers);
			if (mismatch) return new Response(errorBody(RpcCode.HeaderMismatch, mismatch, message.id), { status: 400, headers: JSON_HEADERS });
		}
	}
	// Plain requests (discover, lists, plain calls) are answered from the catalog, without the SDK server.
	const direct = message && (await answerDirectly(request, decoded, { env, catalog: catalogFor(env), principal, traceId }));
	if (direct) return direct;
	const authInfo = {
		token: "",
		clientId: principal.clientId,
		scopes: [...principal.scopes],
		extra: { principal, traceId, hosted: hostedRunner(runContext(env, ctx)) },
	};
	return (await (await import("./modern/lane")).modernHandler(env, secret)).fetch(request, { authInfo, parsedBody: decoded });
}

/** `/sse` (GET: open the stream) and `/sse/message?sessionId=` (POST: send a message). */
export async function handleSse(request: Request, env: Env, ctx: ApiContext, traceId: string): Promise<Response> {
	const principal = await authenticated(env, ctx, request);
	if (principal instanceof Response) return principal;
	const secret = resolveConfig(env).secret;
	const url = new URL(request.url);

	if (url.pathname === "/sse" && request.method === "GET") {
		if (!(request.headers.get("Accept") ?? "text/event-stream").includes("text/event-stream")) {
			return rpcError(406, RpcCode.ConnectionClosed, "Not Acceptable: Client must accept text/event-stream");
		}
		return openSseSession(env, principal, await mintSessionId(secret, principal), traceId, url.origin);
	}
	if (url.pathname === "/sse/message" && request.method === "POST") {
		const sessionId = url.searchParams.get("sessionId");
		if (!(await verifySessionId(secret, principal, sessionId))) return sessionNotFound();
		if (!(request.headers.get("Content-Type") ?? "").toLowerCase().startsWith("application/json")) {
			return rpcError(415, RpcCode.ConnectionClosed, "Unsupported Media Type: Content-Type must be application/json");
		}
		const parsed = parseBody(await request.text(), { allowBatch: false });
		if (!parsed.ok) return rpcError(400, parsed.error.code, parsed.error.message);
		const badCall = invalidParams(parsed.messages);
		if (badCall) return badCall;
		annotateRequest(request, principal, "sse", "2024-11-05", parsed.messages);
		const challenge = await scopeChallenge(env, parsed.messages, principal, ctx, traceId, "sse");
		if (challenge) return challenge;
		const only = parsed.messages.length === 1 ? parsed.messages[0] : undefined;
		if (isHostedCall(only)) return hostedOnSse(runContext(env, ctx), principal, sessionId!, only, traceId);
		return toSession(env, principal, { op: "sse-post", sessionId: sessionId!, messages: parsed.messages, traceId });
	}
	if (url.pathname === "/sse" || url.pathname === "/sse/message") {
		return rpcError(405, RpcCode.ConnectionClosed, "Method Not Allowed", { Allow: url.pathname === "/sse" ? "GET" : "POST" });
	}
	log("debug", "http.not_found", { trace: traceId, path: url.pathname.slice(0, 64) });
	return new Response("Not Found", { status: 404 });
}
