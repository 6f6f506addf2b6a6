/**
 * @module objects/session/session-object
 * SessionObject: one per 2025-era MCP session that needs protocol state (or 2024-11-05 SSE
 * connection). It holds that state (stored `initialize`, negotiated version, streams, event log)
 * and is bound at creation to the principal (tenant, user, client). A request from any other
 * principal gets 404, exactly like an unknown session (MCP security best practices §"Session
 * Hijacking").
 *
 * A Streamable HTTP session is opened by the front Worker in the tenant's session registry
 * (objects/tenant/sessions.ts) and its plain requests go there in one hop; this object is created
 * by the first request that needs the SDK server or a stream, and adopts the session from the
 * registry then (same principal check, same 404). A Streamable HTTP session opened here (its
 * `initialize` failed the SDK's schema, so the Worker left it to the SDK server) is registered as
 * held by an object from the start; one whose `initialize` is too large, and every 2024-11-05
 * SSE session, lives here alone.
 *
 * Eviction: the SDK server lives in memory only. When a request arrives at a fresh instance of an
 * existing session, the stored `initialize` request is replayed into a new server before the
 * request is handled, so the session continues (security-tests §7.49).
 *
 * Nothing is written for an id that was never initialised: storage is created only when a session
 * is, so a forged or stale id leaves no object behind. The session's state is one value in the
 * object's key-value store; the SQL schema (the event log) is created only when a request first
 * needs the SDK server and its streams, so a session of plain tool calls never creates it. That
 * migration runs outside `blockConcurrencyWhile` (style rule 10 asks for the constructor): it is
 * synchronous, so no other request can interleave with it, and it runs before the first use.
 *
 * A little over the ~300-line guide: the request dispatch, the direct answers and the lifecycle
 * (create, replay, expire, destroy) of one object belong together.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { DurableObject } from "cloudflare:workers";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { InitializeRequestSchema, LATEST_PROTOCOL_VERSION, type MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js";
import { errorBody, isRequest, type RpcMessage } from "../../shared/mcp/jsonrpc";
import { RpcCode } from "../../shared/errors";
import { configureLog, log } from "../../shared/log";
import { catalogFor } from "../../shared/catalog/packs";
import { MAX_REGISTERED_INIT, type Lane, type RegisteredSession, type RequestRecord } from "../../shared/rpc/kernel";
import { involvesTask, sendsBeforeResult } from "../../shared/mcp/publish";
import { assertPrincipal, brandPrincipal, type VerifiedPrincipal } from "../../shared/rpc/principal";
import type { SessionAnswer, SessionApi, SessionRequest } from "../../shared/rpc/session";
import type { Env } from "../../shared/env";
import { migrate } from "../migrations";
import { parseEventId, EventLog } from "./event-log";
import { answerPlainToolCall, initializeResponse, negotiatedVersion, type KernelHost } from "../../shared/mcp/answers";
import { sessionRefusalAnswer } from "../../shared/mcp/admission";
import { SESSION_MIGRATIONS } from "./schema";
import { SessionTransport } from "./transport";
import { hostedCatalog, hostedToolList } from "../../shared/mcp/hosted-catalog";

/** The trace id of the request whose async work is running (nodejs_compat AsyncLocalStorage). */
const traces = new AsyncLocalStorage<string>();

/** What a session remembers across evictions. */
interface SessionMeta {
	sessionId: string;
	tenantId: string;
	userId: string;
	clientId: string;
	kind: "streamable" | "sse";
	protocolVersion: string;
	init: RpcMessage | null;
	createdAt: number;
	lastSeen: number;
}

/** The key of the session's state in the object's key-value store. */
const META_KEY = "session";
const DEFAULT_TTL_SECONDS = 86_400;
/** lastSeen is written at most this often, to keep idle-touch writes cheap. */
const TOUCH_EVERY_MS = 60_000;

/**
 * The SDK v1 server module (objects/session/legacy-server.ts, with the SDK's server and its JSON
 * Schema validator), imported lazily: a session that never needs it (plain sessions answer in the
 * tenant, one hop) never evaluates it, and neither does an isolate's start-up.
 */
let legacyServer: typeof import("./legacy-server") | undefined;
const loadLegacyServer = () => import("./legacy-server");

/** The session object. Its RPC surface is {@link SessionApi}. */
export class SessionObject extends DurableObject<Env> implements SessionApi {
	#meta: SessionMeta | null = null;
	#server: Server | null = null;
	#transport: SessionTransport | null = null;
	#rehydrating: Promise<void> | null = null;
	#trace = "";
	/** How many times this instance ended its session: an adoption in flight across an end is void. */
	#ended = 0;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		configureLog(env);
		this.#meta = ctx.storage.kv.get<SessionMeta>(META_KEY) ?? legacyMeta(ctx.storage);
	}

	/** Handles one parsed HTTP exchange for `principal`. */
	async handle(principalIn: VerifiedPrincipal, req: SessionRequest): Promise<SessionAnswer> {
		// Each request's trace id follows its own async work (the SDK runs handlers later, from the
		// transport), so concurrent requests of one session never swap trace ids in logs and audit.
		const res = await traces.run(req.traceId, () => this.#handle(principalIn, req));
		if (!(res instanceof Response) || res.headers.get("Content-Type") === "text/event-stream") return res;
		return { status: res.status, headers: Object.fromEntries(res.headers), body: res.body === null ? null : await res.text() };
	}

	async #handle(principalIn: VerifiedPrincipal, req: SessionRequest): Promise<SessionAnswer> {
		let principal: VerifiedPrincipal;
		try {
			principal = assertPrincipal(principalIn);
		} catch {
			log("error", "session.invalid_principal", { trace: req.traceId });
			return rpcError(500, RpcCode.InternalError, "Internal error");
		}
		this.#trace = req.traceId;
		// The SDK server's module is loaded on the first request that may need it, not at start-up.
		if (!legacyServer && req.op !== "delete") legacyServer = await loadLegacyServer();
		const headers = { "Mcp-Session-Id": req.sessionId };
		const creates = (req.op === "post" && req.messages.some((m) => "method" in m && m.method === "initialize")) || req.op === "sse-open";

		if (creates) {
			if (this.#meta) return rpcError(400, RpcCode.InvalidRequest, "Invalid Request: Server already initialized");
			const init = req.op === "post" ? (req.messages.find((m) => "method" in m && m.method === "initialize") ?? null) : null;
			const protocolVersion = req.op === "sse-open" ? "2024-11-05" : negotiatedVersion(init);
			// The live-session cap is counted in the tenant, where it is consistent per user; the
			// opening initialize is audited there too, in the same transaction (one kernel request),
			// and a Streamable HTTP session is registered so its plain calls can go there directly.
			const record = init ? requestRecord("initialize", "streamable-http", protocolVersion, req.traceId, req.sessionId) : undefined;
			const initText = init ? JSON.stringify(init) : "";
			const register = init && initText.length <= MAX_REGISTERED_INIT ? { protocolVersion, init: initText, hasObject: true } : undefined;
			const cap = await this.#tenant(principal).openSession(principal, req.sessionId, record, register);
			if (!cap.ok) {
				log("warn", cap.error.reason === "session_cap" ? "session.cap_reached" : "session.credential_refused", {
					trace: req.traceId,
					tenant: principal.tenantId,
					user: principal.userId,
				});
				return sessionRefusalAnswer(cap.error, this.env.SMCP_PUBLIC_ORIGIN ?? "");
			}
			this.#create(principal, req, protocolVersion, init);
		} else if (!this.#meta && req.op === "delete" && req.ended) {
			// The kernel ended a session it had registered as held here; nothing of it remains here.
			await this.#destroy(null);
			return new Response(null, { status: 200 });
		} else if (!this.#meta && (req.op === "post" || req.op === "get")) {
			const ended = this.#ended;
			// A kernel still on the build before the registry has no `sessionState`: nothing to adopt (404).
			const registered = await this.#tenant(principal)
				.sessionState(principal, req.sessionId, "adopt")
				.catch(() => null);
			// A DELETE that ended the session while the kernel answered wins: nothing is adopted.
			if (registered?.init !== undefined && !this.#meta && this.#ended === ended)
				this.#adopt(principal, req.sessionId, { ...registered, init: registered.init });
		}
		const meta = this.#meta;
		// Unknown session, or someone else's: the same 404 (no oracle for valid ids).
		if (!meta || meta.tenantId !== principal.tenantId || meta.userId !== principal.userId || meta.clientId !== principal.clientId) {
			return rpcError(404, RpcCode.SessionNotFound, "Session not found");
		}
		this.#touch(meta);
		const extra: MessageExtraInfo = {
			authInfo: { token: "", clientId: principal.clientId, scopes: [...principal.scopes], extra: { principal } },
		};

		switch (req.op) {
			case "sse-open": {
				const stream = this.#ensureTransport(req.sessionId).openLegacySse(req.endpoint);
				this.#watch(principal, req.sessionId, true);
				return stream;
			}
			case "sse-post": {
				const transport = this.#transport;
				if (meta.kind !== "sse" || !transport?.legacySseOpen) return rpcError(404, RpcCode.SessionNotFound, "Session not found");
				const init = req.messages.find((m) => "method" in m && m.method === "initialize");
				if (init) {
					this.#saveInit(meta, init);
					await this.#audit(principal, "initialize", req.traceId, req.sessionId);
				}
				// A lone plain tool call skips the SDK server here too; its answer goes on the stream.
				const only = req.messages.length === 1 ? req.messages[0] : undefined;
				if (
					!init &&
					meta.init &&
					only &&
					isRequest(only) &&
					only.method === "tools/call" &&
					!sendsBeforeResult(catalogFor(this.env), only.params) &&
					!involvesTask(catalogFor(this.env), only.params)
				) {
					void answerPlainToolCall(this.#kernelHost(meta, req.sessionId), principal, only).then((answer) => transport.sendLegacy(answer));
					return new Response("Accepted", { status: 202 });
				}
				transport.postLegacy(req.messages, extra);
				return new Response("Accepted", { status: 202 });
			}
			case "post": {
				if (meta.kind !== "streamable") return rpcError(404, RpcCode.SessionNotFound, "Session not found");
				const direct = await this.#answerDirectly(meta, principal, req, headers);
				if (direct) return direct;
				// A new session's own initialize is delivered normally; replay is for later requests.
				const init = req.messages.some((m) => "method" in m && m.method === "initialize");
				const transport = init ? this.#ensureTransport(req.sessionId) : await this.#ready(req.sessionId, extra);
				// Priming events and stream release need a client that resumes (2025-11-25+).
				const resumable = meta.protocolVersion >= "2025-11-25";
				return transport.post(req.messages, { sse: req.sse, batch: req.batch, resumable, headers, extra });
			}
			case "get": {
				if (meta.kind !== "streamable") return rpcError(404, RpcCode.SessionNotFound, "Session not found");
				const resume = req.lastEventId ? parseEventId(req.lastEventId) : null;
				if (req.lastEventId && !resume) return rpcError(400, RpcCode.InvalidRequest, "Bad Request: invalid Last-Event-ID");
				const transport = await this.#ready(req.sessionId, extra);
				this.#watch(principal, req.sessionId, true);
				return transport.openGet(resume, headers);
			}
			case "delete": {
				if (!req.ended) await this.#audit(principal, "session/delete", req.traceId, req.sessionId);
				await this.#destroy(req.sessionId);
				log("debug", "session.deleted", { trace: req.traceId, tenant: principal.tenantId, session: req.sessionId.slice(0, 12) });
				return new Response(null, { status: 200 });
			}
		}
	}

	/** Whether `principal` holds this live session; sends `message` on its 2024-11-05 stream (a hosted call's answer). */
	async deliver(principalIn: VerifiedPrincipal, sessionId: string, message: RpcMessage | null): Promise<boolean> {
		let principal: VerifiedPrincipal;
		try {
			principal = assertPrincipal(principalIn);
		} catch {
			return false;
		}
		const meta = this.#meta;
		if (
			!meta ||
			meta.sessionId !== sessionId ||
			meta.tenantId !== principal.tenantId ||
			meta.userId !== principal.userId ||
			meta.clientId !== principal.clientId
		) {
			return false;
		}
		if (meta.kind === "sse" && !this.#transport?.legacySseOpen) return false;
		this.#touch(meta);
		if (message && meta.kind === "sse") await this.#transport?.sendLegacy(message);
		return true;
	}

	/** Tells the client the tool list changed, on the session's open stream; false when there is none. */
	async toolsChanged(): Promise<boolean> {
		const server = this.#server;
		if (!this.#meta || !server || !this.#transport) return false;
		try {
			await server.sendToolListChanged();
			return true;
		} catch {
			return false;
		}
	}

	/**
	 * The kernel revoked the credential that opened this session ({@link SessionApi.end}): its
	 * streams (a `GET /mcp` stream, a 2024-11-05 `/sse` stream, open POST streams) end now, and its
	 * state goes. The kernel has already freed the session's slot.
	 */
	async end(ownerIn: VerifiedPrincipal, sessionId: string): Promise<boolean> {
		let owner: VerifiedPrincipal;
		try {
			owner = assertPrincipal(ownerIn);
		} catch {
			return false;
		}
		const meta = this.#meta;
		if (
			!meta ||
			meta.sessionId !== sessionId ||
			meta.tenantId !== owner.tenantId ||
			meta.userId !== owner.userId ||
			meta.clientId !== owner.clientId
		)
			return false;
		await this.#destroy(null, false);
		log("info", "session.revoked", { tenant: owner.tenantId, session: sessionId.slice(0, 12) });
		return true;
	}

	/** Idle expiry. Safe to run twice: a missing or fresh session is left alone. */
	override async alarm(): Promise<void> {
		const meta = this.#meta;
		if (!meta) return;
		const ttl = ttlMs(this.env);
		let lastSeen = meta.lastSeen;
		if (Date.now() - lastSeen >= ttl && meta.kind === "streamable") {
			// Plain requests of the session go to the tenant's registry and do not touch this object.
			const registered = await this.#tenant(ownerOf(meta))
				.sessionState(ownerOf(meta), meta.sessionId, "peek")
				.catch(() => null);
			lastSeen = Math.max(lastSeen, registered?.lastSeen ?? 0);
		}
		if (Date.now() - lastSeen >= ttl) await this.#destroy(null);
		else await this.ctx.storage.setAlarm(lastSeen + ttl);
	}

	/**
	 * The requests a session answers without its SDK server, which is then built only when a request
	 * needs it (by the same `initialize` replay that follows an eviction):
	 * - the opening `initialize` (validated by the SDK's own schema; its result is what the SDK's
	 *   server would answer: negotiated version, the catalog's capabilities, server info);
	 * - `notifications/initialized` while no server exists (the replay delivers it to the server);
	 * - a lone `tools/call` that sends nothing before its result (`answerPlainToolCall`).
	 * Anything else returns null and goes through the SDK server.
	 */
	async #answerDirectly(
		meta: SessionMeta,
		principal: VerifiedPrincipal,
		req: Extract<SessionRequest, { op: "post" }>,
		headers: Record<string, string>,
	): Promise<SessionAnswer | null> {
		if (req.batch || req.sse) return null;
		if (req.messages.every((m) => !("id" in m) && "method" in m && m.method === "notifications/initialized")) {
			return this.#transport ? null : { status: 202, headers, body: null };
		}
		const only = req.messages.length === 1 ? req.messages[0] : undefined;
		if (!only || !isRequest(only) || !meta.init) return null;
		const json = (body: unknown): SessionAnswer => ({
			status: 200,
			headers: { "Content-Type": "application/json", ...headers },
			body: JSON.stringify(body),
		});
		const catalog = catalogFor(this.env);
		if (only.method === "initialize" && !this.#transport && InitializeRequestSchema.safeParse(only).success) {
			return json(initializeResponse(catalog, only, this.env.SMCP_PUBLIC_ORIGIN));
		}
		if (only.method === "tools/call" && !sendsBeforeResult(catalog, only.params) && !involvesTask(catalog, only.params)) {
			return json(await answerPlainToolCall(this.#kernelHost(meta, req.sessionId), principal, only));
		}
		return null;
	}

	#create(principal: VerifiedPrincipal, req: SessionRequest, protocolVersion: string, init: RpcMessage | null): void {
		const now = Date.now();
		this.#meta = {
			sessionId: req.sessionId,
			tenantId: principal.tenantId,
			userId: principal.userId,
			clientId: principal.clientId,
			kind: req.op === "sse-open" ? "sse" : "streamable",
			protocolVersion,
			init,
			createdAt: now,
			lastSeen: now,
		};
		this.#persist();
		void this.ctx.storage.setAlarm(now + ttlMs(this.env));
		log("debug", "session.created", {
			trace: req.traceId,
			tenant: principal.tenantId,
			user: principal.userId,
			client_id: principal.clientId,
			kind: this.#meta.kind,
		});
	}

	/** Takes over a session the front Worker opened in the tenant's registry. */
	#adopt(principal: VerifiedPrincipal, sessionId: string, registered: RegisteredSession & { init: string }): void {
		const now = Date.now();
		this.#meta = {
			sessionId,
			tenantId: principal.tenantId,
			userId: principal.userId,
			clientId: principal.clientId,
			kind: "streamable",
			protocolVersion: registered.protocolVersion,
			init: JSON.parse(registered.init) as RpcMessage,
			createdAt: registered.createdAt,
			lastSeen: now,
		};
		this.#persist();
		void this.ctx.storage.setAlarm(now + ttlMs(this.env));
	}

	#saveInit(meta: SessionMeta, init: RpcMessage): void {
		meta.protocolVersion = negotiatedVersion(init);
		meta.init = init;
		this.#persist();
	}

	#touch(meta: SessionMeta): void {
		const now = Date.now();
		if (now - meta.lastSeen < Math.min(TOUCH_EVERY_MS, ttlMs(this.env) / 2)) return;
		meta.lastSeen = now;
		this.#persist();
		// The registry's row too, so the session's plain calls keep their one hop (best effort).
		if (meta.kind === "streamable")
			void this.#tenant(ownerOf(meta))
				.sessionState(ownerOf(meta), meta.sessionId, "touch")
				.catch(() => null);
	}

	#persist(): void {
		this.ctx.storage.kv.put(META_KEY, this.#meta);
	}

	#ensureTransport(sessionId: string): SessionTransport {
		if (this.#transport) return this.#transport;
		// The event log's tables, on the first request that needs streams (see the module note).
		migrate(this.ctx.storage, SESSION_MIGRATIONS);
		const transport = new SessionTransport(new EventLog(this.ctx.storage.sql), sessionId);
		if (!legacyServer) throw new Error("bug: the legacy server module is loaded at the top of #handle");
		const server = legacyServer.createLegacyServer({
			...this.#kernelHost(this.#meta, sessionId),
			catalog: catalogFor(this.env),
			origin: this.env.SMCP_PUBLIC_ORIGIN,
			principalOf: (extra) => assertPrincipal(extra.authInfo?.extra?.principal),
			record: (principal, r) => this.#tenant(principal).record(principal, r),
			hostedTools: async (principal) =>
				hostedToolList(await hostedCatalog(principal.tenantId, () => this.#tenant(principal).hostedTools()), principal.scopes),
			tasks: (principal) => this.#tenant(principal),
		});
		void server.connect(transport);
		this.#server = server;
		this.#transport = transport;
		return transport;
	}

	/** How this session's requests reach the kernel. */
	#kernelHost(meta: SessionMeta | null, sessionId: string): KernelHost {
		return {
			lane: meta?.kind === "sse" ? "sse" : "streamable-http",
			sessionId,
			protocolVersion: () => this.#meta?.protocolVersion ?? LATEST_PROTOCOL_VERSION,
			traceId: () => traces.getStore() ?? this.#trace,
			callTool: (principal, call) => this.#tenant(principal).callTool(principal, call),
		};
	}

	/** The transport, with the session's `initialize` replayed into a fresh server after eviction. */
	async #ready(sessionId: string, extra: MessageExtraInfo): Promise<SessionTransport> {
		if (this.#transport) {
			await this.#rehydrating;
			return this.#transport;
		}
		const transport = this.#ensureTransport(sessionId);
		const init = this.#meta?.init;
		if (init) {
			this.#rehydrating = transport.replay(init, extra);
			await this.#rehydrating;
			log("info", "session.rehydrated", { trace: this.#trace, session: sessionId.slice(0, 12) });
		}
		return transport;
	}

	/** The tenant kernel of `principal` (named only by the verified tenant id). */
	#tenant(principal: VerifiedPrincipal) {
		return this.env.TENANTS.get(this.env.TENANTS.idFromName(principal.tenantId));
	}

	/** Enters (or leaves) this session in the tenant's list of sessions told of tool list changes (best effort). */
	#watch(principal: VerifiedPrincipal, sessionId: string, on: boolean): void {
		void this.#tenant(principal)
			.watchTools(principal, sessionId, on)
			.catch(() => undefined);
	}

	async #audit(principal: VerifiedPrincipal, method: string, traceId: string, sessionId: string): Promise<void> {
		const meta = this.#meta;
		await this.#tenant(principal).record(
			principal,
			requestRecord(
				method,
				meta?.kind === "sse" ? "sse" : "streamable-http",
				meta?.protocolVersion ?? LATEST_PROTOCOL_VERSION,
				traceId,
				sessionId,
			),
		);
	}

	/** Ends the session; `tellTenant` false when the tenant itself asked (its slot is already free). */
	async #destroy(sessionId: string | null, tellTenant = true): Promise<void> {
		this.#ended++;
		const meta = this.#meta;
		const id = sessionId ?? meta?.sessionId ?? null;
		if (meta && id) {
			if (tellTenant) await this.#tenant(ownerOf(meta)).closeSession(ownerOf(meta), id);
			if (this.#transport) this.#watch(ownerOf(meta), id, false);
		}
		await this.#transport?.close();
		await this.#server?.close();
		this.#transport = null;
		this.#server = null;
		this.#meta = null;
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
	}
}

/**
 * A session stored by an earlier build kept its state in the SQL `meta` table: moved to the
 * key-value store on first load, so an upgrade ends no session and its expiry alarm still finds
 * it. One `sqlite_master` lookup for an object without state (a new session's first request).
 */
function legacyMeta(storage: DurableObjectStorage): SessionMeta | null {
	if (storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length === 0) return null;
	const row = storage.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'session'").toArray()[0];
	if (!row) return null;
	const meta = JSON.parse(row.v) as SessionMeta;
	storage.kv.put(META_KEY, meta);
	storage.sql.exec("DELETE FROM meta WHERE k = 'session'");
	return meta;
}

/** The principal a stored session belongs to (for the kernel calls the session makes on its own). */
function ownerOf(meta: SessionMeta): VerifiedPrincipal {
	return brandPrincipal({ tenantId: meta.tenantId, userId: meta.userId, clientId: meta.clientId, scopes: [] });
}

/** The audit record of a session-level request that was allowed. */
function requestRecord(method: string, lane: Lane, protocolVersion: string, traceId: string, sessionId: string): RequestRecord {
	return { method, lane, protocolVersion, traceId, sessionId, decision: "allowed", outcome: "ok", durationMs: 0 };
}

function ttlMs(env: Env): number {
	const s = Number(env.SMCP_SESSION_TTL_SECONDS ?? DEFAULT_TTL_SECONDS);
	return (Number.isFinite(s) && s > 0 ? s : DEFAULT_TTL_SECONDS) * 1000;
}

function rpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
	return new Response(errorBody(code, message), { status, headers: { "Content-Type": "application/json", ...headers } });
}
