/**
 * @module shared/mcp/jsonrpc
 * Strict JSON-RPC 2.0 parsing for MCP bodies, before anything reaches a Durable Object. Pure: the
 * front Worker calls it, the unit tests beside it pin the edge cases (docs/security.md §2).
 */
import { RpcCode } from "../errors";

/** A JSON-RPC id: string or number, never null or an object (MCP basic §requests). */
export type RpcId = string | number;
export interface RpcRequest {
	jsonrpc: "2.0";
	id: RpcId;
	method: string;
	params?: Record<string, unknown>;
}
export interface RpcNotification {
	jsonrpc: "2.0";
	method: string;
	params?: Record<string, unknown>;
}
export interface RpcResponse {
	jsonrpc: "2.0";
	id: RpcId;
	result?: Record<string, unknown>;
	error?: { code: number; message: string; data?: unknown };
}
export type RpcMessage = RpcRequest | RpcNotification | RpcResponse;

/** A parse failure with its wire code. */
export interface ParseFailure {
	code: number;
	message: string;
}

/** Largest JSON-RPC id accepted (ids are echoed back; a megabyte id is an amplification). */
const MAX_ID_LENGTH = 256;
const REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);
const RESPONSE_KEYS = new Set(["jsonrpc", "id", "result", "error"]);

export const isRequest = (m: RpcMessage): m is RpcRequest => "method" in m && "id" in m;
export const isNotification = (m: RpcMessage): m is RpcNotification => "method" in m && !("id" in m);
export const isResponse = (m: RpcMessage): m is RpcResponse => !("method" in m);

function validId(id: unknown): id is RpcId {
	if (typeof id === "string") return id.length <= MAX_ID_LENGTH;
	return typeof id === "number" && Number.isSafeInteger(id);
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Deepest nesting accepted in a message. Real MCP payloads are a handful of levels deep; a
 * thousand-level object is an attack on every recursive consumer downstream (structured clone
 * across Durable Object RPC overflows its stack near 3,000 levels).
 */
export const MAX_DEPTH = 64;

/** Whether `value` nests deeper than `limit` (iterative: never recurses itself). */
export function tooDeep(value: unknown, limit = MAX_DEPTH): boolean {
	const stack: [unknown, number][] = [[value, 1]];
	while (stack.length > 0) {
		const [v, depth] = stack.pop()!;
		if (v === null || typeof v !== "object") continue;
		if (depth > limit) return true;
		for (const child of Array.isArray(v) ? v : Object.values(v))
			if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
	}
	return false;
}

/** Validates one decoded message; returns it typed, or null when it is not strict JSON-RPC. */
export function toMessage(v: unknown): RpcMessage | null {
	if (!isObject(v) || v.jsonrpc !== "2.0") return null;
	if ("method" in v) {
		if (typeof v.method !== "string" || v.method.length === 0 || v.method.length > 128) return null;
		if ("params" in v && !isObject(v.params)) return null;
		if (Object.keys(v).some((k) => !REQUEST_KEYS.has(k))) return null;
		if ("id" in v && !validId(v.id)) return null;
		return v as unknown as RpcMessage;
	}
	if (!validId(v.id)) return null;
	if (Object.keys(v).some((k) => !RESPONSE_KEYS.has(k))) return null;
	if ("result" in v === "error" in v) return null;
	if ("result" in v && !isObject(v.result)) return null;
	if ("error" in v && (!isObject(v.error) || typeof v.error.code !== "number" || typeof v.error.message !== "string")) return null;
	return v as unknown as RpcMessage;
}

/**
 * Parses a POST body into messages. Batches are accepted only when `allowBatch` (protocol
 * 2025-03-26; removed in 2025-06-18, spec changelog), never empty, and never with `initialize`
 * (only one initialization request is allowed).
 *
 * @example
 * ```ts
 * const r = parseBody('{"jsonrpc":"2.0","id":1,"method":"ping"}', { allowBatch: false });
 * if (!r.ok) return jsonRpcErrorResponse(400, r.error);
 * ```
 */
export function parseBody(
	text: string,
	opts: { allowBatch: boolean },
): { ok: true; messages: RpcMessage[]; batch: boolean } | { ok: false; error: ParseFailure } {
	const decoded = decodeJson(text);
	if (decoded === NOT_JSON) return { ok: false, error: { code: RpcCode.ParseError, message: "Parse error" } };
	return parseDecoded(decoded, opts);
}

/** What {@link decodeJson} returns for text that is not JSON. */
export const NOT_JSON: unique symbol = Symbol("not JSON");

/**
 * `JSON.parse`, or {@link NOT_JSON}. Deep nesting either parses (V8 handles 50k levels) and is
 * refused by the depth check of {@link parseDecoded}, or throws a RangeError that lands here.
 */
export function decodeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return NOT_JSON;
	}
}

/** {@link parseBody} for a body already decoded once (the front Worker parses each body once). */
export function parseDecoded(
	decoded: unknown,
	opts: { allowBatch: boolean },
): { ok: true; messages: RpcMessage[]; batch: boolean } | { ok: false; error: ParseFailure } {
	if (tooDeep(decoded)) return { ok: false, error: { code: RpcCode.InvalidRequest, message: "Invalid Request: nesting too deep" } };
	const batch = Array.isArray(decoded);
	const items = batch ? (decoded as unknown[]) : [decoded];
	if (batch && (!opts.allowBatch || items.length === 0 || items.length > 100)) {
		return { ok: false, error: { code: RpcCode.InvalidRequest, message: "Invalid Request: batches are not supported" } };
	}
	const messages: RpcMessage[] = [];
	for (const item of items) {
		const m = toMessage(item);
		if (!m) return { ok: false, error: { code: RpcCode.InvalidRequest, message: "Invalid Request" } };
		messages.push(m);
	}
	if (batch && messages.some((m) => "method" in m && m.method === "initialize")) {
		return { ok: false, error: { code: RpcCode.InvalidRequest, message: "Invalid Request: initialize cannot be batched" } };
	}
	return { ok: true, messages, batch };
}

/** A JSON-RPC error body with `id: null` (the request could not be attributed). */
export function errorBody(code: number, message: string, id: RpcId | null = null): string {
	return JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id });
}
