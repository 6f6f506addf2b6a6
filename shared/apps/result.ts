/**
 * @module shared/apps/result
 * Turns what an app's handler returned into an MCP `CallToolResult`, on the host side: the value
 * crossed the isolate boundary, so nothing about it is trusted. Refuses values JSON cannot carry
 * (functions, BigInt, symbols, cycles, non-finite numbers, class instances) and results over the
 * app's `limits.maxResultBytes`, with messages that say what to change.
 */
import { isPlainObject } from "./json-schema";
import { GUARD_ERROR_NAME } from "./guard-prelude";

/** An MCP tool result (MCP server/tools `CallToolResult`). */
export interface CallToolResult {
	content: ({ type: string } & Record<string, unknown>)[];
	structuredContent?: Record<string, unknown>;
	isError?: boolean;
}

/** Why a returned value was refused. */
export interface ResultProblem {
	reason: "not_json" | "too_large" | "malformed";
	message: string;
}

/** Deepest nesting accepted in a result. */
export const MAX_RESULT_DEPTH = 64;
const RESULT_KEYS = new Set(["content", "structuredContent", "isError", "_meta"]);

/**
 * Normalises a handler's return value:
 * - a string becomes one text block;
 * - `undefined` becomes an empty result;
 * - an object whose keys are only `content` (an array), `structuredContent`, `isError`, `_meta`
 *   is taken as a full `CallToolResult`;
 * - any other plain object becomes `structuredContent` plus its JSON as text (MCP: "a tool that
 *   returns structured content SHOULD also return the serialized JSON in a TextContent block");
 * - other JSON values (arrays, numbers, booleans, null) become their JSON as text.
 *
 * @example
 * ```ts
 * const r = normaliseResult(await handler(args, ctx), manifest.limits.maxResultBytes);
 * if (!r.ok) return toolFailure(r.error.message);
 * ```
 */
export function normaliseResult(
	value: unknown,
	maxBytes: number,
): { ok: true; result: CallToolResult; bytes: number } | { ok: false; error: ResultProblem } {
	const bad = jsonProblem(value, "$", 0, new Set());
	if (bad)
		return {
			ok: false,
			error: {
				reason: "not_json",
				message: `the tool returned ${bad}: return JSON values only ` + "(strings, numbers, booleans, null, arrays, plain objects)",
			},
		};
	let result: CallToolResult;
	if (value === undefined) result = { content: [] };
	else if (typeof value === "string") result = { content: [{ type: "text", text: value }] };
	else if (isPlainObject(value) && Array.isArray(value.content) && Object.keys(value).every((k) => RESULT_KEYS.has(k))) {
		const problem = malformed(value);
		if (problem)
			return {
				ok: false,
				error: { reason: "malformed", message: `the tool returned a CallToolResult whose ${problem}` },
			};
		result = value as unknown as CallToolResult;
	} else if (isPlainObject(value)) result = { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value };
	else result = { content: [{ type: "text", text: JSON.stringify(value) }] };
	const bytes = new TextEncoder().encode(JSON.stringify(result)).length;
	if (bytes > maxBytes) {
		return {
			ok: false,
			error: {
				reason: "too_large",
				message:
					`the result is ${bytes} bytes; this app's limit is ${maxBytes} (limits.maxResultBytes): ` + "return less, or page through it",
			},
		};
	}
	return { ok: true, result, bytes };
}

/**
 * The result for a handler that threw. Only an `AppError`'s message reaches the caller; the guard's
 * error gets a fixed message; anything else is generic, so internals stay in the app's logs.
 * Classified by `name`, which survives Workers RPC.
 */
export function toolErrorResult(error: unknown): CallToolResult {
	const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
	const message = (error as { message?: unknown } | null)?.message;
	let text = "The tool failed. Its logs have the details.";
	if (name === "AppError" && typeof message === "string") text = message.slice(0, 4096);
	else if (name === GUARD_ERROR_NAME) text = "The tool was stopped: it ran past its time or step budget.";
	return { content: [{ type: "text", text }], isError: true };
}

/** Describes the first non-JSON part of a value (with its path), or returns null. */
function jsonProblem(value: unknown, path: string, depth: number, seen: Set<object>): string | null {
	if (depth > MAX_RESULT_DEPTH) return `a value nested deeper than ${MAX_RESULT_DEPTH} levels at ${path}`;
	switch (typeof value) {
		case "string":
		case "boolean":
			return null;
		case "undefined":
			return depth === 0 ? null : `undefined at ${path}`;
		case "number":
			return Number.isFinite(value) ? null : `a non-finite number (${value}) at ${path}`;
		case "bigint":
			return `a BigInt at ${path} (convert it to a string)`;
		case "function":
		case "symbol":
			return `a ${typeof value} at ${path}`;
	}
	if (value === null) return null;
	const obj = value as object;
	if (seen.has(obj)) return `a cycle at ${path}`;
	if (!Array.isArray(obj) && !isPlainObject(obj)) {
		const kind = obj instanceof Date ? "a Date (use toISOString())" : `an instance of ${obj.constructor?.name ?? "a class"}`;
		return `${kind} at ${path}`;
	}
	seen.add(obj);
	try {
		if (Array.isArray(obj)) {
			for (let i = 0; i < obj.length; i++) {
				const p = obj[i] === undefined ? `undefined at ${path}[${i}]` : jsonProblem(obj[i], `${path}[${i}]`, depth + 1, seen);
				if (p) return p;
			}
			return null;
		}
		for (const [k, v] of Object.entries(obj)) {
			if (v === undefined) continue; // JSON drops it, as JSON.stringify does
			const p = jsonProblem(v, `${path}.${k.length > 40 ? `${k.slice(0, 40)}…` : k}`, depth + 1, seen);
			if (p) return p;
		}
		return null;
	} finally {
		seen.delete(obj);
	}
}

/** Checks the parts of a full result the client relies on; returns what is wrong, or null. */
function malformed(r: Record<string, unknown>): string | null {
	const content = r.content as unknown[];
	for (let i = 0; i < content.length; i++) {
		const block = content[i];
		if (!isPlainObject(block) || typeof block.type !== "string") return `content[${i}] has no "type"`;
		if (block.type === "text" && typeof block.text !== "string") return `content[${i}] is a text block without a string "text"`;
	}
	if (r.structuredContent !== undefined && !isPlainObject(r.structuredContent)) return "structuredContent is not an object";
	if (r.isError !== undefined && typeof r.isError !== "boolean") return "isError is not a boolean";
	return null;
}
