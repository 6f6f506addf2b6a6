/**
 * @module objects/session/session-object
 * objects/session/ (entry: this module) owns the SessionObject: streams, the event log, asks to
 * the client, resumption and the 2024-11-05 SSE transport. It may import shared/,
 * objects/migrations.ts and npm packages; never worker/.
 *
 * SessionObject: one per 2025-era MCP session that needs protocol state of its own (or 2024-11-05
 * SSE connection). It exists only for what needs it: the streams (GET, a POST answered over SSE),
 * the event log for `Last-Event-ID` resumption, server-to-client requests (elicitation, sampling,
 * roots) and the 2024-11-05 SSE transport, all through the session's SDK server. It is bound to
 * the session's owner (tenant, user, client); a request from any other principal gets 404, exactly
 * like an unknown session (MCP security best practices, "Session Hijacking").
 *
 * A Streamable HTTP session is opened, answered plainly and ended by the front Worker in the
 * tenant's session registry (worker/mcp/one-hop.ts, objects/tenant/sessions.ts); this object is
 * created by the first request that needs the SDK server or a stream, and adopts the session from
 * the registry then. A 2024-11-05 SSE session is counted in the tenant by the front Worker and
 * lives here. A kernel that cannot be reached while adopting is a 503 (retry), never a 404.
 *
 * Eviction: the SDK server lives in memory only. When a request arrives at a fresh instance of an
 * existing session, the stored `initialize` request is replayed into a new server before the
 * request is handled, so the session continues and no change is applied twice.
 *
 * Nothing is written for an id that was never initialised: storage is created only when a session
 * is, so a forged or stale id leaves no object behind. The session's state is one value in the
 * object's key-value store; the SQL schema (the event log) is created only when a request first
 * needs the SDK server and its streams. That migration runs outside `blockConcurrencyWhile`
 * (which Durable Objects otherwise use for schema changes in the constructor): it is synchronous,
 * so no other request can interleave with it, and it runs before the first use.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { DurableObject } from "cloudflare:workers";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { LATEST_PROTOCOL_VERSION, type MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js";
import type { RpcMessage } from "../../shared/mcp/jsonrpc";
import { RpcCode } from "../../shared/errors";
import { configureLog, log } from "../../shared/log";
import { catalogFor } from "../../shared/catalog/packs";
import type { Lane, RegisteredSession, RequestRecord } from "../../shared/rpc/kernel";
import { issuedPrincipal, receiveOwner, receivePrincipal, type SessionOwner, type VerifiedPrincipal } from "../../shared/rpc/principal";
import type { SessionAnswer, SessionApi, SessionRequest } from "../../shared/rpc/session";
import { tenantStub } from "../../shared/rpc/stubs";
import { isLive, sessionTtlMs, touchDue } from "../../shared/rpc/liveness";
import { rpcError, sessionNotFound, sessionUnavailable } from "../../shared/mcp/wire";
import type { Env } from "../../shared/env";
import { migrate } from "../migrations";
import { parseEventId, EventLog } from "./event-log";
import { negotiatedVersion, type KernelHost } from "../../shared/mcp/answers";
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
/** How soon an expiry alarm that could not reach the kernel runs again. */
const ALARM_RETRY_MS = 60_000;

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
		this.#meta = ctx.storage.kv.get<SessionMeta>(META_KEY) ?? null;
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
			principal = receivePrincipal(principalIn);
		} catch {
			log("error", "session.invalid_principal", { trace: req.traceId });
			return rpcError(500, RpcCode.InternalError, "Internal error");
		}
		this.#trace = req.traceId;
		// The SDK server's module is loaded on the first request that may need it, not at start-up.
		if (!legacyServer && req.op !== "delete") legacyServer = await loadLegacyServer();
		const headers = { "Mcp-Session-Id": req.sessionId };

		if (req.op === "sse-open") {
			// The front Worker counted the session in the tenant (worker/mcp/one-hop.ts openSseSession).
			if (this.#meta) return rpcError(400, RpcCode.InvalidRequest, "Invalid Request: Server already initialized");
			this.#create(principal, req.sessionId, req.traceId);
		} else if (req.op === "delete") {
			// The kernel has ended (and audited) the session: what this object keeps of it goes.
			if (this.#meta && !this.#owns(this.#meta, principal)) return sessionNotFound();
			await this.#destroy(false);
			log("debug", "session.deleted", { trace: req.traceId, tenant: principal.tenantId, session: req.sessionId.slice(0, 12) });
			return new Response(null, { status: 200 });
		} else if (!this.#meta && (req.op === "post" || req.op === "get")) {
			const ended = this.#ended;
			let registered: RegisteredSession | null;
			try {
				registered = await tenantStub(this.env, principal).sessionState(principal, req.sessionId, "adopt");
			} catch (e) {
				log("error", "session.adopt_failed", { trace: req.traceId, retryable: (e as { retryable?: boolean }).retryable === true });
				return sessionUnavailable();
			}
			// A DELETE that ended the session while the kernel answered wins: nothing is adopted.
			if (registered?.init !== undefined && !this.#meta && this.#ended === ended)
				this.#adopt(principal, req.sessionId, { ...registered, init: registered.init });
		}
		const meta = this.#meta;
		// Unknown session, or someone else's: the same 404 (no oracle for valid ids).
		if (!meta || !this.#owns(meta, principal)) return sessionNotFound();
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
				if (meta.kind !== "sse" || !transport?.legacySseOpen) return sessionNotFound();
				const init = req.messages.find((m) => "method" in m && m.method === "initialize");
				if (init) {
					this.#saveInit(meta, init);
					await this.#audit(principal, "initialize", req.traceId, req.sessionId);
				}
				transport.postLegacy(req.messages, extra);
				return new Response("Accepted", { status: 202 });
			}
			case "post": {
				if (meta.kind !== "streamable") return sessionNotFound();
				const transport = await this.#ready(req.sessionId, extra);
				// Priming events and stream release need a client that resumes (2025-11-25+).
				const resumable = meta.protocolVersion >= "2025-11-25";
				return transport.post(req.messages, { sse: req.sse, batch: req.batch, resumable, headers, extra });
			}
			case "get": {
				if (meta.kind !== "streamable") return sessionNotFound();
				const resume = req.lastEventId ? parseEventId(req.lastEventId) : null;
				if (req.lastEventId && !resume) return rpcError(400, RpcCode.InvalidRequest, "Bad Request: invalid Last-Event-ID");
				const transport = await this.#ready(req.sessionId, extra);
				this.#watch(principal, req.sessionId, true);
				return transport.openGet(resume, headers);
			}
		}
	}

	/**
	 * Whether `principal` holds this live session; with `message`, sends it on the session's
	 * 2024-11-05 SSE stream (the answer to a hosted tool call the front Worker ran).
	 */
	async deliver(principalIn: VerifiedPrincipal, sessionId: string, message: RpcMessage | null): Promise<boolean> {
		let principal: VerifiedPrincipal;
		try {
			principal = receivePrincipal(principalIn);
		} catch {
			log("error", "session.invalid_principal", {});
			return false;
		}
		const meta = this.#meta;
		if (!meta || meta.sessionId !== sessionId || !this.#owns(meta, principal)) return false;
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
	 * state goes. The kernel has already ended the session's row (its cap slot).
	 */
	async end(ownerIn: SessionOwner, sessionId: string): Promise<boolean> {
		let owner: SessionOwner;
		try {
			owner = receiveOwner(ownerIn);
		} catch {
			log("error", "session.invalid_principal", {});
			return false;
		}
		const meta = this.#meta;
		if (!meta || meta.sessionId !== sessionId || !this.#owns(meta, owner)) return false;
		await this.#destroy(false);
		log("info", "session.revoked", { tenant: owner.tenantId, session: sessionId.slice(0, 12) });
		return true;
	}

	/** Idle expiry, by the one liveness rule. Safe to run twice: a missing or fresh session is left alone. */
	override async alarm(): Promise<void> {
		const meta = this.#meta;
		if (!meta) return;
		const ttl = sessionTtlMs(this.env);
		let lastSeen = meta.lastSeen;
		if (!isLive(lastSeen, Date.now(), ttl) && meta.kind === "streamable") {
			// Plain requests of the session go to the tenant's registry and do not touch this object.
			try {
				const registered = await tenantStub(this.env, ownerOf(meta)).sessionState(ownerOf(meta), meta.sessionId, "peek");
				lastSeen = Math.max(lastSeen, registered?.lastSeen ?? 0);
			} catch {
				// The kernel could not be reached: the session is not ended on a guess; ask again later.
				log("warn", "session.expiry_deferred", { session: meta.sessionId.slice(0, 12) });
				await this.ctx.storage.setAlarm(Date.now() + ALARM_RETRY_MS);
				return;
			}
		}
		if (!isLive(lastSeen, Date.now(), ttl)) await this.#destroy(true);
		else await this.ctx.storage.setAlarm(lastSeen + ttl);
	}

	#owns(meta: SessionMeta, p: VerifiedPrincipal | SessionOwner): boolean {
		return meta.tenantId === p.tenantId && meta.userId === p.userId && meta.clientId === p.clientId;
	}

	/** A 2024-11-05 SSE session, opened by its stream. */
	#create(principal: VerifiedPrincipal, sessionId: string, traceId: string): void {
		const now = Date.now();
		this.#meta = {
			sessionId,
			tenantId: principal.tenantId,
			userId: principal.userId,
			clientId: principal.clientId,
			kind: "sse",
			protocolVersion: "2024-11-05",
			init: null,
			createdAt: now,
			lastSeen: now,
		};
		this.#persist();
		void this.ctx.storage.setAlarm(now + sessionTtlMs(this.env));
		log("debug", "session.created", {
			trace: traceId,
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
		void this.ctx.storage.setAlarm(now + sessionTtlMs(this.env));
	}

	#saveInit(meta: SessionMeta, init: RpcMessage): void {
		meta.protocolVersion = negotiatedVersion(init);
		meta.init = init;
		this.#persist();
	}

	/** The one touch rule (shared/rpc/liveness.ts), here and in the registry's row alike. */
	#touch(meta: SessionMeta): void {
		const now = Date.now();
		if (!touchDue(meta.lastSeen, now, sessionTtlMs(this.env))) return;
		meta.lastSeen = now;
		this.#persist();
		// The registry's row too, so the session's plain calls keep their one hop. Not awaited: the
		// next request tries again, and the expiry alarm reads the newer of the two.
		if (meta.kind === "streamable")
			void tenantStub(this.env, ownerOf(meta))
				.sessionState(ownerOf(meta), meta.sessionId, "touch")
				.catch((e: unknown) => log("warn", "session.touch_failed", { retryable: (e as { retryable?: boolean }).retryable === true }));
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
			principalOf: (extra) => issuedPrincipal(extra.authInfo?.extra?.principal),
			record: (principal, r) => tenantStub(this.env, principal).record(principal, r),
			hostedTools: async (principal) =>
				hostedToolList(await hostedCatalog(principal.tenantId, () => tenantStub(this.env, principal).hostedTools()), principal.scopes),
			tasks: (principal) => tenantStub(this.env, principal),
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
			callTool: (principal, call) => tenantStub(this.env, principal).callTool(principal, call),
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

	/** Enters (or leaves) this session in the tenant's list of sessions told of tool list changes (best effort). */
	#watch(who: VerifiedPrincipal | SessionOwner, sessionId: string, on: boolean): void {
		void tenantStub(this.env, who)
			.watchTools(who, sessionId, on)
			.catch(() => undefined);
	}

	async #audit(principal: VerifiedPrincipal, method: string, traceId: string, sessionId: string): Promise<void> {
		const meta = this.#meta;
		await tenantStub(this.env, principal).record(
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

	/**
	 * Clears the session. `expired`: the object's own expiry ends the session in the kernel too (its
	 * cap slot and registry row); after a DELETE or a revocation the kernel has done that already.
	 */
	async #destroy(expired: boolean): Promise<void> {
		this.#ended++;
		const meta = this.#meta;
		if (meta && expired) await tenantStub(this.env, ownerOf(meta)).closeSession(ownerOf(meta), meta.sessionId);
		if (meta && this.#transport) this.#watch(ownerOf(meta), meta.sessionId, false);
		await this.#transport?.close();
		await this.#server?.close();
		this.#transport = null;
		this.#server = null;
		this.#meta = null;
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
	}
}

/** Whom a stored session belongs to (for the kernel calls the object makes on its own). */
function ownerOf(meta: SessionMeta): SessionOwner {
	return receiveOwner(meta);
}

/** The audit record of a session-level request that was allowed. */
function requestRecord(method: string, lane: Lane, protocolVersion: string, traceId: string, sessionId: string): RequestRecord {
	return { method, lane, protocolVersion, traceId, sessionId, decision: "allowed", outcome: "ok", durationMs: 0 };
}
