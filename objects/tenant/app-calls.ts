/**
 * @module objects/tenant/app-calls
 * The kernel's half of a hosted tool call (docs/apps.md "Execution"). The front Worker runs the
 * tenant's code (only it may start isolates: the platform allows 4 distinct dynamic isolates in
 * flight per Worker request, 10 per Durable Object); the kernel decides and records:
 *
 *   beginAppCall: the active version → scope (refusal audited `denied`) → suspension and API key
 *   → the same rate-limit buckets as built-in tools → the arguments against the manifest's input
 *   JSON Schema, before the isolate sees them → a ticket, the manifest and the sealed secrets it
 *   names. A refusal is audited here and answered as the call's outcome.
 *   appCode: the version's modules, for a cold isolate, after checking their content hash.
 *   appStorage: `ctx.storage` of the app, scoped to (tenant, app), only under a live ticket,
 *   within `limits.storageBytes`.
 *   finishAppCall: the audit row with the outcome and the call's outbound requests.
 *
 * A call of a tool whose manifest says `task: "optional"` or `"required"`, from a client that
 * asked for a task, is stored as a durable task (objects/tenant/tasks.ts) in the transaction that
 * authorised it, with its `created->working` row; the Worker answers the client with the task and
 * runs the code after; `finishAppCall` ends the task (`working->completed|failed`, one row with
 * the outcome and the outbound requests). A task-required tool called inline is refused
 * (`task_required`) before anything runs; like an unknown tool or a missing scope it pays from the
 * request budget and its refusal rows aggregate (one per kind, caller and minute).
 *
 * Tickets live in memory: a kernel evicted mid-call refuses that call's storage operations (the
 * tool sees an error) and still writes its row when the Worker finishes it.
 */
import { errorOutcome, rateLimitedOutcome, refusalOutcome } from "./refusals";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { verifyBundleHash } from "../../shared/apps/bundle";
import { parseHostedToolName, type AppManifest } from "../../shared/apps/manifest";
import type { SealedSecret } from "../../shared/apps/secrets-crypto";
import type { StorageAnswer, StorageOp } from "../../shared/apps/runner";
import { digest, type AuditInput, type AuditStore, type Decision } from "../../shared/audit/store";
import { err, ok, type Failure, type Result } from "../../shared/errors";
import type { AppCallReport, AppCallTicket, AppLogLine, HostedCatalog, HostedToolEntry, RefusalOutcome } from "../../shared/rpc/apps";
import type { AppCallBegun, Refusal, TaskView, ToolCall } from "../../shared/rpc/kernel";
import { hasScope, type VerifiedPrincipal } from "../../shared/rpc/principal";
import { sha256Hex } from "../../shared/sha256";
import { utf8Length } from "../../shared/utf8";
import type { BucketState } from "../../shared/rate-limit";
import { takeCallBudget, type Limits } from "./limits";
import type { SessionRegistry } from "./sessions";
import type { TaskStore } from "./tasks";
import { log } from "../../shared/log";

/** Longest storage key, in characters. */
export const MAX_STORAGE_KEY = 512;
/** Most lines kept in an app's log (older lines are dropped as new ones arrive). */
export const MAX_APP_LOG_LINES = 1000;
/** Longest kept log line, in characters. */
export const MAX_APP_LOG_MESSAGE = 2000;
/** How long after its start a ticket is honoured beyond the app's own timeout. */
const TICKET_GRACE_MS = 30_000;

/** What the kernel lends this module: its storage, buckets, audit and checks. */
export interface KernelParts {
	sql: SqlStorage;
	limits: Limits;
	buckets: Map<string, BucketState>;
	audit: AuditStore;
	sessions: SessionRegistry;
	tasks: TaskStore;
	credentialRefusal(p: VerifiedPrincipal, now: number): { reason: string; message: string } | null;
	/**
	 * Admits a request that runs no tool (an unknown tool, a missing scope): the credential must
	 * stand and the request budget pays; refusals write aggregated rows. The kernel's `#admit`.
	 */
	admit(p: VerifiedPrincipal, row: AuditInput, decision: Decision, outcome: string, started: number): Refusal | null;
	atomically<T>(fn: () => T): T;
}

interface LiveTicket extends AppCallTicket {
	user: string;
	client: string;
	expires: number;
	row: AuditInput;
	storageBytes: number;
}

interface Version {
	manifest: AppManifest;
	validators: Map<string, (input: unknown) => { valid: boolean; errorMessage?: string }>;
}

/** The hosted-call half of the kernel. One per TenantObject instance. */
export class AppCalls {
	readonly #k: KernelParts;
	readonly #tickets = new Map<string, LiveTicket>();
	/** Parsed manifests and compiled validators by `app@hash` (versions are immutable). */
	readonly #versions = new Map<string, Version>();
	readonly #schemas = new CfWorkerJsonSchemaValidator({ shortcircuit: false });

	constructor(parts: KernelParts) {
		this.#k = parts;
	}

	/** Authorises one hosted call (see the module note). */
	begin(principal: VerifiedPrincipal, call: ToolCall): Result<AppCallBegun, Failure> {
		const k = this.#k;
		const started = Date.now();
		if (call.registered) {
			const session = call.sessionId ? k.sessions.find(principal, call.sessionId, started, "touch") : null;
			// A revoked credential's sessions ended with it: its call goes on to be refused (and audited) as revoked.
			if (session) call = { ...call, protocolVersion: session.protocolVersion };
			else if (!k.credentialRefusal(principal, started)) return err({ reason: "unknown_session" });
		}
		const name = String(call.name).slice(0, 64);
		const base: AuditInput = {
			ts: started,
			tenant: principal.tenantId,
			user: principal.userId,
			client: principal.clientId,
			session: call.sessionId ? call.sessionId.slice(0, 12) : null,
			lane: call.lane,
			protocol: call.protocolVersion,
			method: "tools/call",
			tool: name,
			decision: "allowed",
			outcome: "",
			durationMs: 0,
			trace: call.traceId,
		};
		const parsed = parseHostedToolName(name);
		const active = parsed ? this.#active(parsed.app) : null;
		const tool = active?.version.manifest.tools.find((t) => t.name === parsed?.tool);
		// Refused before anything runs, like a built-in call: the credential and the request budget first.
		if (!parsed || !active || !tool) {
			const refused = k.admit(principal, base, "error", "unknown_tool", started);
			if (refused) return ok({ kind: "done", outcome: refusalOutcome(refused) });
			return err({ reason: "unknown_tool", tool: name });
		}
		const row: AuditInput = { ...base, argsDigest: digest(call.arguments ?? {}) };
		if (!hasScope(principal.scopes, tool.scope)) {
			const refused = k.admit(principal, row, "denied", `insufficient_scope:${tool.scope}`, started);
			if (refused) return ok({ kind: "done", outcome: refusalOutcome(refused) });
			return err({ reason: "insufficient_scope", tool: name, needed: tool.scope });
		}
		const support = tool.task === "optional" || tool.task === "required" ? tool.task : undefined;
		const asTask = call.task !== undefined && support !== undefined;
		if (support === "required" && !asTask) {
			// Nothing runs, but the request budget pays and the rows aggregate, as for the refusals above.
			const refused = k.admit(principal, row, "denied", "task_required", started);
			if (refused) return ok({ kind: "done", outcome: refusalOutcome(refused) });
			return err({ reason: "task_required", tool: name });
		}
		const manifest = active.version.manifest;
		const deadline = started + manifest.limits.timeoutMs + TICKET_GRACE_MS;
		let task: TaskView | undefined;
		const refusal = k.atomically((): RefusalOutcome | null => {
			const credential = k.credentialRefusal(principal, started);
			if (credential) {
				k.audit.append({ ...row, decision: "denied", outcome: credential.reason, durationMs: Date.now() - started });
				return errorOutcome(credential.message);
			}
			const rateClass = tool.scope === "mcp:write" ? "write" : "read";
			const budget = takeCallBudget(k.sql, k.limits, principal, rateClass, started, k.buckets);
			if (!budget.allowed) {
				k.audit.append({
					...row,
					decision: "rate_limited",
					outcome: `retry_after:${budget.retryAfterSeconds}s`,
					durationMs: Date.now() - started,
				});
				return rateLimitedOutcome(budget.retryAfterSeconds);
			}
			const problem = this.#validate(active.version, tool.name, tool.inputSchema, call.arguments ?? {});
			if (problem) {
				// MCP 2025-11-25 §tools "Error Handling": input validation failures are tool execution errors.
				k.audit.append({ ...row, decision: "error", outcome: "invalid_arguments", durationMs: Date.now() - started });
				return errorOutcome(`Invalid arguments for tool ${name}: ${problem}`);
			}
			if (asTask) {
				const full = k.tasks.ceiling(principal);
				if (full) {
					k.audit.append({ ...row, decision: "rate_limited", outcome: "task_ceiling", durationMs: Date.now() - started });
					return errorOutcome(full);
				}
				// Authorised and stored with its row in one transaction; the Worker runs it after answering.
				task = k.tasks.create(principal, { name }, call.arguments ?? {}, call, row, started, { deadline });
			}
			return null;
		});
		if (refusal) return ok({ kind: "done", outcome: refusal });
		this.#expire(started);
		const ticket: AppCallTicket = {
			id: crypto.randomUUID(),
			app: parsed.app,
			tool: tool.name,
			hash: active.hash,
			name,
			started,
			...(task ? { taskId: task.taskId } : {}),
		};
		this.#tickets.set(ticket.id, {
			...ticket,
			user: principal.userId,
			client: principal.clientId,
			expires: deadline,
			row,
			storageBytes: manifest.limits.storageBytes,
		});
		const secrets: Record<string, SealedSecret> = {};
		if (manifest.secrets.length > 0) {
			const rows = k.sql.exec<{ name: string; kid: string; iv: string; ct: string }>("SELECT name, kid, iv, ct FROM app_secrets").toArray();
			for (const r of rows) if (manifest.secrets.includes(r.name)) secrets[r.name] = { kid: r.kid, iv: r.iv, ct: r.ct };
		}
		return ok({ kind: "run", ticket, manifest, secrets, ...(task ? { task } : {}) });
	}

	/** The modules of a ticket's version, for a cold isolate; refused when they no longer match their hash. */
	async code(principal: VerifiedPrincipal, ticketId: string): Promise<Result<{ modules: Record<string, string> }, Failure>> {
		const t = this.#ticket(principal, ticketId);
		if (!t) return err({ reason: "internal", where: "app-code", detail: "no live ticket" });
		const row = this.#k.sql
			.exec<{ manifest: string; modules: string }>("SELECT manifest, modules FROM app_versions WHERE app = ? AND hash = ?", t.app, t.hash)
			.toArray()[0];
		if (!row) return err({ reason: "internal", where: "app-code", detail: "version gone" });
		const modules = JSON.parse(row.modules) as Record<string, string>;
		// The stored bundle must still be the one deployed: a row changed behind the kernel's back is refused.
		if (!(await verifyBundleHash({ manifest: JSON.parse(row.manifest), modules }, t.hash))) {
			return err({ reason: "internal", where: "app-code", detail: "bundle does not match its hash" });
		}
		return ok({ modules });
	}

	/** One storage operation of a live call, scoped to its app. */
	storage(principal: VerifiedPrincipal, ticketId: string, op: StorageOp): StorageAnswer {
		const t = this.#ticket(principal, ticketId);
		if (!t) return { ok: false, error: "storage is available only while the tool call runs" };
		const sql = this.#k.sql;
		switch (op.op) {
			case "get": {
				if (!validKey(op.key)) return badKey();
				const row = sql.exec<{ value: string }>("SELECT value FROM app_kv WHERE app = ? AND key = ?", t.app, op.key).toArray()[0];
				return { ok: true, value: row?.value ?? null };
			}
			case "put": {
				if (!validKey(op.key)) return badKey();
				if (typeof op.value !== "string") return { ok: false, error: "storage.put: the value must be JSON" };
				const bytes = utf8Length(op.key) + utf8Length(op.value);
				return this.#k.atomically((): StorageAnswer => {
					const used = sql
						.exec<{ n: number }>("SELECT COALESCE(SUM(bytes), 0) AS n FROM app_kv WHERE app = ? AND key <> ?", t.app, op.key)
						.one().n;
					if (used + bytes > t.storageBytes) {
						return {
							ok: false,
							error: `storage quota exceeded: ${used + bytes} of ${t.storageBytes} bytes (limits.storageBytes); delete keys first`,
						};
					}
					sql.exec("INSERT OR REPLACE INTO app_kv (app, key, value, bytes) VALUES (?, ?, ?, ?)", t.app, op.key, op.value, bytes);
					return { ok: true, value: true };
				});
			}
			case "delete": {
				if (!validKey(op.key)) return badKey();
				const n = sql.exec("DELETE FROM app_kv WHERE app = ? AND key = ?", t.app, op.key).rowsWritten;
				return { ok: true, value: n > 0 };
			}
			case "list": {
				const prefix = String(op.prefix ?? "").slice(0, MAX_STORAGE_KEY);
				const keys = sql
					.exec<{ key: string }>(
						"SELECT key FROM app_kv WHERE app = ? AND substr(key, 1, ?) = ? ORDER BY key LIMIT 1000",
						t.app,
						prefix.length,
						prefix,
					)
					.toArray()
					.map((r) => r.key);
				return { ok: true, value: keys };
			}
			default:
				return { ok: false, error: "unknown storage operation" };
		}
	}

	/** Writes a finished call's audit row (or ends its task, with the transition's row) and ends its ticket. */
	finish(principal: VerifiedPrincipal, ticket: AppCallTicket, report: AppCallReport): void {
		const live = this.#tickets.get(ticket.id);
		this.#tickets.delete(ticket.id);
		// The task a live ticket names; after an eviction, the one the Worker names (bound to the caller by the store).
		const taskId = live ? live.taskId : typeof ticket.taskId === "string" ? ticket.taskId : undefined;
		if (taskId) {
			this.#finishTask(principal, taskId, report);
			return;
		}
		const row: AuditInput =
			live && live.user === principal.userId && live.client === principal.clientId
				? live.row
				: {
						ts: ticket.started,
						tenant: principal.tenantId,
						user: principal.userId,
						client: principal.clientId,
						lane: "-",
						protocol: "-",
						method: "tools/call",
						tool: String(ticket.name).slice(0, 64),
						decision: "allowed",
						outcome: "",
						durationMs: 0,
						trace: "-",
					};
		const outcome = reportOutcome(report);
		this.#write({
			...row,
			decision: report.decision === "allowed" ? "allowed" : "error",
			outcome,
			durationMs: Date.now() - ticket.started,
		});
	}

	#finishTask(principal: VerifiedPrincipal, taskId: string, report: AppCallReport): void {
		const outcome = reportOutcome(report);
		const text = report.result?.content?.find((c) => c.type === "text");
		const ended =
			report.decision === "allowed"
				? { result: (report.result ?? { content: [] }) as never, outcome }
				: {
						// The run's own refusal text (generic: detail stays in the app's log), never a raw exception.
						error: { code: -32603, message: String(text && "text" in text ? text.text : "The tool failed.").slice(0, 1000) },
						outcome,
					};
		if (!this.#k.tasks.finishHosted(principal, taskId, ended, Date.now()))
			log("info", "task.report_lost", { tenant: principal.tenantId, outcome: outcome.slice(0, 32) });
	}

	/** Appends captured console lines of an app to its bounded log. */
	appendLogs(app: string, lines: AppLogLine[]): void {
		if (!/^[a-z][a-z0-9-]{0,31}$/.test(app) || !Array.isArray(lines) || lines.length === 0) return;
		const sql = this.#k.sql;
		this.#k.atomically(() => {
			for (const l of lines.slice(0, 200)) {
				const level = ["debug", "info", "warn", "error"].includes(l.level) ? l.level : "info";
				sql.exec(
					"INSERT INTO app_logs (app, ts, level, message) VALUES (?, ?, ?, ?)",
					app,
					Number(l.ts) || Date.now(),
					level,
					String(l.message).slice(0, MAX_APP_LOG_MESSAGE),
				);
			}
			const last = sql.exec<{ id: number }>("SELECT MAX(id) AS id FROM app_logs WHERE app = ?", app).one().id;
			sql.exec("DELETE FROM app_logs WHERE app = ? AND id <= ?", app, last - MAX_APP_LOG_LINES);
		});
	}

	/** The newest lines of an app's log, oldest first. */
	readLogs(app: string, limit: number): AppLogLine[] {
		return this.#k.sql
			.exec<{ ts: number; level: AppLogLine["level"]; message: string }>(
				"SELECT ts, level, message FROM app_logs WHERE app = ? ORDER BY id DESC LIMIT ?",
				app,
				Math.min(Math.max(1, limit), MAX_APP_LOG_LINES),
			)
			.toArray()
			.reverse();
	}

	/** The tenant's hosted tools (active versions), by name; `epoch` is a digest of the active versions. */
	catalog(): HostedCatalog {
		const active = this.#k.sql.exec<{ app: string; active_hash: string }>("SELECT app, active_hash FROM apps ORDER BY app").toArray();
		const tools: HostedToolEntry[] = [];
		for (const a of active) {
			const version = this.#version(a.app, a.active_hash);
			if (!version) continue;
			for (const t of version.manifest.tools) {
				tools.push({
					name: `${a.app}__${t.name}`,
					...(t.title ? { title: t.title } : {}),
					description: t.description,
					inputSchema: t.inputSchema,
					...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
					...(t.annotations || t.title ? { annotations: { ...(t.title ? { title: t.title } : {}), ...t.annotations } } : {}),
					...(t.task === "optional" || t.task === "required" ? { execution: { taskSupport: t.task } } : {}),
					scope: t.scope,
				});
			}
		}
		tools.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
		return { epoch: sha256Hex(active.map((a) => `${a.app}@${a.active_hash}`).join("\n")).slice(0, 16), tools };
	}

	#active(app: string): { hash: string; version: Version } | null {
		const row = this.#k.sql.exec<{ active_hash: string }>("SELECT active_hash FROM apps WHERE app = ?", app).toArray()[0];
		if (!row) return null;
		const version = this.#version(app, row.active_hash);
		return version ? { hash: row.active_hash, version } : null;
	}

	#version(app: string, hash: string): Version | null {
		const key = `${app}@${hash}`;
		let v = this.#versions.get(key);
		if (!v) {
			const row = this.#k.sql
				.exec<{ manifest: string }>("SELECT manifest FROM app_versions WHERE app = ? AND hash = ?", app, hash)
				.toArray()[0];
			if (!row) return null;
			v = { manifest: JSON.parse(row.manifest) as AppManifest, validators: new Map() };
			this.#versions.set(key, v);
		}
		return v;
	}

	/** Validates arguments against a tool's input schema; the problem (paths and rules, never values) or null. */
	#validate(version: Version, tool: string, schema: Record<string, unknown>, args: unknown): string | null {
		let check = version.validators.get(tool);
		if (!check) {
			check = this.#schemas.getValidator(schema as never);
			version.validators.set(tool, check);
		}
		const r = check(args);
		if (r.valid) return null;
		return (r.errorMessage ?? "does not match the tool's input schema").split("; ").slice(0, 10).join("; ").slice(0, 1000);
	}

	/**
	 * The caller's live ticket `id`, or null: unknown, someone else's, past its time, or its
	 * credential no longer stands (a revoked grant or key, a suspended tenant). A revocation ends a
	 * running call's storage and code at the next operation, not when its ticket would have expired;
	 * the call's own answer and audit row still come through `finish`.
	 */
	#ticket(p: VerifiedPrincipal, id: string): LiveTicket | null {
		const t = this.#tickets.get(String(id));
		if (!t || t.user !== p.userId || t.client !== p.clientId) return null;
		const now = Date.now();
		if (now > t.expires || this.#k.credentialRefusal(p, now)) {
			this.#tickets.delete(t.id);
			return null;
		}
		return t;
	}

	#expire(now: number): void {
		if (this.#tickets.size < 256) return;
		for (const [id, t] of this.#tickets) if (now > t.expires) this.#tickets.delete(id);
	}

	#write(input: AuditInput): void {
		this.#k.atomically(() => this.#k.audit.append(input));
	}
}

/** A report's audit outcome: its code and the call's outbound requests (host, method, status, bytes). */
function reportOutcome(report: AppCallReport): string {
	const egress = (report.egress ?? []).slice(0, 50).map((e) => `${e.method} ${e.host} ${e.status} ${e.bytes}B`);
	return `${String(report.outcome).slice(0, 32)}${egress.length ? `; egress: ${egress.join(", ")}` : ""}`;
}

const validKey = (key: unknown): key is string => typeof key === "string" && key.length > 0 && key.length <= MAX_STORAGE_KEY;
const badKey = (): StorageAnswer => ({ ok: false, error: `storage keys are strings of 1 to ${MAX_STORAGE_KEY} characters` });
