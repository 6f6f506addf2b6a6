/**
 * @module worker/mcp/modern/era
 * Which era a POST on `/mcp` belongs to, decided without the SDK for the two shapes almost every
 * request has; the SDK's classifier (`isLegacyRequest`, which validates the whole message with its
 * schemas) decides everything else, so the router and the modern handler never disagree.
 *
 * The SDK's rule: a request is modern when it carries the per-request envelope claim (a
 * `_meta["io.modelcontextprotocol/protocolVersion"]`) or an `MCP-Protocol-Version` header naming a
 * modern revision; legacy when it carries neither. So:
 *
 * - **legacy** for sure: one JSON-RPC request or notification object whose `params._meta` (if any)
 *   has no `io.modelcontextprotocol/…` key at all, with no `MCP-Protocol-Version` header or one
 *   naming a 2025-era revision;
 * - **modern** for sure: one object whose `params._meta` carries the claim for 2026-07-28, with the
 *   header naming 2026-07-28;
 * - otherwise undefined: ask the SDK. A property test checks both decisions against the SDK's.
 */

/** The 2025-era revisions a Streamable HTTP session may name in `MCP-Protocol-Version`. */
const LEGACY_HEADER_VERSIONS = new Set(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]);
const MODERN = "2026-07-28";
const CLAIM = "io.modelcontextprotocol/protocolVersion";

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * `true` (legacy), `false` (modern), or undefined when only the SDK's classifier can tell.
 *
 * @example
 * ```ts
 * const legacy = knownEra(request.headers, decoded) ?? (await isLegacyRequest(request, decoded));
 * ```
 */
export function knownEra(headers: Headers, decoded: unknown): boolean | undefined {
	if (!isObject(decoded) || decoded.jsonrpc !== "2.0" || typeof decoded.method !== "string") return undefined;
	// A valid request (string or integer id) or notification (no id); anything else is the SDK's to judge.
	const id = decoded.id;
	if (!(id === undefined || typeof id === "string" || (typeof id === "number" && Number.isSafeInteger(id)))) return undefined;
	const version = headers.get("MCP-Protocol-Version");
	const params = decoded.params;
	if (params !== undefined && !isObject(params)) return undefined;
	const meta = params?._meta;
	if (meta !== undefined && !isObject(meta)) return undefined;
	const claimed = meta !== undefined && Object.keys(meta).some((k) => k.startsWith("io.modelcontextprotocol/"));
	if (!claimed) return version === null || LEGACY_HEADER_VERSIONS.has(version) ? true : undefined;
	return meta?.[CLAIM] === MODERN && version === MODERN ? false : undefined;
}
