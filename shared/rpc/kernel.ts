/**
 * @module shared/rpc/kernel
 * shared/rpc/ (entry: this module) owns what crosses Durable Object RPC: the kernel and session
 * interfaces, the principal and session-owner types, tenantStub and the liveness rule. It may
 * import shared/ only.
 *
 * The RPC surface of the tenant kernel (TenantObject), listed in one place. Every public method
 * of a Durable Object is callable over RPC, so the object exposes exactly these and nothing else.
 */
import type { AuditRow, Decision } from "../audit/store";
import type { ChainVerdict } from "../audit/chain.mjs";
import type { Failure, Result } from "../errors";
import type { SessionOwner, VerifiedPrincipal } from "./principal";
import type { ContentBlock, LogLevel } from "../catalog/registry";
import type { SessionRefusal } from "../mcp/wire";

/** Which protocol lane a call arrived on (recorded in logs and in the audit trail). */
export type Lane = "streamable-http" | "sse" | "modern";

/** A `tools/call` as the kernel receives it. */
export interface ToolCall {
	name: string;
	arguments: Record<string, unknown>;
	lane: Lane;
	protocolVersion: string;
	traceId: string;
	sessionId?: string;
	/**
	 * Sent by the front Worker for a session the kernel registered (objects/tenant/sessions.ts):
	 * the kernel checks that `sessionId` is a live session of the caller (else `unknown_session`,
	 * and nothing runs) and audits the revision the session negotiated instead of `protocolVersion`.
	 */
	registered?: true;
	/** The MCP method to audit, when the call serves another request (e.g. `resources/read`). */
	method?: string;
	/**
	 * Set by a lane after the person confirmed a destructive call through elicitation. `nonce`
	 * (2026-07-28 `requestState`) is single-use: the kernel records it in the same transaction.
	 */
	confirmation?: { via: "elicitation"; nonce?: string; expiresAt?: number };
	/** The client's answers to the tool's asks (elicitation, sampling), gathered by the lane. Untrusted. */
	answers?: Record<string, unknown>;
}

/** A progress report emitted by a tool while it ran. */
export interface ProgressReport {
	progress: number;
	total?: number;
	message?: string;
}

/** A log message emitted by a tool while it ran (delivered as `notifications/message`). */
export interface LogReport {
	level: LogLevel;
	data: string;
}

/** The MCP `CallToolResult` plus the progress (and log messages) the tool reported. */
export interface ToolOutcome {
	result: {
		content: ContentBlock[];
		structuredContent?: Record<string, unknown>;
		isError?: boolean;
		_meta?: Record<string, unknown>;
	};
	progress: ProgressReport[];
	logs?: LogReport[];
}

/** A non-tool MCP request that reached the tenant (initialize, lists, reads, session delete). */
export interface RequestRecord {
	method: string;
	lane: Lane | "http";
	protocolVersion: string;
	traceId: string;
	sessionId?: string;
	decision: Decision;
	outcome: string;
	durationMs: number;
	tool?: string;
}

/** What `openSession` registers of a Streamable HTTP session. */
export interface SessionRegistration {
	protocolVersion: string;
	/** The session's `initialize` request as JSON text (at most {@link MAX_REGISTERED_INIT} UTF-16 characters). */
	init: string;
}

/** A registered session as the kernel returns it. */
export interface RegisteredSession {
	protocolVersion: string;
	/** The stored `initialize` request (JSON text): only for `adopt`, the one use that needs it. */
	init?: string;
	createdAt: number;
	lastSeen: number;
	hasObject: boolean;
}

/** Longest `initialize` (JSON text, UTF-16 characters) that opens a session; a larger one is refused with -32602. */
export const MAX_REGISTERED_INIT = 65_536;

/** An authorization-server event of one of the tenant's users. */
export interface AuthEvent {
	/** `auth/consent`, `auth/sign_in`, `auth/token`, `auth/refresh`, `auth/revoke`. */
	method: string;
	decision: Decision;
	outcome: string;
	traceId: string;
}

/** Who an auth event is about: an account of the tenant (and the client, when known). */
export interface AuthSubject {
	tenantId: string;
	userId: string;
	clientId: string;
}

/** An API key as the tenant lists it (never the key itself). */
export interface ApiKeyInfo {
	keyId: string;
	name: string;
	prefix: string;
	scopes: string[];
	createdBy: string;
	createdAt: number;
	expiresAt: number;
	lastUsedAt: number | null;
	revokedAt: number | null;
}

/** TenantObject's RPC methods. */
export interface TenantKernel {
	callTool(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>>;
	record(principal: VerifiedPrincipal, request: RequestRecord): Promise<void>;
	recordAuthEvent(subject: AuthSubject, event: AuthEvent): Promise<void>;
	/**
	 * Counts a new session against the caller's cap; `record` (the opening request's audit row) is
	 * written in the same transaction when the session opens, and `register` enters a Streamable
	 * HTTP session in the tenant's session registry.
	 */
	openSession(
		principal: VerifiedPrincipal,
		sessionId: string,
		record?: RequestRecord,
		register?: SessionRegistration,
	): Promise<Result<true, SessionRefusal>>;
	/**
	 * A live registered session of the caller, or null (unknown, stale or someone else's): `touch`
	 * keeps it alive, `adopt` records that a SessionObject now holds it, `peek` only reads.
	 */
	sessionState(
		who: VerifiedPrincipal | SessionOwner,
		sessionId: string,
		use: "touch" | "adopt" | "peek",
	): Promise<RegisteredSession | null>;
	/**
	 * Ends a session (cap slot and registry row): a DELETE (the principal, with `record`, audited
	 * when the session was registered and live), or a SessionObject's expiry (its owner, no record).
	 */
	closeSession(
		who: VerifiedPrincipal | SessionOwner,
		sessionId: string,
		record?: RequestRecord,
	): Promise<{ found: boolean; hasObject: boolean }>;
	/** Operator export: rows after `afterSeq`, oldest first, plus the anchor. */
	exportAudit(afterSeq: number, limit: number): Promise<{ anchor: { seq: number; hash: string } | null; rows: AuditRow[] }>;
	verifyAudit(): Promise<ChainVerdict>;
	/** Newest audit rows, for the connected-apps page. */
	recentAudit(limit: number): Promise<AuditRow[]>;
	registerApiKey(actor: AuthSubject, key: Omit<ApiKeyInfo, "lastUsedAt" | "revokedAt">): Promise<void>;
	revokeApiKey(actor: AuthSubject, keyId: string): Promise<boolean>;
	listApiKeys(): Promise<ApiKeyInfo[]>;
	/** Operator: suspend (true) or reactivate (false) the tenant. */
	setSuspended(actor: AuthSubject, suspended: boolean): Promise<void>;
}
