/**
 * @module worker/apps/run
 * worker/apps/ (entry: this module) owns running a tenant's hosted tools from the front Worker:
 * the isolate, the egress gateway, the per-call host, the tail and where hosted calls leave the
 * lanes, deploy and the apps API. It may import shared/, worker/identity/, worker/oauth/ and npm
 * packages; never objects/.
 *
 * Runs one hosted tool call from the front Worker's request (docs/apps.md "Execution"):
 *
 *   kernel `beginAppCall` (scope, suspension, key, rate limit, argument validation; audited
 *   refusals come back as the outcome) → secrets opened here (the Worker holds `SMCP_SECRETS_KEY`)
 *   → the isolate `<tenant>:<app>:<hash>:<secrets epoch>` (a new deploy or a rotated secret never
 *   meets an old isolate) with no network but the egress gateway, an empty `env`, the tail, and the
 *   platform limits → `call()` with the validated arguments, a per-call host (`call-host.ts`) and
 *   the plain secrets the manifest names, raced against `limits.timeoutMs` → the result checked,
 *   capped and redacted → kernel `finishAppCall` (the audit row with the outcome and the call's
 *   outbound requests).
 *
 * A call that runs as a durable task (the manifest's `task`, a client that asked for one): the
 * kernel stores the task when it authorises the call, the client gets the task at once, and the
 * same run happens after the response, inside the request's `waitUntil`; `finishAppCall` then ends
 * the task with the result (docs/apps.md "Hosted tools as tasks").
 *
 * Isolates are started here and never from a Durable Object: the platform allows 4 distinct
 * dynamic isolates in flight per Worker request and 10 per Durable Object, and one tenant object
 * serves all of a tenant's calls.
 */
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { GUARD_ERROR_NAME, GUARD_MODULE } from "../../shared/apps/guard-prelude";
import type { AppManifest } from "../../shared/apps/manifest";
import { normaliseResult, toolErrorResult, type CallToolResult } from "../../shared/apps/result";
import {
	APP_COMPATIBILITY_DATE,
	APP_COMPATIBILITY_FLAGS,
	RUNNER_MODULE,
	runnerModules,
	type RunnerApi,
	type RunnerOutcome,
} from "../../shared/apps/runner";
import { decryptSecret, loadSecretKeys, type SealedSecret, type SecretKeys, type SecretsKeyEnv } from "../../shared/apps/secrets-crypto";
import { ok, toJsonRpcError, type Failure, type Result } from "../../shared/errors";
import { log } from "../../shared/log";
import type { RpcRequest, RpcResponse } from "../../shared/mcp/jsonrpc";
import type { AppCallReport } from "../../shared/rpc/apps";
import type { AppCallBegun, ToolCall, ToolOutcome } from "../../shared/rpc/kernel";
import type { VerifiedPrincipal } from "../../shared/rpc/principal";
import { tenantStub } from "../../shared/rpc/stubs";
import { sha256Hex } from "../../shared/sha256";
import { legacyTask } from "../../shared/mcp/legacy-task";
import type { Env } from "../../shared/env";
import { CallHost } from "./call-host";
import { loopbackAllowed, type EgressBudget } from "./egress";
import { redact, redactJson } from "./redact";

/** What running a hosted call needs from the request: the bindings and the main module's exports. */
export interface AppRunContext {
	env: Env;
	exports: Cloudflare.Exports;
	/** The request's `ctx.waitUntil`: a hosted task runs after its response, within it. */
	waitUntil?: (work: Promise<unknown>) => void;
}

let keys: { source: string; keys: Promise<Awaited<ReturnType<typeof loadSecretKeys>>> } | undefined;

/** The deployment's secret keys, imported once per isolate. */
function secretKeys(env: Env): Promise<Awaited<ReturnType<typeof loadSecretKeys>>> {
	const source = `${env.SMCP_SECRETS_KEY ?? ""}\u0000${(env as SecretsKeyEnv).SMCP_SECRETS_KEY_PREVIOUS ?? ""}`;
	if (keys?.source !== source) keys = { source, keys: loadSecretKeys(env) };
	return keys.keys;
}

/**
 * Runs one hosted `tools/call`. Returns the tool's outcome (refusals and tool errors included) or a
 * failure for the JSON-RPC error plane (unknown tool, missing scope, unknown session).
 *
 * @example
 * ```ts
 * const r = await runHostedCall({ env, exports: ctx.exports }, principal, { name: "echo__say", arguments: {}, lane: "modern", … });
 * ```
 */
export async function runHostedCall(
	run: AppRunContext,
	principal: VerifiedPrincipal,
	call: ToolCall,
): Promise<Result<ToolOutcome, Failure>> {
	const tenant = tenantStub(run.env, principal);
	const begun = (await tenant.beginAppCall(principal, call)) as Result<AppCallBegun, Failure>;
	if (!begun.ok) return begun;
	if (begun.value.kind === "done") return ok(begun.value.outcome as unknown as ToolOutcome);
	const grant = begun.value;
	if (!grant.task) return execute(run, tenant, principal, call, grant);
	// A durable task: the client has its task now; the run reports to the kernel when it ends.
	const work = execute(run, tenant, principal, call, grant).catch(async (e) => {
		log("error", "app.run_failed", { trace: call.traceId, error: e instanceof Error ? e.name : "unknown" });
		await tenant.finishAppCall(principal, grant.ticket, {
			decision: "error",
			outcome: "run_failed",
			egress: [],
			result: textError("Internal error: the tool could not be started."),
		});
	});
	if (run.waitUntil) run.waitUntil(work);
	return ok<ToolOutcome>({ result: { content: [] }, progress: [], task: grant.task });
}

/** Runs an authorised call in its isolate and reports how it ended (with the result, for a task). */
async function execute(
	run: AppRunContext,
	tenant: ReturnType<typeof tenantStub>,
	principal: VerifiedPrincipal,
	call: ToolCall,
	grant: Extract<AppCallBegun, { kind: "run" }>,
): Promise<Result<ToolOutcome, Failure>> {
	const { env, exports } = run;
	const { ticket, manifest, secrets: sealed } = grant;
	const started = Date.now();
	const finish = async (report: Omit<AppCallReport, "egress">, result: CallToolResult, egress: EgressBudget | null) => {
		await tenant.finishAppCall(principal, ticket, {
			...report,
			egress: egress?.records ?? [],
			...(ticket.taskId ? { result } : {}),
		});
		log(report.decision === "allowed" ? "debug" : "warn", "app.call", {
			trace: call.traceId,
			tenant: principal.tenantId,
			app: ticket.app,
			tool: ticket.tool,
			outcome: report.outcome,
			ms: Date.now() - started,
		});
		return ok<ToolOutcome>({ result: result as ToolOutcome["result"], progress: [] });
	};

	const opened = await openSecrets(env, principal.tenantId, sealed);
	if (!opened.ok) {
		log("error", "app.secrets_unavailable", { tenant: principal.tenantId, app: ticket.app, reason: opened.reason });
		return finish(
			{ decision: "error", outcome: "secrets_unavailable" },
			textError("The app's secrets cannot be opened on this deployment. Ask the operator to check SMCP_SECRETS_KEY."),
			null,
		);
	}
	const injected = new Set((manifest.secretHeaders ?? []).map((s) => s.secret));
	const plain: Record<string, string> = {};
	const headerSecrets: Record<string, string> = {};
	for (const [name, value] of Object.entries(opened.values)) (injected.has(name) ? headerSecrets : plain)[name] = value;
	const values = Object.values(opened.values);

	const budget: EgressBudget = {
		manifest,
		headerSecrets,
		allowLoopback: loopbackAllowed(env),
		used: 0,
		records: [],
		closed: false,
	};
	const epoch = sha256Hex(
		Object.entries(sealed)
			.map(([n, s]) => `${n}:${s.kid}:${s.iv}`)
			.sort()
			.join("\n"),
	).slice(0, 16);
	const isolate = `${principal.tenantId}:${ticket.app}:${ticket.hash}:${epoch}`;
	const worker = env.LOADER.get(isolate, async () => {
		const code = (await tenant.appCode(principal, ticket.id)) as Result<{ modules: Record<string, string> }, Failure>;
		if (!code.ok) throw new Error(`app code unavailable: ${code.error.reason === "internal" ? code.error.detail : code.error.reason}`);
		return {
			compatibilityDate: APP_COMPATIBILITY_DATE,
			compatibilityFlags: [...APP_COMPATIBILITY_FLAGS],
			mainModule: RUNNER_MODULE,
			modules: { ...(await guarded(code.value.modules)), ...runnerModules(manifest.main) },
			// Nothing of SMCP's: capabilities arrive per call, as arguments (call-host.ts).
			env: {},
			globalOutbound: exports.Egress({
				props: {
					tenant: principal.tenantId,
					app: ticket.app,
					egress: manifest.egress,
					allowLoopback: budget.allowLoopback,
					isolate,
					subRequests: manifest.limits.subRequests,
				},
			}),
			tails: [exports.AppTail({ props: { tenant: principal.tenantId, app: ticket.app, redact: values } })],
			limits: platformLimits(manifest),
		};
	});
	const host = new CallHost(budget, (op) => tenant.appStorage(principal, ticket.id, op));
	const runner = worker.getEntrypoint() as unknown as RunnerApi;
	const info = {
		deadline: started + manifest.limits.timeoutMs,
		maxResultBytes: manifest.limits.maxResultBytes,
		secrets: plain,
		present: Object.keys(opened.values),
	};

	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<"timeout">((resolve) => {
		timer = setTimeout(() => resolve("timeout"), manifest.limits.timeoutMs);
	});
	let out: RunnerOutcome | "timeout" | { crashed: string };
	try {
		out = await Promise.race([runner.call(ticket.tool, call.arguments ?? {}, host, info), timeout]);
	} catch (e) {
		out = { crashed: e instanceof Error ? redact(`${e.name}: ${e.message}`, values).slice(0, 300) : "unknown" };
	} finally {
		clearTimeout(timer);
		budget.closed = true;
	}

	if (out === "timeout") {
		return finish(
			{ decision: "error", outcome: "timeout" },
			textError(`The tool was stopped: it ran longer than ${manifest.limits.timeoutMs} ms (limits.timeoutMs).`),
			budget,
		);
	}
	if ("crashed" in out) {
		log("warn", "app.crashed", { trace: call.traceId, tenant: principal.tenantId, app: ticket.app, error: out.crashed });
		return finish({ decision: "error", outcome: "crashed" }, textError("The tool failed. Its logs have the details."), budget);
	}
	if (!out.ok) {
		if (out.kind === "threw") {
			const stopped = out.name === GUARD_ERROR_NAME;
			// The runner cut the message to its cap: redact() also removes a secret's start left at the end.
			const result = redactJson(toolErrorResult({ name: out.name, message: redact(out.message, values) }), values);
			const outcome = stopped ? "guard_stopped" : out.name === "AppError" ? "tool_error" : "threw";
			return finish({ decision: outcome === "tool_error" ? "allowed" : "error", outcome }, result, budget);
		}
		return finish({ decision: "error", outcome: out.kind }, textError(`The tool's result was refused: ${out.message}`), budget);
	}
	let value: unknown;
	try {
		value = out.json === undefined ? undefined : JSON.parse(out.json);
	} catch {
		return finish({ decision: "error", outcome: "not_json" }, textError("The tool's result was refused: it is not JSON."), budget);
	}
	const normal = normaliseResult(value, manifest.limits.maxResultBytes);
	if (!normal.ok)
		return finish(
			{ decision: "error", outcome: normal.error.reason },
			textError(`The tool's result was refused: ${normal.error.message}`),
			budget,
		);
	const result = redactJson(normal.result, values);
	return finish({ decision: "allowed", outcome: result.isError ? "tool_error" : "ok" }, result, budget);
}

/**
 * A hosted `tools/call` as a JSON-RPC response: the same text as the SDK server and the one-hop
 * path give (`answerPlainToolCall`), so a client cannot tell hosted from built-in by the errors.
 */
export async function answerHostedCall(
	run: AppRunContext,
	principal: VerifiedPrincipal,
	request: RpcRequest,
	call: Omit<ToolCall, "name" | "arguments">,
): Promise<RpcResponse & { unknownSession?: true }> {
	const params = request.params ?? {};
	const error = (code: number, message: string) => {
		const e = new McpError(code, message);
		return { jsonrpc: "2.0" as const, id: request.id, error: { code: e.code, message: e.message } };
	};
	try {
		const r = await runHostedCall(run, principal, {
			...call,
			name: String(params.name),
			arguments: (params.arguments ?? {}) as Record<string, unknown>,
		});
		if (!r.ok) {
			if (r.error.reason === "unknown_session") return { ...error(-32001, "Session not found"), unknownSession: true };
			const wire = toJsonRpcError(r.error);
			return error(wire.code, wire.message);
		}
		// 2025-11-25 `params.task`: a CreateTaskResult; a call refused before a task existed is an error, as for built-in tools.
		if (r.value.task) return { jsonrpc: "2.0", id: request.id, result: { task: legacyTask(r.value.task) } };
		if (call.task) return error(ErrorCode.InvalidRequest, r.value.result.content[0]?.text ?? "The task was not started.");
		return { jsonrpc: "2.0", id: request.id, result: r.value.result as unknown as Record<string, unknown> };
	} catch (e) {
		log("error", "app.run_failed", { trace: call.traceId, error: e instanceof Error ? e.name : "unknown" });
		return error(ErrorCode.InternalError, "Internal error");
	}
}

/** The platform's own limits per invocation: CPU as declared; subrequests with room for storage and log RPCs. */
function platformLimits(manifest: AppManifest): { cpuMs: number; subRequests: number } {
	return { cpuMs: manifest.limits.cpuMs, subRequests: manifest.limits.subRequests * 2 + 100 };
}

/**
 * The bundle's modules with the loop guard, unless the deploy already inserted it (it always does;
 * a version stored another way is guarded here, on a cold isolate only). The transform (a parser
 * and a source editor) is imported only then, so it costs nothing at start-up.
 */
async function guarded(modules: Record<string, string>): Promise<Record<string, string>> {
	if (GUARD_MODULE in modules) return modules;
	const { guardBundle } = await import("../../shared/apps/guard");
	const g = guardBundle(modules);
	if (!g.ok) throw new Error(`module ${g.file} does not parse`);
	return g.modules;
}

/** Opens the sealed secrets a call needs. */
async function openSecrets(
	env: Env,
	tenantId: string,
	sealed: Record<string, SealedSecret>,
): Promise<{ ok: true; values: Record<string, string> } | { ok: false; reason: string }> {
	const names = Object.keys(sealed);
	if (names.length === 0) return { ok: true, values: {} };
	const loaded = await secretKeys(env);
	if (!loaded.ok) return { ok: false, reason: "no_key" };
	const k: SecretKeys = loaded.keys;
	const values: Record<string, string> = {};
	for (const name of names) {
		const r = await decryptSecret(k, tenantId, name, sealed[name]!);
		if (!r.ok) return { ok: false, reason: r.error.reason };
		values[name] = r.plaintext;
	}
	return { ok: true, values };
}

function textError(text: string): CallToolResult {
	return { content: [{ type: "text", text }], isError: true };
}
