/**
 * One raw 2026-07-28 request, as a client of that revision sends it: stateless, the required
 * headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`), the per-request `_meta` envelope,
 * and the tasks extension declared unless `caps` says otherwise. Answers as JSON or as an SSE
 * stream are both read to their last message.
 */

/** The revision these requests speak. */
export const MODERN = "2026-07-28";
/** Client capabilities that declare the tasks extension. */
export const TASKS_CAPS = { extensions: { "io.modelcontextprotocol/tasks": {} } };

/** A JSON-RPC answer as the tests read it. */
// biome-ignore lint/suspicious/noExplicitAny: tests read result members freely
export type ModernAnswer = { result?: Record<string, any>; error?: { code: number; message: string; data?: unknown } };

/** workerd's `SELF.fetch` or Node's `fetch`. */
type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** One raw POST to `/mcp` with the 2026-07-28 version header: `body` as given (tests send malformed ones); `headers` add or override. */
export function modernPost(
	fetchFn: FetchFn,
	origin: string,
	token: string,
	body: unknown,
	headers: Record<string, string> = {},
): Promise<Response> {
	return fetchFn(`${origin}/mcp`, {
		method: "POST",
		headers: {
			Authorization: `Bearer ${token}`,
			"Content-Type": "application/json",
			Accept: "application/json, text/event-stream",
			"MCP-Protocol-Version": MODERN,
			...headers,
		},
		body: JSON.stringify(body),
	});
}

/** The per-request `_meta` envelope of a 2026-07-28 request. */
export const envelope = (caps: object = TASKS_CAPS, clientName = "raw") => ({
	"io.modelcontextprotocol/protocolVersion": MODERN,
	"io.modelcontextprotocol/clientCapabilities": caps,
	"io.modelcontextprotocol/clientInfo": { name: clientName, version: "1" },
});

/** Sends one request to `${origin}/mcp` with `fetchFn` and reads its answer. */
export async function modernRequest(
	fetchFn: FetchFn,
	origin: string,
	token: string,
	r: { id?: number; method: string; params?: Record<string, unknown>; name?: string; caps?: object; clientName?: string },
): Promise<ModernAnswer> {
	const res = await modernPost(
		fetchFn,
		origin,
		token,
		{ jsonrpc: "2.0", id: r.id ?? 1, method: r.method, params: { ...r.params, _meta: envelope(r.caps, r.clientName) } },
		{ "Mcp-Method": r.method, ...(r.name ? { "Mcp-Name": r.name } : {}) },
	);
	const text = await res.text();
	const data = text.trimStart().startsWith("{")
		? text
		: text
				.split("\n")
				.filter((l) => l.startsWith("data:"))
				.pop()!
				.slice(5);
	return JSON.parse(data) as ModernAnswer;
}
