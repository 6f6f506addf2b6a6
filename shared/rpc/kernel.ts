/**
 * @module shared/rpc/kernel
 * shared/rpc/ (entry: this module) owns what crosses Durable Object RPC: the kernel and session
 * interfaces, the principal and session-owner types, tenantStub, sessionStub and the liveness
 * rule. It may import shared/ only.
 *
 * The RPC surface of the tenant kernel (TenantObject), listed in one place. Every public method
 * of a Durable Object is callable over RPC, so the object exposes exactly these and nothing else.
 */
import type { AuditRow, Decision } from "../audit/store";
import type { ChainVerdict } from "../audit/chain.mjs";
import type { ChunkVerdict, VerifyCursor } from "../audit/verify-chunks";
import type { Failure, Result } from "../errors";
import type { SessionOwner, VerifiedPrincipal } from "./principal";
import type { StorageAnswer, StorageOp } from "../apps/runner";
import type { AppRefusal, AppSummary, AppVersionInfo, DeployOutcome, SealedValue, SecretInfo, StoredBundle } from "./apps-deploy";
import type { AppCallGrant, AppCallReport, AppCallTicket, AppLogLine, HostedCatalog } from "./apps";
import type { ClientAsk, ContentBlock, LogLevel } from "../catalog/registry";
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
	/**
	 * Run the call as a durable task (the client declared tasks and the tool supports them): the
	 * kernel makes every check of an inline call, then stores the task in the same transaction as
	 * its audit row and answers with {@link ToolOutcome.task} instead of running the tool. `ttlMs`
	 * is the client's wish (2025-11-25 `task.ttl`), clamped by the kernel.
	 */
	task?: { ttlMs?: number };
}

/** What `beginAppCall` answers: a hosted call's grant, with the task just stored when it runs as one. */
export type AppCallBegun = AppCallGrant<TaskView>;

/** Task states (2026-07-28 Tasks extension, 2025-11-25 experimental tasks). */
export type TaskStatus = "working" | "input_required" | "completed" | "failed" | "cancelled";

/** A task as the kernel returns it; the lanes shape it for their revision. */
export interface TaskView {
	taskId: string;
	status: TaskStatus;
	statusMessage?: string;
	/** Epoch milliseconds. */
	createdAt: number;
	lastUpdatedAt: number;
	ttlMs: number;
	pollIntervalMs: number;
	/** The tool the task runs. */
	tool: string;
	/** While `input_required`: the requests still to answer, by key. */
	inputRequests?: Record<string, ClientAsk>;
	/** When `completed`: the tool's result (a tool error has `isError: true`). */
	result?: ToolOutcome["result"];
	/** When `failed`: a JSON-RPC error (generic text; detail is in the log). */
	error?: { code: number; message: string };
}

/** One page of a caller's tasks (2025-11-25 `tasks/list`). */
export interface TaskPage {
	tasks: TaskView[];
	nextCursor?: string;
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
	/** Set when the call was started as a task ({@link ToolCall.task}): `result` is then empty. */
	task?: TaskView;
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

/**
 * Why the kernel refused an audited request before serving it: the credential no longer stands
 * (revoked grant or key, suspended tenant), or the caller's request budget is spent.
 */
export type Refusal = { reason: "credential_inactive"; message: string } | { reason: "rate_limited"; retryAfterSeconds: number };

/** The kernel's answer to {@link TenantKernel.record}: serve the request, or refuse it. */
export type Admission = Result<true, Refusal>;

/** A grant being revoked, as the front Worker names it (from the provider's grant listing). */
export interface GrantRef {
	grantId: string;
	userId: string;
	clientId: string;
}

/** TenantObject's RPC methods. */
export interface TenantKernel {
	callTool(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>>;
	/**
	 * Admits and audits a non-tool request (list, read of the catalog, session-level request, or a
	 * refusal decided in front): the credential must still stand and the caller's request budget
	 * pays for it. A refused request is not served; its audit row is aggregated (one per window).
	 * A kernel from before admissions answers `undefined`: callers treat that as admitted.
	 */
	record(principal: VerifiedPrincipal, request: RequestRecord): Promise<Admission>;
	/**
	 * Records a grant as revoked (strongly consistent, before the provider deletes it from KV),
	 * frees its session slots and closes its sessions' open streams. Returns how many it closed.
	 */
	revokeGrant(actor: AuthSubject, grant: GrantRef): Promise<{ closedSessions: number }>;
	/**
	 * Whether a refresh of `grantId` may go on: refused for a grant recorded as revoked and for a
	 * suspended tenant (worker/oauth/refresh-guard.ts). Reads only.
	 */
	refreshStanding(grantId: string): Promise<Result<true, { reason: "grant_revoked" | "tenant_suspended" }>>;
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
	 * Ends a session (its one row, which is also its cap slot): a DELETE (the principal, with
	 * `record`, audited when the Streamable HTTP session was live), or a SessionObject's expiry (its
	 * owner, no record; a 2024-11-05 SSE session too).
	 */
	closeSession(
		who: VerifiedPrincipal | SessionOwner,
		sessionId: string,
		record?: RequestRecord,
	): Promise<{ found: boolean; hasObject: boolean }>;
	/** Operator export: rows after `afterSeq`, oldest first, plus the anchor. */
	exportAudit(afterSeq: number, limit: number): Promise<{ anchor: { seq: number; hash: string } | null; rows: AuditRow[] }>;
	/** Verifies the whole chain, one chunk per turn of the object (tests and small trails). */
	verifyAudit(): Promise<ChainVerdict>;
	/** Verifies at most one chunk of the chain after `from` (null: from the anchor); call again with `next` until null. */
	verifyAuditChunk(from: VerifyCursor | null): Promise<ChunkVerdict>;
	/** Newest audit rows, for the connected-apps page. */
	recentAudit(limit: number): Promise<AuditRow[]>;
	registerApiKey(actor: AuthSubject, key: Omit<ApiKeyInfo, "lastUsedAt" | "revokedAt">): Promise<void>;
	revokeApiKey(actor: AuthSubject, keyId: string): Promise<boolean>;
	listApiKeys(): Promise<ApiKeyInfo[]>;
	/** Operator: suspend (true) or reactivate (false) the tenant. */
	setSuspended(actor: AuthSubject, suspended: boolean): Promise<void>;
	/**
	 * Operator: deletes everything the tenant stored (`ctx.storage.deleteAll()`: memory, audit
	 * trail, keys, grants' records, apps, secrets, tasks, sessions) after ending its live sessions.
	 * What remains is an empty schema with the tenant suspended, so nothing can use it again.
	 */
	destroy(actor: AuthSubject): Promise<{ sessionsEnded: number }>;

	// Hosted tools (shared/rpc/apps.ts, objects/tenant/app-calls.ts). The front Worker runs them.
	/** Authorises a hosted tool call (scope, suspension, key, rate limit, arguments); refusals are audited and answered as `done`. */
	beginAppCall(principal: VerifiedPrincipal, call: ToolCall): Promise<Result<AppCallBegun, Failure>>;
	/** The modules of a live ticket's version (for a cold isolate), after checking their content hash. */
	appCode(principal: VerifiedPrincipal, ticketId: string): Promise<Result<{ modules: Record<string, string> }, Failure>>;
	/** One `ctx.storage` operation of a live call, scoped to its app, within its quota. */
	appStorage(principal: VerifiedPrincipal, ticketId: string, op: StorageOp): Promise<StorageAnswer>;
	/** Writes a hosted call's audit row (outcome, outbound requests) and ends its ticket. */
	finishAppCall(principal: VerifiedPrincipal, ticket: AppCallTicket, report: AppCallReport): Promise<void>;
	/** Appends an app's captured console lines (secrets already redacted) to its bounded log. */
	appendAppLogs(app: string, lines: AppLogLine[]): Promise<void>;
	/** The newest lines of an app's log, oldest first. */
	readAppLogs(app: string, limit: number): Promise<AppLogLine[]>;
	/** The tenant's hosted tools; `epoch` changes with every deploy, rollback or removal. */
	hostedTools(): Promise<HostedCatalog>;
	/** A session with a stream open (on) or closed (off) that wants `notifications/tools/list_changed`. */
	watchTools(who: VerifiedPrincipal | SessionOwner, sessionId: string, on: boolean): Promise<void>;
	/** A task of the caller, or null: unknown, expired, or another principal's (never "forbidden"). */
	getTask(principal: VerifiedPrincipal, taskId: string): Promise<TaskView | null>;
	/**
	 * Answers a task's input requests (2026-07-28 `tasks/update`): answers are kept only under
	 * pending keys and only when shaped like the request's result; the task resumes once none is
	 * pending. Null when the task is not the caller's (or unknown).
	 */
	updateTask(principal: VerifiedPrincipal, taskId: string, responses: Record<string, unknown>): Promise<TaskView | null>;
	/** Cancels a task of the caller that is not finished yet (a finished one stays as it is); null when unknown. */
	cancelTask(principal: VerifiedPrincipal, taskId: string): Promise<TaskView | null>;
	/** The caller's live and retained tasks, newest first (2025-11-25 `tasks/list`). */
	listTasks(principal: VerifiedPrincipal, cursor?: string): Promise<TaskPage>;
	/**
	 * Per-account password throttling (worker/identity/sign-in-throttle.ts): counts an attempt at
	 * `subject`, or refuses it while the subject is locked out.
	 */
	signInGate(subject: string): Promise<Result<true, { retryAfterSeconds: number }>>;
	/** Ends an attempt {@link signInGate} let through; a failure of a known account is audited (aggregated). */
	signInEnded(subject: string, succeeded: boolean, audit?: AuthSubject): Promise<void>;

	// Apps: deploy, versions, secrets (shared/rpc/apps-deploy.ts, objects/tenant/apps.ts). Every change is audited with its
	// actor; refusals are typed and audited too. An API-key actor is re-checked (revoked, expired, suspended tenant).
	/** Stores a version the front Worker checked, guarded and dry-loaded (re-verified here: manifest, sizes, hash) and activates it. */
	deployApp(actor: AuthSubject, bundle: StoredBundle): Promise<Result<DeployOutcome, AppRefusal>>;
	/** The tenant's apps with their active versions and declared capabilities. */
	listApps(): Promise<AppSummary[]>;
	/** An app's stored versions, newest first. */
	appVersions(app: string): Promise<Result<AppVersionInfo[], AppRefusal>>;
	/** Makes a stored version active (roll back or promote); refused when it no longer matches its hash. */
	activateApp(
		actor: AuthSubject,
		app: string,
		hash: string,
	): Promise<Result<{ app: string; hash: string; version: string; changed: boolean }, AppRefusal>>;
	/** Removes an app: its versions, storage and log. */
	removeApp(actor: AuthSubject, app: string): Promise<Result<{ app: string; versions: number }, AppRefusal>>;
	/** Stores a tenant secret sealed by the front Worker (the kernel holds ciphertext only). */
	setSecret(actor: AuthSubject, name: string, sealed: SealedValue): Promise<Result<SecretInfo, AppRefusal>>;
	deleteSecret(actor: AuthSubject, name: string): Promise<Result<{ name: string }, AppRefusal>>;
	/** Names and last change only. */
	listSecrets(): Promise<SecretInfo[]>;
}
