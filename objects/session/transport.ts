/**
 * @module objects/session/transport
 * An MCP SDK `Transport` hosted in the SessionObject, speaking Streamable HTTP (2025-03-26 …
 * 2025-11-25) and the 2024-11-05 HTTP+SSE transport for one session. We host the transport
 * ourselves rather than use `McpAgent` (deprecated, feature-frozen): every outgoing event goes
 * through the durable {@link EventLog} first, request ids are remapped so that two concurrent
 * requests with the same JSON-RPC id keep their own streams (docs/security.md attack 15), and after an
 * eviction the session is rebuilt by replaying the stored `initialize` (see session-object.ts).
 */
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js";
import { errorBody, isRequest, isResponse, type RpcId, type RpcMessage } from "../../shared/mcp/jsonrpc";
import { plainErrorMessage } from "../../shared/mcp/answers";
import { type EventLog, eventId } from "./event-log";

const encoder = new TextEncoder();
const SSE_HEADERS = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no" };
/** Keep-alive comment interval for long-lived streams (intermediaries drop idle connections). */
const KEEPALIVE_MS = 15_000;
/** How long a client waits before reconnecting to a stream the server closed (SSE `retry`). */
export const RECONNECT_AFTER_MS = 1000;

/** A live SSE connection; writes fail silently once the client has gone. */
class SseSink {
	readonly readable: ReadableStream<Uint8Array>;
	readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
	#open = true;
	#timer: ReturnType<typeof setInterval> | undefined;
	constructor(keepAlive: boolean) {
		const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
		this.readable = readable;
		this.#writer = writable.getWriter();
		if (keepAlive) this.#timer = setInterval(() => this.write(": keep-alive\n\n"), KEEPALIVE_MS);
	}
	get open(): boolean {
		return this.#open;
	}
	write(chunk: string): void {
		if (!this.#open) return;
		this.#writer.write(encoder.encode(chunk)).catch(() => this.close());
	}
	close(): void {
		if (!this.#open) return;
		this.#open = false;
		if (this.#timer) clearInterval(this.#timer);
		this.#writer.close().catch(() => {});
	}
}

/** A POST's response channel: an SSE stream, or a JSON body collected until every response is in. */
interface Channel {
	stream: string;
	pending: Set<number>;
	sink?: SseSink;
	json?: { results: JSONRPCMessage[]; resolve: (r: Response) => void; batch: boolean; headers: Record<string, string> };
}

/** Where an internal request id came from. */
interface Origin {
	channel: Channel;
	originalId: RpcId;
	/** Set for a replayed `initialize`: its response is dropped and `done` is called instead. */
	swallow?: () => void;
}

const STANDALONE = "get";

/**
 * A 2024-11-05 message frame. The event type is left to its default, "message" (HTML SSE
 * §9.2.6): an explicit `event: message` line is equivalent on the wire, but some EventSource
 * implementations then deliver each message twice (observed with the SDK's SSE client in workerd).
 */
const legacyFrame = (data: string) => `data: ${data}\n\n`;

/** A Streamable HTTP frame; an event too large to keep for replay is sent without an id. */
const frame = (stream: string, seq: number | null, data: string) =>
	`${seq === null ? "" : `id: ${eventId(stream, seq)}\n`}event: message\ndata: ${data}\n\n`;

/** The session's SDK transport. One per SessionObject instance. */
export class SessionTransport implements Transport {
	onclose?: () => void;
	onerror?: (error: Error) => void;
	onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
	sessionId?: string;

	readonly #log: EventLog;
	readonly #origins = new Map<number, Origin>();
	#nextId = 1;
	#standalone: SseSink | undefined;
	/** 2024-11-05: every server message goes on this one stream as a default ("message") event. */
	#legacySse: SseSink | undefined;

	constructor(log: EventLog, sessionId: string) {
		this.#log = log;
		this.sessionId = sessionId;
	}

	async start(): Promise<void> {}

	async close(): Promise<void> {
		this.#standalone?.close();
		this.#legacySse?.close();
		for (const o of this.#origins.values()) o.channel.sink?.close();
		this.#origins.clear();
		this.onclose?.();
	}

	/**
	 * Handles the messages of one POST. Requests get a response channel: SSE when `sse` (so
	 * progress and elicitation can travel before the result), otherwise one JSON body.
	 *
	 * `resumable` (a 2025-11-25+ session): the SSE stream opens with a priming event, an event id
	 * with empty data and the `retry` interval (streamable-http §"Sending Messages to the Server":
	 * the server SHOULD immediately send an event with an ID and an empty data field to prime the
	 * client to reconnect), and the request's handler may close the stream before the response
	 * (`extra.closeSSEStream`, SEP-1699 polling): the client then resumes with `Last-Event-ID` and
	 * gets the rest from the event log. Older clients may choke on empty data, so they get neither.
	 */
	post(
		messages: RpcMessage[],
		opts: { sse: boolean; batch: boolean; resumable: boolean; headers: Record<string, string>; extra: MessageExtraInfo },
	): Promise<Response> | Response {
		const requests = messages.filter(isRequest);
		if (requests.length === 0) {
			for (const m of messages) this.#deliver(m, opts.extra);
			// streamable-http §"Sending Messages to the Server": notifications/responses only → 202.
			return new Response(null, { status: 202, headers: opts.headers });
		}
		const channel: Channel = { stream: crypto.randomUUID().replaceAll("-", "").slice(0, 16), pending: new Set() };
		let response: Promise<Response> | Response;
		let extra = opts.extra;
		if (opts.sse) {
			const sink = new SseSink(false);
			channel.sink = sink;
			response = new Response(sink.readable, { status: 200, headers: { ...SSE_HEADERS, ...opts.headers } });
			if (opts.resumable) {
				// Sequence 0 precedes every logged event of the stream, so resuming from it replays them all.
				sink.write(`id: ${eventId(channel.stream, 0)}\nretry: ${RECONNECT_AFTER_MS}\ndata: \n\n`);
				// Later events still go to the log; a GET with Last-Event-ID picks them up (openGet).
				extra = { ...extra, closeSSEStream: () => sink.close() };
			}
		} else {
			response = new Promise<Response>((resolve) => {
				channel.json = { results: [], resolve, batch: opts.batch, headers: opts.headers };
			});
		}
		for (const m of messages) {
			if (isRequest(m)) {
				const internal = this.#nextId++;
				channel.pending.add(internal);
				this.#origins.set(internal, { channel, originalId: m.id });
				this.#deliver({ ...m, id: internal }, extra);
			} else {
				this.#deliver(m, extra);
			}
		}
		return response;
	}

	/** Replays a stored `initialize` after eviction; its response is discarded. */
	replay(init: RpcMessage, extra: MessageExtraInfo): Promise<void> {
		return new Promise<void>((resolve) => {
			const internal = this.#nextId++;
			const channel: Channel = { stream: "replay", pending: new Set([internal]) };
			this.#origins.set(internal, { channel, originalId: internal, swallow: resolve });
			this.#deliver({ ...(init as object), id: internal } as RpcMessage, extra);
			this.#deliver({ jsonrpc: "2.0", method: "notifications/initialized" }, extra);
		});
	}

	/** Opens the standalone GET stream, or resumes a stream after `lastEvent`. */
	openGet(resume: { stream: string; seq: number } | null, headers: Record<string, string>): Response {
		const sink = new SseSink(true);
		if (resume) {
			for (const e of this.#log.after(resume.stream, resume.seq))
				sink.write(`id: ${eventId(resume.stream, e.seq)}\nevent: message\ndata: ${e.data}\n\n`);
			const live = [...this.#origins.values()].find((o) => o.channel.stream === resume.stream)?.channel;
			if (live && live.sink !== undefined) {
				// The original POST stream is gone; later events of that request go here.
				live.sink.close();
				live.sink = sink;
			} else if (resume.stream === STANDALONE) {
				this.#standalone?.close();
				this.#standalone = sink;
			} else {
				sink.close();
			}
		} else {
			this.#standalone?.close();
			this.#standalone = sink;
		}
		return new Response(sink.readable, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
	}

	/** Opens the 2024-11-05 SSE stream and announces the POST endpoint. */
	openLegacySse(endpoint: string): Response {
		this.#legacySse?.close();
		const sink = new SseSink(true);
		this.#legacySse = sink;
		sink.write(`event: endpoint\ndata: ${endpoint}\n\n`);
		return new Response(sink.readable, { status: 200, headers: SSE_HEADERS });
	}

	/** Whether the 2024-11-05 stream is still connected. */
	get legacySseOpen(): boolean {
		return this.#legacySse?.open ?? false;
	}

	/** 2024-11-05: one message made without the SDK server (a plain call's answer), on the stream. */
	sendLegacy(message: RpcMessage): void {
		this.#legacySse?.write(legacyFrame(JSON.stringify(message)));
	}

	/** 2024-11-05: a POSTed message; the answer travels on the SSE stream. */
	postLegacy(messages: RpcMessage[], extra: MessageExtraInfo): void {
		const channel: Channel = { stream: "sse", pending: new Set() };
		for (const m of messages) {
			if (isRequest(m)) {
				const internal = this.#nextId++;
				channel.pending.add(internal);
				this.#origins.set(internal, { channel, originalId: m.id });
				this.#deliver({ ...m, id: internal }, extra);
			} else this.#deliver(m, extra);
		}
	}

	async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
		const m = message as RpcMessage;
		if (isResponse(m)) {
			const internal = typeof m.id === "number" ? m.id : Number.NaN;
			const origin = this.#origins.get(internal);
			if (!origin) return;
			this.#origins.delete(internal);
			origin.channel.pending.delete(internal);
			if (origin.swallow) return origin.swallow();
			const error = m.error ? { error: { ...m.error, message: plainErrorMessage(m.error) } } : {};
			this.#emit(origin.channel, { ...m, ...error, id: origin.originalId });
			if (origin.channel.pending.size === 0) this.#finish(origin.channel);
			return;
		}
		const related = options?.relatedRequestId;
		const origin = typeof related === "number" ? this.#origins.get(related) : undefined;
		if (origin?.swallow) return;
		if (origin) this.#emit(origin.channel, m);
		else if (this.#legacySse) this.#legacySse.write(legacyFrame(JSON.stringify(m)));
		else if (this.#standalone) {
			const data = JSON.stringify(m);
			this.#standalone.write(frame(STANDALONE, this.#log.append(STANDALONE, data), data));
		}
	}

	/** Maps a client's `notifications/cancelled` to the internal id of that request. */
	#deliver(m: RpcMessage, extra: MessageExtraInfo): void {
		if ("method" in m && m.method === "notifications/cancelled" && !("id" in m)) {
			const original = m.params?.requestId;
			for (const [internal, o] of this.#origins) {
				if (o.originalId === original) {
					m = { ...m, params: { ...m.params, requestId: internal } };
					break;
				}
			}
		}
		this.onmessage?.(m as JSONRPCMessage, extra);
	}

	#emit(channel: Channel, m: RpcMessage): void {
		const data = JSON.stringify(m);
		if (channel.stream === "sse") {
			this.#legacySse?.write(legacyFrame(data));
		} else if (channel.json) {
			if (isResponse(m)) channel.json.results.push(m as JSONRPCMessage);
			// Notifications cannot travel in a JSON response; such requests are answered over SSE.
		} else {
			channel.sink?.write(frame(channel.stream, this.#log.append(channel.stream, data), data));
		}
	}

	#finish(channel: Channel): void {
		if (channel.json) {
			const { results, resolve, batch, headers } = channel.json;
			const body = batch ? JSON.stringify(results) : JSON.stringify(results[0] ?? JSON.parse(errorBody(-32603, "Internal error")));
			resolve(new Response(body, { status: 200, headers: { "Content-Type": "application/json", ...headers } }));
		} else if (channel.sink) {
			if (channel.stream !== "sse") this.#log.finish(channel.stream);
			channel.sink.close();
		}
	}
}
