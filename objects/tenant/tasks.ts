/**
 * @module objects/tenant/tasks
 * Durable tasks (2026-07-28 Tasks extension `io.modelcontextprotocol/tasks`, SEP-2663; the
 * experimental tasks of 2025-11-25): a long tool call the client starts, leaves, and picks up later
 * by id, kept in the tenant's SQLite storage and driven by the TenantObject's alarm, so it outlives
 * the client's connection, the object's eviction and a deploy.
 *
 * - **Ids** are 144 random bits (base64url) and bound to the principal that started the task
 *   (user and client): another principal's id reads as unknown, never as "forbidden".
 * - **State machine**: `working` → `input_required` ⇄ `working` → `completed` | `failed` |
 *   `cancelled`. Every transition commits in one transaction with its audit row (method
 *   `tasks/transition`, outcome `from->to`); a terminal state never changes again, so a cancel that
 *   arrives after completion loses cleanly (and one that arrives first wins: the next step finds
 *   the task cancelled and does nothing). Steps are synchronous inside the object, so a cancel can
 *   never interleave with a running step.
 * - **Work**: the tool's {@link TaskDeclaration.step} (or its handler, once) runs a step at a time
 *   from the alarm, each step in its own transaction with the state it leaves for the next. A step
 *   interrupted by eviction committed nothing; the alarm (durable, retried) runs it again.
 * - **Retention**: a task and its result are kept for its TTL from creation, then read as unknown
 *   and pruned by the alarm.
 * - **Ceilings**: unfinished tasks per tenant and per user (`SMCP_MAX_LIVE_TASKS`,
 *   `SMCP_MAX_LIVE_TASKS_PER_USER`).
 *
 * - **Hosted tools** (tenant apps) run as tasks too, but never here: the front Worker starts their
 *   isolate (docs/apps.md "Hosted tools as tasks"). The kernel stores the task, the Worker runs it
 *   and reports through {@link TaskStore.finishHosted}; the alarm looks again at the task's
 *   deadline and fails one whose run never reported.
 *
 * Arguments and results are stored in parts (`task_blobs`), so a large import file or export stays
 * under the storage's per-value limit.
 */
import { AccessDenied, ToolError } from "../../shared/errors";
import type { AuditInput } from "../../shared/audit/store";
import { digest } from "../../shared/audit/store";
import type { TaskPage, TaskStatus, TaskView, ToolCall, ToolOutcome } from "../../shared/rpc/kernel";
import { receivePrincipal, type VerifiedPrincipal } from "../../shared/rpc/principal";
import { isAnswer } from "../../shared/mcp/asks";
import { parseHostedToolName } from "../../shared/apps/manifest";
import { toolContent, type Catalog, type ClientAsk, type TaskStep, type ToolDefinition } from "../../shared/catalog/registry";
import { positive } from "../../shared/rate-limit";
import type { LimitsEnv } from "../../shared/env";
import { log } from "../../shared/log";
import { toBase64url } from "../../shared/base64url.mjs";

/** The task tables (never edit: add a new migration). */
export const TASKS_SCHEMA_V1 = `
CREATE TABLE tasks (
  task_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, principal TEXT NOT NULL, tool TEXT NOT NULL,
  status TEXT NOT NULL, status_message TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  ttl_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL, run_at INTEGER, steps INTEGER NOT NULL DEFAULT 0,
  lane TEXT NOT NULL, protocol TEXT NOT NULL, trace TEXT NOT NULL, session TEXT, args_digest TEXT NOT NULL, args_safe TEXT,
  answers TEXT, pending TEXT, state TEXT, error TEXT
);
CREATE INDEX tasks_run ON tasks (run_at) WHERE run_at IS NOT NULL;
CREATE INDEX tasks_expiry ON tasks (expires_at);
CREATE INDEX tasks_owner ON tasks (user_id, client_id, created_at);
CREATE TABLE task_blobs (task_id TEXT NOT NULL, kind TEXT NOT NULL, part INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (task_id, kind, part));
`;

/** Task settings, from {@link LimitsEnv}. */
export interface TaskLimits {
	maxLivePerTenant: number;
	maxLivePerUser: number;
	ttlMs: number;
}

/** Defaults, also in the README's configuration table. */
export function resolveTaskLimits(env: LimitsEnv): TaskLimits {
	return {
		maxLivePerTenant: Math.floor(positive(env.SMCP_MAX_LIVE_TASKS, 100)),
		maxLivePerUser: Math.floor(positive(env.SMCP_MAX_LIVE_TASKS_PER_USER, 10)),
		ttlMs: Math.floor(positive(env.SMCP_TASK_TTL_SECONDS, 3600) * 1000),
	};
}

/** Shortest and longest TTL a client may ask for (2025-11-25 `task.ttl`). */
const TTL_BOUNDS = { min: 60_000, max: 7 * 86_400_000 } as const;
/** How often a client should poll (`pollIntervalMs`). */
export const POLL_INTERVAL_MS = 1000;
/** Longest stored part of an argument or result (characters; a part is at most ~3 bytes per character). */
const PART_CHARS = 500_000;
/** Most steps one alarm runs before it hands the object back to requests (it re-arms at once). */
const STEPS_PER_ALARM = 8;
/** A step that keeps asking for more is a bug: past this many steps the task fails. */
const MAX_STEPS = 100_000;
/** Page size of `tasks/list`. */
const PAGE = 50;

const LIVE: readonly TaskStatus[] = ["working", "input_required"];

type TaskRow = {
	task_id: string;
	user_id: string;
	client_id: string;
	principal: string;
	tool: string;
	status: TaskStatus;
	status_message: string | null;
	created_at: number;
	updated_at: number;
	ttl_ms: number;
	expires_at: number;
	run_at: number | null;
	steps: number;
	lane: string;
	protocol: string;
	trace: string;
	session: string | null;
	args_digest: string;
	args_safe: string | null;
	answers: string | null;
	pending: string | null;
	state: string | null;
	error: string | null;
};

/** What the store needs from the kernel around a step: the catalog, the audit trail, the credential check. */
export interface TaskHost {
	sql: SqlStorage;
	transactionSync<T>(fn: () => T): T;
	catalog(): Catalog;
	append(row: AuditInput): void;
	/** Why a stored principal may no longer act (suspended tenant, revoked key), or null. */
	refusal(p: VerifiedPrincipal, now: number): { reason: string; message: string } | null;
}

/** A new, unguessable task id: 144 random bits, base64url. */
function newTaskId(): string {
	return toBase64url(crypto.getRandomValues(new Uint8Array(18)));
}

const json = (text: string | null): unknown => (text === null ? undefined : JSON.parse(text));

/** The durable task store and runner of one tenant. */
export class TaskStore {
	readonly #host: TaskHost;
	readonly #limits: TaskLimits;

	constructor(host: TaskHost, limits: TaskLimits) {
		this.#host = host;
		this.#limits = limits;
	}

	/**
	 * Why a new task of `p` may not start (a ceiling reached), or null. Called in the call's
	 * transaction, just before {@link create}.
	 */
	ceiling(p: VerifiedPrincipal): string | null {
		const live = this.#host.sql
			.exec<{ all: number; mine: number }>(
				`SELECT COUNT(*) AS "all", COALESCE(SUM(user_id = ?), 0) AS mine FROM tasks WHERE status IN ('working', 'input_required')`,
				p.userId,
			)
			.one();
		if (live.mine >= this.#limits.maxLivePerUser)
			return `You have ${live.mine} unfinished tasks, the most allowed. Wait for one to finish or cancel one (tasks/cancel), then retry.`;
		if (live.all >= this.#limits.maxLivePerTenant)
			return `This workspace has ${live.all} unfinished tasks, the most allowed. Retry when some have finished.`;
		return null;
	}

	/**
	 * Stores a new `working` task for a validated call and its audit row (run inside the call's
	 * transaction: the task exists exactly when its row does). The alarm picks it up at once.
	 */
	create(
		p: VerifiedPrincipal,
		tool: Pick<ToolDefinition, "name">,
		args: Record<string, unknown>,
		call: ToolCall,
		row: AuditInput,
		now: number,
		hosted?: { deadline: number },
	): TaskView {
		const id = newTaskId();
		const wanted = call.task?.ttlMs;
		const ttl =
			typeof wanted === "number" && Number.isFinite(wanted)
				? Math.min(Math.max(Math.floor(wanted), TTL_BOUNDS.min), TTL_BOUNDS.max)
				: this.#limits.ttlMs;
		const answers = call.answers && Object.keys(call.answers).length ? JSON.stringify(call.answers) : null;
		this.#host.sql.exec(
			`INSERT INTO tasks (task_id, user_id, client_id, principal, tool, status, created_at, updated_at, ttl_ms, expires_at, run_at,
			 lane, protocol, trace, session, args_digest, args_safe, answers)
			 VALUES (?, ?, ?, ?, ?, 'working', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id,
			p.userId,
			p.clientId,
			JSON.stringify({ tenantId: p.tenantId, userId: p.userId, clientId: p.clientId, scopes: p.scopes }),
			tool.name,
			now,
			now,
			ttl,
			now + ttl,
			// A hosted task runs in the front Worker: the alarm only looks again at its deadline (see `#lost`).
			hosted ? hosted.deadline : now,
			call.lane,
			call.protocolVersion,
			call.traceId,
			row.session ?? null,
			row.argsDigest ?? digest(args),
			row.args ?? null,
			answers,
		);
		// A hosted task's arguments stay with the Worker that runs it; the kernel keeps their digest.
		if (!hosted) this.#putBlob(id, "args", JSON.stringify(args));
		this.#host.append({ ...row, method: "tasks/transition", decision: "allowed", outcome: `created->working task=${short(id)}` });
		return this.#view(this.#row(id)!, now);
	}

	/** The caller's task, or null (unknown, expired, or another principal's). */
	get(p: VerifiedPrincipal, id: string, now: number): TaskView | null {
		const r = this.#mine(p, id, now);
		return r ? this.#view(r, now) : null;
	}

	/** Cancels the caller's unfinished task (one transition, audited); a finished one is returned unchanged. */
	cancel(p: VerifiedPrincipal, id: string, now: number): TaskView | null {
		return this.#host.transactionSync(() => {
			const r = this.#mine(p, id, now);
			if (!r) return null;
			if (LIVE.includes(r.status)) this.#transition(r, "cancelled", now, { statusMessage: "Cancelled by the client." });
			return this.#view(this.#row(id)!, now);
		});
	}

	/**
	 * Folds the client's answers into an `input_required` task: only under pending keys, only when
	 * shaped like the request's result. Once nothing is pending the task is `working` again and the
	 * alarm resumes it.
	 */
	update(p: VerifiedPrincipal, id: string, responses: Record<string, unknown>, now: number): TaskView | null {
		return this.#host.transactionSync(() => {
			const r = this.#mine(p, id, now);
			if (!r) return null;
			if (r.status !== "input_required") return this.#view(r, now);
			const pending = (json(r.pending) ?? {}) as Record<string, ClientAsk>;
			const answers = (json(r.answers) ?? {}) as Record<string, unknown>;
			let taken = 0;
			for (const [key, ask] of Object.entries(pending)) {
				if (!Object.hasOwn(responses, key) || !isAnswer(ask, responses[key])) continue;
				answers[key] = responses[key];
				delete pending[key];
				taken++;
			}
			if (taken === 0) return this.#view(r, now);
			const rest = Object.keys(pending).length;
			this.#host.sql.exec(
				"UPDATE tasks SET answers = ?, pending = ?, updated_at = ? WHERE task_id = ?",
				JSON.stringify(answers),
				rest ? JSON.stringify(pending) : null,
				now,
				id,
			);
			if (rest === 0) this.#transition(this.#row(id)!, "working", now, { runAt: now });
			return this.#view(this.#row(id)!, now);
		});
	}

	/** The caller's tasks, newest first, {@link PAGE} at a time (`cursor`: the last task's creation time and id). */
	list(p: VerifiedPrincipal, cursor: string | undefined, now: number): TaskPage {
		const [at, after] = (cursor ?? "").split("~");
		const before = Number(at);
		const rows = this.#host.sql
			.exec<TaskRow>(
				`SELECT * FROM tasks WHERE user_id = ? AND client_id = ? AND expires_at > ?
				 AND (? = 0 OR created_at < ? OR (created_at = ? AND task_id < ?))
				 ORDER BY created_at DESC, task_id DESC LIMIT ?`,
				p.userId,
				p.clientId,
				now,
				Number.isFinite(before) && before > 0 ? 1 : 0,
				before || 0,
				before || 0,
				after ?? "",
				PAGE + 1,
			)
			.toArray();
		const page = rows.slice(0, PAGE).map((r) => this.#view(r, now));
		const last = rows[PAGE - 1];
		return { tasks: page, ...(rows.length > PAGE && last ? { nextCursor: `${last.created_at}~${last.task_id}` } : {}) };
	}

	/**
	 * Ends a hosted task with what its run reported (one transition and its audit row, in one
	 * transaction). False when the task is not the caller's, not hosted, or no longer `working`:
	 * cancelled meanwhile, or already failed as lost by the alarm. Then the report loses cleanly.
	 */
	finishHosted(
		p: VerifiedPrincipal,
		id: string,
		o: { result?: ToolOutcome["result"]; error?: { code: number; message: string }; outcome: string },
		now: number,
	): boolean {
		return this.#host.transactionSync(() => {
			const r = this.#mine(p, id, now);
			if (r?.status !== "working" || !parseHostedToolName(r.tool)) return false;
			this.#transition(r, o.error ? "failed" : "completed", now, o);
			return true;
		});
	}

	/** When the alarm must next run a step, or null when no task is waiting to run. */
	nextRunAt(): number | null {
		return this.#host.sql.exec<{ at: number | null }>("SELECT MIN(run_at) AS at FROM tasks WHERE run_at IS NOT NULL").one().at;
	}

	/** Runs the steps that are due (at most {@link STEPS_PER_ALARM}); returns how many ran. */
	runDue(now: number): number {
		const due = this.#host.sql
			.exec<{ task_id: string }>(
				"SELECT task_id FROM tasks WHERE run_at IS NOT NULL AND run_at <= ? ORDER BY run_at LIMIT ?",
				now,
				STEPS_PER_ALARM,
			)
			.toArray();
		for (const { task_id } of due) this.#step(task_id, Date.now());
		return due.length;
	}

	/** Drops the tasks whose TTL has passed, with their parts. Returns how many. */
	prune(now: number): number {
		const gone = this.#host.sql.exec<{ task_id: string }>("DELETE FROM tasks WHERE expires_at <= ? RETURNING task_id", now).toArray();
		for (const { task_id } of gone) this.#host.sql.exec("DELETE FROM task_blobs WHERE task_id = ?", task_id);
		return gone.length;
	}

	/** One step of one task, in its own transaction; a crash fails the task in a second one. */
	#step(id: string, now: number): void {
		try {
			this.#host.transactionSync(() => this.#runStep(id, now));
		} catch (e) {
			// The step's own writes rolled back; the task fails (once: it is terminal afterwards).
			log("error", "task.crash", { tool: this.#row(id)?.tool ?? "", error: e instanceof Error ? e.name : "unknown" });
			this.#host.transactionSync(() => {
				const r = this.#row(id);
				if (r && LIVE.includes(r.status))
					this.#transition(r, "failed", Date.now(), {
						error: { code: -32603, message: "Internal error: the tool failed. Nothing it did was kept." },
					});
			});
		}
	}

	#runStep(id: string, now: number): void {
		const r = this.#row(id);
		// Cancelled, answered by another path, or pruned in between: nothing to do (at-least-once alarms).
		if (r?.status !== "working" || r.run_at === null) return;
		if (parseHostedToolName(r.tool)) {
			this.#lost(r, now);
			return;
		}
		const tool = this.#host.catalog().tools.get(r.tool);
		if (!tool?.task) {
			this.#transition(r, "failed", now, { error: { code: -32603, message: `Tool ${r.tool} is no longer served here.` } });
			return;
		}
		// The caller who started the task, as the kernel stored it: re-validated like an RPC handoff.
		const principal = receivePrincipal(JSON.parse(r.principal));
		const refusal = this.#host.refusal(principal, now);
		if (refusal) {
			this.#transition(r, "failed", now, { error: { code: -32600, message: refusal.message }, outcome: refusal.reason });
			return;
		}
		if (r.steps >= MAX_STEPS) {
			this.#transition(r, "failed", now, { error: { code: -32603, message: "Internal error: the task took too many steps." } });
			return;
		}
		const parsed = tool.input.safeParse(JSON.parse(this.#getBlob(id, "args") ?? "{}"));
		if (!parsed.success) {
			this.#transition(r, "failed", now, { error: { code: -32602, message: `Invalid arguments for tool ${tool.name}` } });
			return;
		}
		let message: string | undefined;
		const ctx = {
			principal,
			sql: this.#host.sql,
			progress: (done: number, total?: number, text?: string) => {
				message = text ?? (total === undefined ? `${done} done` : `${done} of ${total} done`);
			},
			log: () => undefined,
			answers: (json(r.answers) ?? {}) as Record<string, unknown>,
			state: json(r.state),
		};
		let step: TaskStep<unknown>;
		try {
			step = tool.task.step ? tool.task.step(ctx, parsed.data as never) : { done: tool.handler(ctx, parsed.data as never) };
		} catch (e) {
			if (!(e instanceof ToolError)) throw e;
			// A tool error completes the task (SEP-2663: `failed` is for protocol errors only).
			const result = { content: [{ type: "text" as const, text: e.message }], isError: true };
			this.#transition(r, "completed", now, { result, outcome: e instanceof AccessDenied ? "access_denied" : "tool_error" });
			return;
		}
		if ("done" in step) {
			const result = { content: toolContent(tool, step.done), structuredContent: step.done as Record<string, unknown> };
			this.#transition(r, "completed", now, { result, ...(message ? { statusMessage: message } : {}) });
		} else if ("ask" in step) {
			this.#host.sql.exec(
				"UPDATE tasks SET state = ?, pending = ?, steps = steps + 1 WHERE task_id = ?",
				JSON.stringify(step.next ?? null),
				JSON.stringify(step.ask),
				id,
			);
			this.#transition(this.#row(id)!, "input_required", now, message ? { statusMessage: message } : {});
		} else {
			const delay = Math.max(0, Math.floor(step.delayMs ?? 0));
			this.#host.sql.exec(
				"UPDATE tasks SET state = ?, steps = steps + 1, run_at = ?, updated_at = ?, status_message = COALESCE(?, status_message) WHERE task_id = ?",
				JSON.stringify(step.next ?? null),
				now + delay,
				now,
				message ?? null,
				id,
			);
		}
	}

	/**
	 * A hosted task whose run never reported by its deadline (the app's timeout plus a grace): the
	 * Worker that ran it was stopped (a deploy, a crash, the end of its `waitUntil` time). It fails,
	 * and is not run again: the code may have acted already (egress, storage), so a second run is
	 * the client's decision.
	 */
	#lost(r: TaskRow, now: number): void {
		this.#transition(r, "failed", now, {
			error: {
				code: -32603,
				message:
					"The tool's run stopped before it reported a result (the server restarted or ran out of time). It may have done part of its work: check, then call the tool again if that is safe.",
			},
			outcome: "run_lost",
		});
	}

	/** Moves a task to `to` and appends the transition's audit row, in the caller's transaction. */
	#transition(
		r: TaskRow,
		to: TaskStatus,
		now: number,
		o: {
			result?: ToolOutcome["result"];
			error?: { code: number; message: string };
			statusMessage?: string;
			runAt?: number;
			outcome?: string;
		},
	): void {
		const terminal = !LIVE.includes(to);
		this.#host.sql.exec(
			`UPDATE tasks SET status = ?, updated_at = ?, run_at = ?, status_message = COALESCE(?, status_message), error = ?,
			 pending = CASE WHEN ? = 'input_required' THEN pending ELSE NULL END WHERE task_id = ?`,
			to,
			now,
			terminal || to === "input_required" ? null : (o.runAt ?? now),
			o.statusMessage ?? null,
			o.error ? JSON.stringify(o.error) : null,
			to,
			r.task_id,
		);
		if (terminal) this.#host.sql.exec("DELETE FROM task_blobs WHERE task_id = ? AND kind = 'args'", r.task_id);
		if (o.result) this.#putBlob(r.task_id, "result", JSON.stringify(o.result));
		const decision = to === "failed" ? "error" : "allowed";
		this.#host.append({
			ts: now,
			tenant: (JSON.parse(r.principal) as { tenantId: string }).tenantId,
			user: r.user_id,
			client: r.client_id,
			session: r.session,
			lane: r.lane,
			protocol: r.protocol,
			method: "tasks/transition",
			tool: r.tool,
			argsDigest: r.args_digest,
			args: r.args_safe,
			decision,
			outcome: `${r.status}->${to}${o.outcome ? `:${o.outcome}` : ""} task=${short(r.task_id)}`,
			durationMs: now - r.created_at,
			trace: r.trace,
		});
	}

	#row(id: string): TaskRow | undefined {
		return this.#host.sql.exec<TaskRow>("SELECT * FROM tasks WHERE task_id = ?", id).toArray()[0];
	}

	/** The row of a live (unexpired) task of `p`, or undefined: same lookup for unknown and foreign ids. */
	#mine(p: VerifiedPrincipal, id: string, now: number): TaskRow | undefined {
		if (typeof id !== "string" || id.length === 0 || id.length > 64) return undefined;
		const r = this.#row(id);
		return r && r.user_id === p.userId && r.client_id === p.clientId && r.expires_at > now ? r : undefined;
	}

	#view(r: TaskRow, now: number): TaskView {
		const v: TaskView = {
			taskId: r.task_id,
			status: r.status,
			createdAt: r.created_at,
			lastUpdatedAt: r.updated_at,
			ttlMs: r.ttl_ms,
			pollIntervalMs: POLL_INTERVAL_MS,
			tool: r.tool,
			...(r.status_message ? { statusMessage: r.status_message } : {}),
		};
		if (r.status === "input_required") v.inputRequests = (json(r.pending) ?? {}) as Record<string, ClientAsk>;
		if (r.status === "completed") {
			const text = this.#getBlob(r.task_id, "result");
			v.result = text ? JSON.parse(text) : { content: [] };
		}
		if (r.status === "failed") v.error = (json(r.error) as TaskView["error"]) ?? { code: -32603, message: "Internal error" };
		void now;
		return v;
	}

	#putBlob(id: string, kind: string, text: string): void {
		this.#host.sql.exec("DELETE FROM task_blobs WHERE task_id = ? AND kind = ?", id, kind);
		for (let i = 0, part = 0; i < text.length || part === 0; i += PART_CHARS, part++)
			this.#host.sql.exec(
				"INSERT INTO task_blobs (task_id, kind, part, body) VALUES (?, ?, ?, ?)",
				id,
				kind,
				part,
				text.slice(i, i + PART_CHARS),
			);
	}

	#getBlob(id: string, kind: string): string | undefined {
		const parts = this.#host.sql
			.exec<{ body: string }>("SELECT body FROM task_blobs WHERE task_id = ? AND kind = ? ORDER BY part", id, kind)
			.toArray();
		return parts.length ? parts.map((p) => p.body).join("") : undefined;
	}
}

/** The first characters of a task id, for audit rows and logs (the id itself is the caller's handle). */
const short = (id: string) => id.slice(0, 8);
