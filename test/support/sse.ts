/**
 * @module test/support/sse
 * Reading Server-Sent Events off a raw response in tests.
 */

/** One SSE message: its event id (when it had one) and its decoded JSON data. */
export type SseMessage = { id?: string; data: any };

/** Reads SSE `data:` payloads until `count` messages or the stream ends, then cancels the stream. */
export async function sseMessages(res: Response, count = Infinity): Promise<SseMessage[]> {
	const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
	const out: SseMessage[] = [];
	let buf = "";
	while (out.length < count) {
		const { done, value } = await reader.read();
		if (done) break;
		buf += value;
		let at: number;
		while ((at = buf.indexOf("\n\n")) >= 0) {
			const block = buf.slice(0, at);
			buf = buf.slice(at + 2);
			const data = block
				.split("\n")
				.filter((l) => l.startsWith("data: "))
				.map((l) => l.slice(6))
				.join("\n");
			const id = block
				.split("\n")
				.find((l) => l.startsWith("id: "))
				?.slice(4);
			if (data && !block.startsWith("event: endpoint")) out.push({ id, data: JSON.parse(data) });
		}
	}
	await reader.cancel().catch(() => {});
	return out;
}

/**
 * The JSON-RPC messages of a POST's answer, whichever way the server sent it: one JSON body (a
 * call that sends nothing before its result) or an SSE stream. For tests about the answer, not
 * the transport.
 */
export async function replies(res: Response): Promise<SseMessage[]> {
	if ((res.headers.get("Content-Type") ?? "").startsWith("application/json")) {
		const body = (await res.json()) as unknown;
		return (Array.isArray(body) ? body : [body]).map((data) => ({ data }));
	}
	return sseMessages(res);
}
