/**
 * @module objects/tenant/tenant-object
 * objects/tenant/ (entry: this module) owns the TenantObject: the call pipeline, the session
 * registry and cap, limits and budgets, keys and revocations, durable tasks, hosted-call
 * authorisation and the schema. It may import shared/, objects/migrations.ts and npm
 * packages; never worker/.
 *
 * TenantObject: the kernel. One per tenant, named only by the verified principal's tenant id.
 * Every tool call from every lane runs here:
 *   authorise (scope) → rate-limit (token buckets) → validate (zod) → run the handler against the
 *   tenant's SQLite storage → append the audit row.
 * The handler's state change and its audit row are written in one synchronous transaction: no
 * change without its row (the one exception is a local benchmark's switch, `#benchNoAudit`), no
 * `allowed` row for a change that did not happen. A handler that throws
 * rolls back, and an `error` row is written instead.
 *
 * Longer than the ~300-line guide because it is the kernel's whole RPC surface in one place; the
 * logic it orchestrates lives in limits.ts, keys.ts, sessions.ts, session-cap.ts, revocations.ts,
 * budget.ts, tasks.ts, app-calls.ts, shared/audit and the tool packs.
 */
import { errorOutcome, rateLimitedOutcome, refusalOutcome } from "./refusals";
import { DurableObject } from "cloudflare:workers";
import { AuditStore, digest, type AuditInput, type AuditRow, type Decision } from "../../shared/audit/store";
import type { ChainVerdict } from "../../shared/audit/chain.mjs";
import { sha256Hex } from "../../shared/sha256";
import { AUDIT_VERIFY_CHUNK, verifyChunk, type ChunkVerdict, type VerifyCursor } from "../../shared/audit/verify-chunks";
import { AccessDenied, err, ok, ToolError, type Failure, type Result } from "../../shared/errors";
import { HandleStore } from "../../shared/mcp/handles";
import { MemoryStore } from "../../shared/catalog/packs/memory/store";
import type {
	Admission,
	ApiKeyInfo,
	AppCallBegun,
	AuthEvent,
	AuthSubject,
	LogReport,
	ProgressReport,
	RegisteredSession,
	RequestRecord,
	SessionRegistration,
	TaskPage,
	TaskView,
	GrantRef,
	TenantKernel,
	ToolCall,
	ToolOutcome,
	Refusal,
} from "../../shared/rpc/kernel";
import { configureLog, log, logEnabled } from "../../shared/log";
import { catalogFor } from "../../shared/catalog/packs";
import { hasScope, receiveOwner, receivePrincipal, type SessionOwner, type VerifiedPrincipal } from "../../shared/rpc/principal";
import { toolContent, type ToolDefinition } from "../../shared/catalog/registry";
import { isLoopbackHost } from "../../shared/config";
import type { Env } from "../../shared/env";
import { migrate } from "../migrations";
import { resolveLimits, takeCallBudget, type Limits } from "./limits";
import { sessionCapRefusal } from "./session-cap";
import { RevokedGrants } from "./revocations";
import { aggregatedOutcome, pruneRefusalWindows, refusalRowDue } from "./budget";
import { clearSignIn, failureRowDue, gateSignIn, pruneSignIns } from "./sign-in-throttle";
import { credentialRefusal, insertKey, listKeys, markRevoked, readSuspended, setSuspendedFlag } from "./keys";
import { TENANT_MIGRATIONS } from "./schema";
import { SessionRegistry } from "./sessions";
import { resolveTaskLimits, TaskStore } from "./tasks";
import type { BucketState } from "../../shared/rate-limit";
import { sessionStub } from "../../shared/rpc/stubs";
import type { SessionRefusal } from "../../shared/mcp/wire";
import type { StorageAnswer, StorageOp } from "../../shared/apps/runner";
import type { AppCallReport, AppCallTicket, AppLogLine, HostedCatalog } from "../../shared/rpc/apps";
import { AppCalls } from "./app-calls";
import { announceToolsChanged, pruneWatchers, watch } from "./tool-watchers";
import { verifyBundleHash } from "../../shared/apps/bundle";
import type {
	AppRefusal,
	AppSummary,
	AppVersionInfo,
	DeployOutcome,
	SealedValue,
	SecretInfo,
	StoredBundle,
} from "../../shared/rpc/apps-deploy";
import {
	activateVersion,
	checkStoredBundle,
	deployVersion,
	dropSecret,
	isAppName,
	isVersionHash,
	listApps,
	listSecretNames,
	listVersions,
	putSecret,
	readVersion,
	removeApp,
	type AuditNote,
} from "./apps";

/** What a grant id looks like (the provider's; the same rule as a principal's `grantId`). */
const GRANT_ID = /^[A-Za-z0-9_.:@-]{1,200}$/;

/** How often the retention alarm runs. */
const PRUNE_EVERY_MS = 6 * 3600_000;

/** The tenant kernel. Its RPC surface is {@link TenantKernel}; nothing else is public. */
export class TenantObject extends DurableObject<Env> implements TenantKernel {
	readonly #limits: Limits;
	readonly #audit: AuditStore;
	readonly #sessions: SessionRegistry;
	/** Durable tasks (objects/tenant/tasks.ts): stored with their audit rows, run by the alarm. */
	readonly #tasks: TaskStore;
	/** When the retention part of the alarm last ran (in memory: after eviction it runs once more). */
	#prunedAt = 0;
	readonly #revoked: RevokedGrants;
	/** The rate-limit buckets as last written (objects/tenant/limits.ts `takeCallBudget`). */
	readonly #buckets = new Map<string, BucketState>();
	#alarmSet = false;
	#suspended: boolean | undefined;
	/** Hosted tool calls: authorise, storage, audit (objects/tenant/app-calls.ts). */
	#apps: AppCalls;

	/**
	 * `SMCP_BENCH_NO_AUDIT` on a loopback deployment (`SMCP_PUBLIC_ORIGIN` on 127.0.0.1 or
	 * localhost, as `npm run bench` runs it): `true`, or the tenant ids (comma-separated) whose
	 * allowed tool calls write no audit row, so the bench can measure what the row costs — with
	 * tenant ids, against an audited tenant of the same process. The only exception to "no change
	 * without its row" (module note); refusals and every other event are still audited. Any other
	 * value, or any other origin, is ignored (and logged).
	 */
	readonly #benchNoAudit: (tenantId: string) => boolean;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		configureLog(env);
		const switched = env.SMCP_BENCH_NO_AUDIT?.trim() ?? "";
		const tenants = switched === "true" ? [] : switched.split(",").map((t) => t.trim());
		const wellFormed = switched === "true" || tenants.every((t) => /^t_[0-9a-f]{32}$/.test(t));
		const honoured = switched !== "" && switched !== "false" && wellFormed && onLoopback(env.SMCP_PUBLIC_ORIGIN);
		const off = new Set(tenants);
		this.#benchNoAudit = !honoured ? () => false : switched === "true" ? () => true : (tenantId) => off.has(tenantId);
		if (honoured)
			log("warn", "kernel.audit_off", {
				reason: "SMCP_BENCH_NO_AUDIT: allowed tool calls are not audited (benchmark only)",
				tenants: switched === "true" ? "all" : tenants.join(","),
			});
		else if (switched !== "" && switched !== "false")
			log("error", "kernel.audit_switch_ignored", {
				reason: wellFormed
					? "SMCP_BENCH_NO_AUDIT is honoured only on a loopback origin"
					: "SMCP_BENCH_NO_AUDIT must be true or tenant ids (t_ and 32 hex digits), comma-separated",
			});
		this.#limits = resolveLimits(env);
		this.#audit = new AuditStore(ctx.storage.sql);
		this.#sessions = new SessionRegistry(ctx.storage.sql, this.#limits.sessionTtlMs);
		this.#tasks = new TaskStore(
			{
				sql: ctx.storage.sql,
				transactionSync: (fn) => this.#atomically(fn),
				catalog: () => catalogFor(env),
				append: (row) => this.#audit.append(row),
				refusal: (p, now) => this.#credentialRefusal(p, now),
			},
			resolveTaskLimits(env),
		);
		this.#apps = this.#newAppCalls();
		this.#revoked = new RevokedGrants(ctx.storage.sql);
		// Rules of Durable Objects: schema changes run once, before any request is delivered.
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, TENANT_MIGRATIONS);
			// Index rows a migration asked for, which SQL alone cannot compute (lower-cased text).
			ctx.storage.transactionSync(() => new MemoryStore(ctx.storage.sql).rebuildSearchIfDue());
		});
	}

	/** Runs one tool call for `principal` in this tenant. */
	async callTool(principalIn: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return err({ reason: "internal", where: "kernel", detail: "invalid principal" });
		const started = Date.now();
		if (call.registered) {
			// Straight from the front Worker: only for a live session of this caller (sessions.ts).
			const session = call.sessionId ? this.#sessions.find(principal, call.sessionId, started, "touch") : null;
			// A revoked credential's sessions ended with it: its call goes on to be refused (and audited) as revoked.
			if (session) call = { ...call, protocolVersion: session.protocolVersion };
			else if (!this.#credentialRefusal(principal, started)) return err({ reason: "unknown_session" });
		}
		const base = this.#row(principal, call, started);
		// Only the packs this deployment enables (SMCP_CONFORMANCE …): others are unknown here too.
		const tool = catalogFor(this.env).kernelTool(call.name, call.method);
		if (!tool) {
			// Unknown tools pay from the request budget like any other audited request (budget.ts).
			const refused = this.#admit(principal, { ...base, tool: String(call.name).slice(0, 64) }, "error", "unknown_tool", started);
			if (refused) return ok(refusalOutcome(refused));
			return err({ reason: "unknown_tool", tool: String(call.name).slice(0, 64) });
		}
		const row = {
			...base,
			method: call.method ?? "tools/call",
			tool: tool.name,
			argsDigest: digest(call.arguments ?? {}),
			args: safeArgs(tool, call.arguments),
		};
		if (!hasScope(principal.scopes, tool.scope)) {
			const refused = this.#admit(principal, row, "denied", `insufficient_scope:${tool.scope}`, started);
			if (refused) return ok(refusalOutcome(refused));
			return err({ reason: "insufficient_scope", tool: tool.name, needed: tool.scope });
		}

		let outcome: ToolOutcome | undefined;
		let failure: Failure | undefined;
		let decision: Decision = "allowed";
		const progress: ProgressReport[] = [];
		const logs: LogReport[] = [];
		let args: Record<string, unknown> = {};
		// One transaction, one commit per call: the checks and the rate-limit take, then the tool in a
		// savepoint with its audit row (or the refusal's row).
		this.#atomically(() => {
			const refusal = this.#credentialRefusal(principal, started);
			if (refusal) {
				decision = "denied";
				outcome = errorOutcome(refusal.message);
				this.#refusalRow(principal, { ...row, decision, outcome: refusal.reason, durationMs: Date.now() - started });
				return;
			}
			const budget = takeCallBudget(this.ctx.storage.sql, this.#limits, principal, tool.rateClass, started, this.#buckets);
			if (!budget.allowed) {
				decision = "rate_limited";
				outcome = rateLimitedOutcome(budget.retryAfterSeconds);
				this.#refusalRow(principal, {
					...row,
					decision,
					outcome: `retry_after:${budget.retryAfterSeconds}s`,
					durationMs: Date.now() - started,
				});
				return;
			}
			const parsed = tool.input.safeParse(call.arguments ?? {});
			if (!parsed.success) {
				// MCP 2025-11-25 §tools "Error Handling": input validation failures are tool execution
				// errors, so the model can correct itself. Paths and messages only, never the values.
				const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(arguments)"}: ${i.message}`).slice(0, 10);
				decision = "error";
				outcome = errorOutcome(`Invalid arguments for tool ${tool.name}: ${issues.join("; ")}`);
				this.#audit.append({ ...row, decision, outcome: "invalid_arguments", durationMs: Date.now() - started });
				return;
			}
			args = parsed.data;
			const refused = this.#confirmationRefusal(tool, args, call, started);
			if (refused) {
				decision = "denied";
				outcome = errorOutcome(refused.message);
				this.#audit.append({ ...row, decision, outcome: refused.reason, durationMs: Date.now() - started });
				return;
			}
			try {
				// The state change and its audit row commit together or not at all: a savepoint inside the
				// call's one transaction, so that a failed tool leaves the rate-limit take and its own row.
				outcome = this.#savepoint(() => {
					const nonce = call.confirmation?.nonce;
					if (nonce)
						this.ctx.storage.sql.exec(
							"INSERT INTO used_confirmations (nonce, expires_at) VALUES (?, ?)",
							nonce,
							call.confirmation?.expiresAt ?? started + 600_000,
						);
					if (!call.task && tool.task?.support === "required") {
						decision = "denied";
						this.#audit.append({ ...row, decision, outcome: "task_required", durationMs: Date.now() - started });
						return errorOutcome(`Tool ${tool.name} runs only as a task; call it from a client that supports MCP tasks.`);
					}
					// A task-capable call from a client that declared tasks: stored, not run (objects/tenant/tasks.ts).
					if (call.task && tool.task) {
						const full = this.#tasks.ceiling(principal);
						if (full) {
							decision = "rate_limited";
							this.#audit.append({ ...row, decision, outcome: "task_ceiling", durationMs: Date.now() - started });
							return errorOutcome(full);
						}
						return { result: { content: [] }, progress: [], task: this.#tasks.create(principal, tool, args, call, row, started) };
					}
					const output = tool.handler(
						{
							principal,
							sql: this.ctx.storage.sql,
							progress: (done, total, message) =>
								progress.push({ progress: done, ...(total === undefined ? {} : { total }), ...(message ? { message } : {}) }),
							log: (level, data) => logs.push({ level, data }),
							answers: call.answers ?? {},
						},
						args,
					);
					const content = toolContent(tool, output);
					if (!this.#benchNoAudit(principal.tenantId))
						this.#audit.append({ ...row, decision: "allowed", outcome: "ok", durationMs: Date.now() - started });
					return { result: { content, structuredContent: output as Record<string, unknown> }, progress, ...(logs.length ? { logs } : {}) };
				});
			} catch (e) {
				decision = "error";
				if (e instanceof ToolError) {
					const denied = e instanceof AccessDenied;
					if (denied) decision = "denied";
					outcome = errorOutcome(e.message);
					this.#audit.append({ ...row, decision, outcome: denied ? "access_denied" : "tool_error", durationMs: Date.now() - started });
				} else {
					log("error", "tool.crash", {
						tenant: principal.tenantId,
						tool: tool.name,
						trace: call.traceId,
						error: e instanceof Error ? e.name : "unknown",
					});
					this.#audit.append({ ...row, decision, outcome: "internal_error", durationMs: Date.now() - started });
					failure = { reason: "tool_failed", tool: tool.name, message: e instanceof Error ? e.message : String(e) };
				}
			}
		});
		if (outcome?.task) await this.#armTasks();
		this.#ensureAlarm();
		// An allowed call is in the audit trail already: a debug line. Refusals and errors: warn.
		if (logEnabled(decision === "allowed" ? "debug" : "warn"))
			log(decision === "allowed" ? "debug" : "warn", "tool.call", {
				trace: call.traceId,
				tenant: principal.tenantId,
				user: principal.userId,
				client_id: principal.clientId,
				lane: call.lane,
				protocol: call.protocolVersion,
				tool: tool.name,
				decision,
				ms: Date.now() - started,
			});
		return failure ? err(failure) : ok(outcome!);
	}

	/** Admits and audits a non-tool MCP request (see {@link TenantKernel.record}). */
	async record(principalIn: VerifiedPrincipal, r: RequestRecord): Promise<Admission> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return err({ reason: "credential_inactive", message: "Unauthorized" });
		const refused = this.#admit(principal, this.#requestRow(principal, r), r.decision, r.outcome, Date.now());
		this.#ensureAlarm();
		return refused ? err(refused) : ok(true);
	}

	/** Records a revoked grant, frees its session slots and closes its sessions (see {@link TenantKernel.revokeGrant}). */
	async revokeGrant(actor: AuthSubject, grant: GrantRef): Promise<{ closedSessions: number }> {
		// Whose sessions end: the grant's user and client in this tenant, re-validated after the RPC hop.
		const owner = this.#mine(
			checkedOwner({ tenantId: this.ctx.id.name ?? actor?.tenantId, userId: grant?.userId, clientId: grant?.clientId }),
		);
		if (!owner || typeof grant.grantId !== "string" || !GRANT_ID.test(grant.grantId)) return { closedSessions: 0 };
		const sessions = this.#atomically(() => {
			const now = Date.now();
			if (this.#revoked.add(grant, now))
				this.#audit.append(this.#authRow(actor, "auth/revoke", "allowed", `grant of client ${grant.clientId.slice(0, 64)}`));
			return this.#sessions.takeSessionsOf({ userId: grant.userId, clientId: grant.clientId, grantId: grant.grantId });
		});
		this.#ensureAlarm();
		return { closedSessions: await this.#endSessions(owner, sessions) };
	}

	/** Whether a refresh of `grantId` may go on (see {@link TenantKernel.refreshStanding}). */
	async refreshStanding(grantId: string): Promise<Result<true, { reason: "grant_revoked" | "tenant_suspended" }>> {
		if (typeof grantId !== "string" || grantId.length > 200) return err({ reason: "grant_revoked" });
		if (this.#isSuspended()) return err({ reason: "tenant_suspended" });
		return this.#revoked.has(grantId) ? err({ reason: "grant_revoked" }) : ok(true);
	}

	/**
	 * Counts a password attempt at `subject` (an account of this tenant, or a keyed digest of an
	 * unknown email), or refuses it while locked (objects/tenant/sign-in-throttle.ts).
	 */
	async signInGate(subject: string): Promise<Result<true, { retryAfterSeconds: number }>> {
		const gate = this.#atomically(() => gateSignIn(this.ctx.storage.sql, String(subject).slice(0, 200), Date.now()));
		return gate.ok ? ok(true) : err({ retryAfterSeconds: gate.retryAfterSeconds });
	}

	/**
	 * The attempt let through by {@link signInGate} ended: a success clears the count; a failure of
	 * an account (`audit` names it) is audited once per lockout window, with the attempts counted.
	 */
	async signInEnded(subject: string, succeeded: boolean, audit?: AuthSubject): Promise<void> {
		const key = String(subject).slice(0, 200);
		this.#atomically(() => {
			if (succeeded) return clearSignIn(this.ctx.storage.sql, key);
			const due = failureRowDue(this.ctx.storage.sql, key, Date.now());
			if (!due || !audit) return;
			const outcome = due.attempts > 1 ? `wrong_password; ${due.attempts} attempts counted` : "wrong_password";
			const row = this.#authRow(audit, "auth/sign_in", "denied", outcome);
			this.#audit.append({ ...row, lane: "oauth", protocol: "oauth2.1", trace: "auth" });
		});
		if (audit) this.#ensureAlarm();
	}

	/** Audits an authorization-server event of one of this tenant's accounts. */
	async recordAuthEvent(subject: AuthSubject, e: AuthEvent): Promise<void> {
		let p: SessionOwner;
		try {
			p = receiveOwner(subject);
		} catch {
			return;
		}
		this.#write({
			tenant: p.tenantId,
			user: p.userId,
			client: p.clientId,
			session: null,
			lane: "oauth",
			protocol: "oauth2.1",
			method: e.method,
			decision: e.decision,
			outcome: e.outcome,
			durationMs: 0,
			trace: e.traceId,
		});
		this.#ensureAlarm();
	}

	/** Registers a new MCP session of `principal`, unless the user is at the live-session cap. */
	async openSession(
		principalIn: VerifiedPrincipal,
		sessionId: string,
		record?: RequestRecord,
		register?: SessionRegistration,
	): Promise<Result<true, SessionRefusal>> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return err({ reason: "internal" });
		// A suspended tenant, a revoked grant or key opens no session, whatever KV still says: 401 on the wire.
		if (this.#credentialRefusal(principal, Date.now())) return err({ reason: "credential_inactive" });
		const full = this.#atomically(() => {
			const now = Date.now();
			const full = sessionCapRefusal(this.ctx.storage.sql, this.#limits, principal, now);
			if (full) return full;
			// One row per session, either kind (sessions.ts); stale rows are refused on sight and pruned by the retention alarm.
			this.#sessions.open(principal, sessionId, register ?? null, now);
			if (record) this.#audit.append(this.#requestRow(principal, record));
			return null;
		});
		this.#ensureAlarm();
		return full ? err({ reason: "session_cap", retryAfterSeconds: full.retryAfterSeconds }) : ok(true);
	}

	/** A live registered session of the caller, or null (see {@link TenantKernel.sessionState}). */
	async sessionState(
		whoIn: VerifiedPrincipal | SessionOwner,
		sessionId: string,
		use: "touch" | "adopt" | "peek",
	): Promise<RegisteredSession | null> {
		const principal = this.#mine(checkedOwner(whoIn));
		if (!principal) return null;
		// A revoked grant or key, or a suspended tenant, has no live session (kernel entry check).
		if (this.#credentialRefusal(principal, Date.now())) return null;
		return this.#sessions.find(principal, sessionId, Date.now(), use);
	}

	/** Ends an MCP session: its row (and so its cap slot); audits `record` for a live Streamable HTTP one. */
	async closeSession(
		whoIn: VerifiedPrincipal | SessionOwner,
		sessionId: string,
		record?: RequestRecord,
	): Promise<{ found: boolean; hasObject: boolean }> {
		const principal = this.#mine(checkedOwner(whoIn));
		if (!principal) return { found: false, hasObject: false };
		const ended = this.#atomically(() => {
			// A session of someone else (another client of the same user included) ends nothing. A DELETE
			// (with `record`) ends a Streamable HTTP session; a SessionObject ending the session it held
			// (no `record`) ends it whatever its kind (a 2024-11-05 SSE session too).
			const session = this.#sessions.end(principal, sessionId, Date.now(), record ? "delete" : "expiry");
			if (session && record) this.#audit.append(this.#requestRow(principal, { ...record, protocolVersion: session.protocolVersion }));
			return { found: session !== null, hasObject: session?.hasObject ?? false };
		});
		if (ended.found && record) this.#ensureAlarm();
		return ended;
	}

	/** Operator export, oldest first. */
	async exportAudit(afterSeq: number, limit: number): Promise<{ anchor: { seq: number; hash: string } | null; rows: AuditRow[] }> {
		return { anchor: this.#audit.anchor(), rows: this.#audit.page(Math.max(0, afterSeq), Math.min(Math.max(1, limit), 1000)) };
	}

	/**
	 * Verifies the next chunk of the chain (at most {@link AUDIT_VERIFY_CHUNK} rows) after `from`,
	 * or from the anchor: the operator's route calls again with `next` until it is null, so no
	 * turn of this object is longer than one chunk (shared/audit/verify-chunks.ts).
	 */
	async verifyAuditChunk(from: VerifyCursor | null): Promise<ChunkVerdict> {
		return verifyChunk(this.#audit, sha256Hex, from);
	}

	/** Verifies the stored chain end to end, one chunk per turn: other requests run between chunks. */
	async verifyAudit(): Promise<ChainVerdict> {
		let v = verifyChunk(this.#audit, sha256Hex, null);
		while (v.next) {
			await new Promise((resolve) => setTimeout(resolve, 0));
			v = verifyChunk(this.#audit, sha256Hex, v.next);
		}
		const { next: _done, ...verdict } = v;
		return verdict;
	}

	/**
	 * The one alarm: runs the task steps that are due (objects/tenant/tasks.ts), and retention —
	 * prunes audit rows older than the configured days, expired handles, sessions and tasks — when
	 * no step was due or {@link PRUNE_EVERY_MS} has passed. Safe to run twice.
	 */
	override async alarm(): Promise<void> {
		const stepped = this.#tasks.runDue(Date.now());
		if (stepped === 0 || Date.now() - this.#prunedAt >= PRUNE_EVERY_MS) {
			const pruned = this.#atomically(() => {
				new HandleStore(this.ctx.storage.sql).prune();
				this.#sessions.prune(Date.now());
				this.#tasks.prune(Date.now());
				pruneWatchers(this.ctx.storage.sql, Date.now() - this.#limits.sessionTtlMs);
				this.#revoked.prune(Date.now());
				pruneRefusalWindows(this.ctx.storage.sql, Date.now());
				pruneSignIns(this.ctx.storage.sql, Date.now());
				return this.#audit.prune(Date.now() - this.#limits.retentionMs);
			});
			this.#prunedAt = Date.now();
			if (pruned > 0) log("info", "audit.pruned", { rows: pruned });
		}
		const next = this.#tasks.nextRunAt();
		await this.ctx.storage.setAlarm(Math.min(this.#prunedAt + PRUNE_EVERY_MS, next ?? Number.POSITIVE_INFINITY));
	}

	/** A task of the caller, or null (unknown, expired, another principal's). */
	async getTask(principalIn: VerifiedPrincipal, taskId: string): Promise<TaskView | null> {
		const principal = this.#mine(checked(principalIn));
		return principal ? this.#tasks.get(principal, String(taskId), Date.now()) : null;
	}

	/** Answers a task's pending input requests; it resumes when none is left. */
	async updateTask(principalIn: VerifiedPrincipal, taskId: string, responses: Record<string, unknown>): Promise<TaskView | null> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return null;
		const given = responses !== null && typeof responses === "object" && !Array.isArray(responses) ? responses : {};
		const view = this.#tasks.update(principal, String(taskId), given, Date.now());
		if (view?.status === "working") await this.#armTasks();
		return view;
	}

	/** Cancels a task of the caller unless it has finished. */
	async cancelTask(principalIn: VerifiedPrincipal, taskId: string): Promise<TaskView | null> {
		const principal = this.#mine(checked(principalIn));
		return principal ? this.#tasks.cancel(principal, String(taskId), Date.now()) : null;
	}

	/** The caller's tasks, newest first. */
	async listTasks(principalIn: VerifiedPrincipal, cursor?: string): Promise<TaskPage> {
		const principal = this.#mine(checked(principalIn));
		return principal ? this.#tasks.list(principal, typeof cursor === "string" ? cursor : undefined, Date.now()) : { tasks: [] };
	}

	/** Registers a new API key's metadata (the key itself is never sent here). */
	async registerApiKey(actor: AuthSubject, key: Omit<ApiKeyInfo, "lastUsedAt" | "revokedAt">): Promise<void> {
		this.#atomically(() => {
			insertKey(this.ctx.storage.sql, key);
			this.#audit.append(this.#authRow(actor, "auth/api_key_created", "allowed", `key_${key.keyId} scopes:${key.scopes.join(" ")}`));
		});
		this.#ensureAlarm();
	}

	/** Revokes an API key at once (the kernel refuses it from the next call on). */
	async revokeApiKey(actor: AuthSubject, keyId: string): Promise<boolean> {
		const owner = this.ctx.storage.sql
			.exec<{ created_by: string }>("SELECT created_by FROM api_keys WHERE key_id = ?", keyId)
			.toArray()[0]?.created_by;
		const { done, sessions } = this.#atomically(() => {
			const done = markRevoked(this.ctx.storage.sql, keyId, Date.now());
			if (done) this.#audit.append(this.#authRow(actor, "auth/api_key_revoked", "allowed", `key_${keyId}`));
			// The key's sessions end at once, freeing their slots, and their streams close (sessions.ts).
			return { done, sessions: done && owner ? this.#sessions.takeSessionsOf({ userId: owner, clientId: `key_${keyId}` }) : [] };
		});
		if (sessions.length && owner) {
			const tenantId = this.ctx.id.name ?? actor.tenantId;
			try {
				await this.#endSessions(receiveOwner({ tenantId, userId: owner, clientId: `key_${keyId}` }), sessions);
			} catch {
				// An owner id that is not a principal id cannot own sessions; nothing to close.
			}
		}
		return done;
	}

	/** The tenant's API keys, newest first. */
	async listApiKeys(): Promise<ApiKeyInfo[]> {
		return listKeys(this.ctx.storage.sql);
	}

	/** Operator: suspends or reactivates the tenant. */
	async setSuspended(actor: AuthSubject, suspended: boolean): Promise<void> {
		this.#suspended = undefined;
		this.#atomically(() => {
			setSuspendedFlag(this.ctx.storage.sql, suspended);
			this.#audit.append(this.#authRow(actor, suspended ? "admin/suspend" : "admin/reactivate", "allowed", "ok"));
		});
		this.#suspended = suspended;
	}

	/** Authorises a hosted tool call (objects/tenant/app-calls.ts). */
	async beginAppCall(principalIn: VerifiedPrincipal, call: ToolCall): Promise<Result<AppCallBegun, Failure>> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return err({ reason: "internal", where: "kernel", detail: "invalid principal" });
		const r = this.#apps.begin(principal, call);
		// A hosted task: the alarm looks again at its deadline, in case its run never reports.
		if (r.ok && r.value.kind === "run" && r.value.task) await this.#armTasks();
		this.#ensureAlarm();
		return r;
	}

	/** The modules of a live call's version, hash checked. */
	async appCode(principalIn: VerifiedPrincipal, ticketId: string): Promise<Result<{ modules: Record<string, string> }, Failure>> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return err({ reason: "internal", where: "kernel", detail: "invalid principal" });
		return this.#apps.code(principal, ticketId);
	}

	/** One storage operation of a live hosted call. */
	async appStorage(principalIn: VerifiedPrincipal, ticketId: string, op: StorageOp): Promise<StorageAnswer> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return { ok: false, error: "storage is not available" };
		return this.#apps.storage(principal, ticketId, op);
	}

	/** Audits a finished hosted call. */
	async finishAppCall(principalIn: VerifiedPrincipal, ticket: AppCallTicket, report: AppCallReport): Promise<void> {
		const principal = this.#mine(checked(principalIn));
		if (!principal) return;
		this.#apps.finish(principal, ticket, report);
	}

	/** Appends captured console lines of an app (redacted by the front Worker's tail). */
	async appendAppLogs(app: string, lines: AppLogLine[]): Promise<void> {
		this.#apps.appendLogs(app, lines);
	}

	/** The newest lines of an app's log. */
	async readAppLogs(app: string, limit: number): Promise<AppLogLine[]> {
		return this.#apps.readLogs(app, limit);
	}

	/** The tenant's hosted tools. */
	async hostedTools(): Promise<HostedCatalog> {
		return this.#apps.catalog();
	}

	/** Enters or leaves a session that is told when the tool list changes. */
	async watchTools(whoIn: VerifiedPrincipal | SessionOwner, sessionId: string, on: boolean): Promise<void> {
		const principal = this.#mine(checkedOwner(whoIn));
		if (!principal) return;
		watch(this.ctx.storage.sql, principal.userId, String(sessionId).slice(0, 200), on, Date.now());
	}

	/**
	 * The tool list changed (an app deployed, rolled back or removed): open 2025-era sessions are
	 * told with `notifications/tools/list_changed`. Call after the change committed.
	 */
	#toolsChanged(): void {
		this.ctx.waitUntil(announceToolsChanged(this.ctx.storage.sql, this.env).then(() => undefined));
	}

	// Apps: deploy, versions, secrets (objects/tenant/apps.ts). The front Worker checks, guards and
	// dry-loads a bundle (worker/apps/deploy.ts); the kernel re-verifies and stores it, and audits.

	/** Stores a version (re-verified: manifest, sizes, guard, content hash) and makes it active. */
	async deployApp(actor: AuthSubject, bundle: StoredBundle): Promise<Result<DeployOutcome, AppRefusal>> {
		const app = String((bundle as { manifest?: { name?: unknown } } | null)?.manifest?.name ?? "?").slice(0, 32);
		const refused = this.#appActorRefusal(actor) ?? checkStoredBundle(bundle, { allowLoopback: onLoopback(this.env.SMCP_PUBLIC_ORIGIN) });
		if (refused) return this.#appRefused(actor, "app/deploy", app, refused);
		const { manifest, modules, hash } = bundle;
		if (!(await verifyBundleHash({ manifest, modules }, hash)))
			return this.#appRefused(actor, "app/deploy", app, {
				reason: "hash_mismatch",
				message: "the bundle does not match its content hash: deploy it again",
			});
		const stored = readVersion(this.ctx.storage.sql, manifest.name, hash);
		// An identical deploy over a stored copy that no longer matches its hash replaces that copy.
		const damaged = stored !== null && !(await verifyStored(stored, hash));
		const r = this.#atomically(() => {
			if (damaged) this.ctx.storage.sql.exec("DELETE FROM app_versions WHERE app = ? AND hash = ?", manifest.name, hash);
			return deployVersion(this.ctx.storage.sql, this.#appNote(actor), `${actor.userId} via ${actor.clientId}`, bundle, Date.now());
		});
		if (!r.ok) return this.#appRefused(actor, "app/deploy", app, r.error);
		if (r.value.activated) this.#toolsChanged();
		this.#ensureAlarm();
		return r;
	}

	/** The tenant's apps and their active versions. */
	async listApps(): Promise<AppSummary[]> {
		return listApps(this.ctx.storage.sql);
	}

	/** An app's stored versions, newest first. */
	async appVersions(app: string): Promise<Result<AppVersionInfo[], AppRefusal>> {
		const versions = isAppName(app) ? listVersions(this.ctx.storage.sql, app) : null;
		return versions
			? ok(versions)
			: err({ reason: "unknown_app", message: `there is no app ${String(app).slice(0, 32)} in this workspace` });
	}

	/** Makes a stored version active (roll back or promote), after checking it still matches its hash. */
	async activateApp(
		actor: AuthSubject,
		app: string,
		hash: string,
	): Promise<Result<{ app: string; hash: string; version: string; changed: boolean }, AppRefusal>> {
		const refused = this.#appActorRefusal(actor);
		if (refused) return this.#appRefused(actor, "app/activate", app, refused);
		if (!isAppName(app) || !isVersionHash(hash))
			return this.#appRefused(actor, "app/activate", app, {
				reason: "unknown_version",
				message: "give an app name and a 64-hex version hash",
			});
		const stored = readVersion(this.ctx.storage.sql, app, hash);
		if (stored && !(await verifyStored(stored, hash)))
			return this.#appRefused(actor, "app/activate", app, {
				reason: "hash_mismatch",
				message: `the stored version ${hash.slice(0, 12)} no longer matches its hash and is refused: deploy the app again`,
			});
		const r = this.#atomically(() => activateVersion(this.ctx.storage.sql, this.#appNote(actor), app, hash, Date.now()));
		if (!r.ok) return this.#appRefused(actor, "app/activate", app, r.error);
		if (r.value.changed) this.#toolsChanged();
		this.#ensureAlarm();
		return r;
	}

	/** Removes an app with its versions, storage and log. */
	async removeApp(actor: AuthSubject, app: string): Promise<Result<{ app: string; versions: number }, AppRefusal>> {
		const refused =
			this.#appActorRefusal(actor) ??
			(isAppName(app) ? null : { reason: "unknown_app" as const, message: "not an app name: smcp apps list shows them" });
		if (refused) return this.#appRefused(actor, "app/remove", app, refused);
		const r = this.#atomically(() => removeApp(this.ctx.storage.sql, this.#appNote(actor), app));
		if (!r.ok) return this.#appRefused(actor, "app/remove", app, r.error);
		this.#toolsChanged();
		this.#ensureAlarm();
		return r;
	}

	/** Stores a sealed tenant secret (sealed by the front Worker; the kernel never sees the value). */
	async setSecret(actor: AuthSubject, name: string, sealed: SealedValue): Promise<Result<SecretInfo, AppRefusal>> {
		const refused = this.#appActorRefusal(actor);
		if (refused) return this.#appRefused(actor, "app/secret_set", "-", refused);
		const r = this.#atomically(() => putSecret(this.ctx.storage.sql, this.#appNote(actor), name, sealed, Date.now()));
		if (!r.ok) return this.#appRefused(actor, "app/secret_set", "-", r.error);
		this.#ensureAlarm();
		return r;
	}

	/** Deletes a tenant secret. */
	async deleteSecret(actor: AuthSubject, name: string): Promise<Result<{ name: string }, AppRefusal>> {
		const refused = this.#appActorRefusal(actor);
		if (refused) return this.#appRefused(actor, "app/secret_deleted", "-", refused);
		const r = this.#atomically(() => dropSecret(this.ctx.storage.sql, this.#appNote(actor), name));
		if (!r.ok) return this.#appRefused(actor, "app/secret_deleted", "-", r.error);
		this.#ensureAlarm();
		return r;
	}

	/** The tenant's secrets: name and last change only. */
	async listSecrets(): Promise<SecretInfo[]> {
		return listSecretNames(this.ctx.storage.sql);
	}

	/** Refuses an app-management actor of another tenant, or an API key that is revoked, expired or of a suspended tenant. */
	#appActorRefusal(actor: AuthSubject): AppRefusal | null {
		// The actor as a scope-less owner: app management is authorised by the caller's route, not by scopes here.
		const p = this.#mine(checkedOwner(actor));
		if (!p) return { reason: "not_allowed", message: "not allowed in this workspace" };
		if (!p.clientId.startsWith("key_")) return null;
		const refusal = this.#credentialRefusal(p, Date.now());
		return refusal ? { reason: "not_allowed", message: refusal.message } : null;
	}

	/**
	 * Operator: deletes the tenant's data (see {@link TenantKernel.destroy}). Every live session is
	 * ended first (its SessionObject forgets its state), then `deleteAll()` removes every table,
	 * row and alarm. The object then re-creates its empty schema with only the suspension flag set,
	 * so a credential another isolate still trusts for a few seconds finds an empty, refusing
	 * tenant instead of starting a new one. The event is not audited here: the trail is gone with
	 * the rest (the front Worker logs it and audits it where the actor still has a trail).
	 */
	async destroy(actor: AuthSubject): Promise<{ sessionsEnded: number }> {
		const tenantId = this.ctx.id.name ?? actor.tenantId;
		this.#suspended = true;
		const live = this.ctx.storage.transactionSync(() => {
			setSuspendedFlag(this.ctx.storage.sql, true);
			return this.#sessions.takeAll();
		});
		let sessionsEnded = 0;
		for (const s of live) {
			try {
				const owner = receiveOwner({ tenantId, userId: s.user_id, clientId: s.client_id });
				sessionsEnded += await this.#endSessions(owner, [s.session_id]);
			} catch {
				// A row without a principal-shaped owner has no SessionObject to end.
			}
		}
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
		this.#buckets.clear();
		this.#sessions.forget();
		this.#revoked.forget();
		this.#apps = this.#newAppCalls();
		this.#alarmSet = false;
		migrate(this.ctx.storage, TENANT_MIGRATIONS);
		this.ctx.storage.transactionSync(() => {
			new MemoryStore(this.ctx.storage.sql).rebuildSearchIfDue();
			setSuspendedFlag(this.ctx.storage.sql, true);
		});
		this.#suspended = true;
		log("warn", "kernel.destroyed", { tenant: tenantId, actor: actor.userId, sessions: live.length });
		return { sessionsEnded };
	}

	#newAppCalls(): AppCalls {
		return new AppCalls({
			sql: this.ctx.storage.sql,
			limits: this.#limits,
			buckets: this.#buckets,
			audit: this.#audit,
			sessions: this.#sessions,
			tasks: this.#tasks,
			credentialRefusal: (p, now) => this.#credentialRefusal(p, now),
			admit: (p, row, decision, outcome, started) => this.#admit(p, row, decision, outcome, started),
			atomically: (fn) => this.#atomically(fn),
		});
	}

	/** The audit writer handed to objects/tenant/apps.ts (inside the caller's transaction). */
	#appNote(actor: AuthSubject): AuditNote {
		return (method, outcome) => this.#audit.append(this.#authRow(actor, method, "allowed", outcome));
	}

	/** Audits a refused app-management call (reason and app only) and returns the refusal. */
	#appRefused(actor: AuthSubject, method: string, app: string, refusal: AppRefusal): Result<never, AppRefusal> {
		try {
			const who = receiveOwner(actor);
			if (this.#mine(who)) this.#write(this.#authRow(actor, method, "denied", `${refusal.reason}: ${String(app).slice(0, 32)}`));
		} catch {
			// A malformed actor is refused without a row: there is nobody to attribute it to.
		}
		return err(refusal);
	}

	/** Newest audit rows. */
	async recentAudit(limit: number): Promise<AuditRow[]> {
		return this.#audit.query({ limit: Math.min(Math.max(1, limit), 100) }).rows;
	}

	/**
	 * The principal, when it belongs to this tenant. Objects are named by tenant id; a principal of
	 * another tenant here is a routing bug, refused rather than run against the wrong storage.
	 */
	#mine<P extends VerifiedPrincipal | SessionOwner>(p: P | null): P | null {
		if (!p) return null;
		const name = this.ctx.id.name;
		if (name !== undefined && name !== p.tenantId) {
			log("error", "kernel.wrong_tenant", { tenant: p.tenantId });
			return null;
		}
		return p;
	}

	/**
	 * Why `p` may not enter the kernel: a suspended tenant, a revoked or expired key (a key in use
	 * has its last use recorded), or a grant recorded as revoked (revocations.ts).
	 */
	#credentialRefusal(p: VerifiedPrincipal | SessionOwner, now: number): { reason: string; message: string } | null {
		if ("grantId" in p && p.grantId && this.#revoked.has(p.grantId))
			return { reason: "grant_revoked", message: "This app's access was revoked. Connect it again to continue." };
		return credentialRefusal(this.ctx.storage.sql, p, now, this.#isSuspended());
	}

	/**
	 * The admission of an audited request that runs no tool: the credential must stand and the
	 * caller's request budget pays. Allowed: `row` is written as `decision`/`outcome` and null is
	 * returned. Refused: an aggregated refusal row (budget.ts) and the refusal.
	 */
	#admit(p: VerifiedPrincipal, row: AuditInput, decision: Decision, outcome: string, started: number): Refusal | null {
		return this.#atomically(() => {
			const refusal = this.#credentialRefusal(p, started);
			if (refusal) {
				this.#refusalRow(p, { ...row, decision: "denied", outcome: refusal.reason });
				return { reason: "credential_inactive", message: refusal.message } as const;
			}
			const budget = takeCallBudget(this.ctx.storage.sql, this.#limits, p, "request", started, this.#buckets);
			if (!budget.allowed) {
				this.#refusalRow(p, { ...row, decision: "rate_limited", outcome: `retry_after:${budget.retryAfterSeconds}s` });
				return { reason: "rate_limited", retryAfterSeconds: budget.retryAfterSeconds } as const;
			}
			if (decision === "allowed") this.#audit.append({ ...row, decision, outcome });
			else this.#refusalRow(p, { ...row, decision, outcome });
			return null;
		});
	}

	/** Writes a refusal's audit row unless one of its kind was written this window (budget.ts). */
	#refusalRow(p: VerifiedPrincipal, row: AuditInput): void {
		const kind = `${row.method}|${row.decision}|${row.outcome.split(":")[0]}`;
		const suppressed = refusalRowDue(this.ctx.storage.sql, p, kind, Date.now());
		if (suppressed !== null) this.#audit.append({ ...row, outcome: aggregatedOutcome(row.outcome, suppressed) });
	}

	/** Closes the open streams of `owner`'s sessions (their slots are already free); how many held state. */
	async #endSessions(owner: SessionOwner, sessionIds: string[]): Promise<number> {
		const ended = await Promise.allSettled(sessionIds.map((id) => sessionStub(this.env, id).end(owner, id)));
		const closed = ended.filter((r) => r.status === "fulfilled" && r.value === true).length;
		if (sessionIds.length)
			log("info", "kernel.sessions_ended", { tenant: owner.tenantId, user: owner.userId, sessions: sessionIds.length, closed });
		return closed;
	}

	/**
	 * The suspension flag, read once per object instance: this object is its only writer
	 * (`setSuspended`), which updates the copy after its transaction commits.
	 */
	#isSuspended(): boolean {
		this.#suspended ??= readSuspended(this.ctx.storage.sql);
		return this.#suspended;
	}

	#authRow(actor: AuthSubject, method: string, decision: Decision, outcome: string): AuditInput {
		return {
			tenant: actor.tenantId,
			user: actor.userId,
			client: actor.clientId,
			session: null,
			lane: "admin",
			protocol: "-",
			method,
			decision,
			outcome,
			durationMs: 0,
			trace: "admin",
		};
	}

	/**
	 * Destructive calls need the person's confirmation: through elicitation (the lane says so, and
	 * a 2026-07-28 confirmation's nonce is spent once, with the change it confirms), or, for clients that cannot ask, an
	 * explicit `confirm: true` the model passes after asking in the conversation.
	 */
	#confirmationRefusal(
		tool: ToolDefinition,
		args: Record<string, unknown>,
		call: ToolCall,
		now: number,
	): { reason: string; message: string } | null {
		const question = tool.confirm?.(args as never);
		if (!question) return null;
		const c = call.confirmation;
		if (!c) {
			if (args.confirm === true) return null;
			return {
				reason: "confirmation_required",
				message: `${question} Nothing was changed. Ask the user; if they agree, call ${tool.name} again with "confirm": true.`,
			};
		}
		if (!c.nonce) return null;
		const sql = this.ctx.storage.sql;
		sql.exec("DELETE FROM used_confirmations WHERE expires_at < ?", now);
		// Checked here, spent in the handler's own transaction (with no await in between, so no
		// other request can interleave): a handler that fails leaves the confirmation unspent.
		if (sql.exec("SELECT 1 FROM used_confirmations WHERE nonce = ?", c.nonce).toArray().length > 0) {
			return {
				reason: "confirmation_replayed",
				message: "This confirmation was already used. Nothing was changed; call the tool again to be asked anew.",
			};
		}
		return null;
	}

	#row(
		p: VerifiedPrincipal | SessionOwner,
		c: { lane: string; protocolVersion: string; traceId: string; sessionId?: string },
		started: number,
	): AuditInput & { method: string } {
		return {
			ts: started,
			tenant: p.tenantId,
			user: p.userId,
			client: p.clientId,
			session: c.sessionId ? c.sessionId.slice(0, 12) : null,
			lane: c.lane,
			protocol: c.protocolVersion,
			method: "tools/call",
			decision: "allowed",
			outcome: "",
			durationMs: 0,
			trace: c.traceId,
		};
	}

	#requestRow(p: VerifiedPrincipal | SessionOwner, r: RequestRecord): AuditInput {
		return {
			...this.#row(p, { lane: r.lane, protocolVersion: r.protocolVersion, traceId: r.traceId, sessionId: r.sessionId }, Date.now()),
			method: r.method,
			tool: r.tool ?? null,
			decision: r.decision,
			outcome: r.outcome,
			durationMs: r.durationMs,
		};
	}

	/**
	 * A transaction whose failure also drops the in-memory copies (buckets, sessions, the audit
	 * chain's head) its writes updated. Every transaction of the kernel goes through here.
	 */
	#atomically<T>(fn: () => T): T {
		try {
			return this.ctx.storage.transactionSync(fn);
		} catch (e) {
			this.#buckets.clear();
			this.#sessions.forget();
			this.#revoked.forget();
			this.#audit.forget();
			throw e;
		}
	}

	/** A savepoint inside the current transaction; its failure also drops the audit head it may have moved. */
	#savepoint<T>(fn: () => T): T {
		try {
			return this.ctx.storage.transactionSync(fn);
		} catch (e) {
			this.#audit.forget();
			throw e;
		}
	}

	#write(input: AuditInput): void {
		this.#atomically(() => this.#audit.append(input));
	}

	/** Brings the alarm forward to the next due task step (never pushes it back). */
	async #armTasks(): Promise<void> {
		const next = this.#tasks.nextRunAt();
		if (next === null) return;
		const at = await this.ctx.storage.getAlarm();
		if (at === null || at > next) await this.ctx.storage.setAlarm(next);
		this.#alarmSet = true;
	}

	#ensureAlarm(): void {
		if (this.#alarmSet) return;
		this.#alarmSet = true;
		void this.ctx.storage.getAlarm().then((at) => (at === null ? this.ctx.storage.setAlarm(Date.now() + PRUNE_EVERY_MS) : undefined));
	}
}

/** Whether the deployment's origin is a loopback one (a local benchmark, never a deployment). */
function onLoopback(origin: string | undefined): boolean {
	try {
		return isLoopbackHost(new URL(origin ?? "").hostname);
	} catch {
		return false;
	}
}

/** Whether a stored version still matches its content hash. */
function verifyStored(stored: { manifest: unknown; modules: Record<string, string> }, hash: string): Promise<boolean> {
	return verifyBundleHash(stored as { manifest: unknown; modules: Record<string, string> }, hash).catch(() => false);
}

/** The principal, re-validated after the RPC hop; null (and a log line) when malformed. */
function checked(p: unknown): VerifiedPrincipal | null {
	try {
		return receivePrincipal(p);
	} catch {
		// A malformed handoff is a caller bug; refuse without running anything.
		log("error", "kernel.invalid_principal", {});
		return null;
	}
}

/** Whose session: the caller or a session's owner, re-validated after the RPC hop (scopes dropped). */
function checkedOwner(p: unknown): SessionOwner | null {
	try {
		return receiveOwner(p);
	} catch {
		log("error", "kernel.invalid_principal", {});
		return null;
	}
}

function safeArgs(tool: ToolDefinition, args: Record<string, unknown> | undefined): string | null {
	if (!tool.logSafe?.length || !args) return null;
	const kept: Record<string, unknown> = {};
	for (const k of tool.logSafe) if (args[k] !== undefined) kept[k] = args[k];
	return Object.keys(kept).length ? JSON.stringify(kept) : null;
}
