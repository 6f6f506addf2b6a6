/**
 * @module worker/mcp/modern/param-headers
 * SEP-2243 custom headers on the 2026-07-28 lane (spec 2026-07-28 basic/transports "Custom Headers
 * from Tool Parameters"): a tool parameter whose input schema carries `"x-mcp-header": "<Name>"`
 * travels in an `Mcp-Param-<Name>` header as well as in the body, so intermediaries can route on
 * it. The server "MUST reject" a `tools/call` whose header is missing while the body carries the
 * value, whose header disagrees with the body, or whose Base64 form (`=?base64?…?=`) is not
 * canonical Base64 of UTF-8: `400 Bad Request` with JSON-RPC `-32020` (HeaderMismatch).
 *
 * Pure: the caller passes the tool's published input schema (`shared/mcp/publish` `headerCheckSchema`),
 * the call's arguments and the request headers. The SDK's `McpServer` does the same check; SMCP
 * serves a low-level `Server`, so the front Worker does it before the modern handler runs.
 */

/** One `x-mcp-header` declaration: where the value sits in `arguments`, the header's name, the JSON type. */
export interface ParamHeader {
	path: string[];
	header: string;
	type: string | undefined;
}

const BASE64_SENTINEL = /^=\?base64\?(.*)\?=$/s;
const BASE64_CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CANONICAL_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * The `x-mcp-header` declarations of an input schema, following `properties` chains only (the spec
 * admits the annotation nowhere else).
 *
 * @example
 * ```ts
 * paramHeaders({ type: "object", properties: { region: { type: "string", "x-mcp-header": "Region" } } });
 * // [{ path: ["region"], header: "Region", type: "string" }]
 * ```
 */
export function paramHeaders(schema: unknown, path: string[] = []): ParamHeader[] {
	if (schema === null || typeof schema !== "object") return [];
	const node = schema as Record<string, unknown>;
	const found: ParamHeader[] = [];
	if (path.length > 0 && typeof node["x-mcp-header"] === "string") {
		found.push({ path, header: node["x-mcp-header"], type: typeof node.type === "string" ? node.type : undefined });
	}
	const properties = node.properties;
	if (properties !== null && typeof properties === "object") {
		for (const [key, child] of Object.entries(properties)) found.push(...paramHeaders(child, [...path, key]));
	}
	return found;
}

/** A header value as the client meant it: the Base64 sentinel decoded, else literal; undefined when the Base64 is invalid. */
export function decodeParamValue(value: string): string | undefined {
	const m = BASE64_SENTINEL.exec(value);
	if (!m) return value;
	if (!BASE64_CANONICAL.test(m[1]!)) return undefined;
	try {
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(m[1]!), (c) => c.charCodeAt(0)));
	} catch {
		return undefined;
	}
}

/** The header form of a primitive argument (strings as they are, numbers in decimal, booleans lowercase), or undefined for anything else. */
function asHeaderString(value: unknown): string | undefined {
	if (typeof value === "string") return value;
	if (typeof value === "boolean") return String(value);
	if (typeof value === "number" && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)))
		return String(value);
	return undefined;
}

const at = (root: unknown, path: string[]): unknown =>
	path.reduce<unknown>(
		(node, key) => (node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined),
		root,
	);

/**
 * Why a `tools/call` breaks SEP-2243 for a tool with input schema `schema`, as a generic message
 * naming the header (never the values), or undefined when it complies. A body value that is absent
 * or `null` needs no header (and a header sent anyway is ignored).
 *
 * @example
 * ```ts
 * const problem = paramHeaderMismatch(schema, params.arguments, request.headers);
 * if (problem) return rpcError(400, RpcCode.HeaderMismatch, problem);
 * ```
 */
export function paramHeaderMismatch(schema: unknown, args: unknown, headers: Headers): string | undefined {
	for (const decl of paramHeaders(schema)) {
		const name = `Mcp-Param-${decl.header}`;
		const body = at(args, decl.path);
		const expected = body === undefined || body === null ? undefined : asHeaderString(body);
		if (expected === undefined) continue;
		const raw = headers.get(name);
		if (raw === null) return `Bad Request: the ${name} header is required when the body carries ${decl.path.join(".")}`;
		// RFC 9110 §5.5: leading and trailing whitespace is not part of a field value.
		const decoded = decodeParamValue(raw.trim());
		if (decoded === undefined) return `Bad Request: the ${name} header is not valid Base64 of UTF-8 text`;
		// Integers and numbers compare by value (42 and 42.0 agree); everything else as text.
		const numeric = (decl.type === "integer" || decl.type === "number") && typeof body === "number" && CANONICAL_DECIMAL.test(decoded);
		if (numeric ? Number(decoded) !== body : decoded !== expected)
			return `Bad Request: the ${name} header does not match ${decl.path.join(".")} in the body`;
	}
	return undefined;
}
