/**
 * @module objects/tenant/tenant-object
 * TenantObject: the kernel. One per tenant, named only by the verified principal's tenant id.
 * Every tool call from every lane runs here: authorise (scope) → validate (zod) → run the handler
 * against the tenant's SQLite storage in one synchronous transaction. A handler that throws
 * leaves no state change (the transaction rolls back).
 */
import { DurableObject } from "cloudflare:workers";
import { err, ok, ToolError, type Failure, type Result } from "../../shared/errors";
import type { ProgressReport, TenantKernel, ToolCall, ToolOutcome } from "../../shared/kernel-api";
import { log } from "../../shared/log";
import { registry } from "../../shared/packs";
import { assertPrincipal, hasScope, type VerifiedPrincipal } from "../../shared/principal";
import type { Env } from "../../worker/env";
import { migrate } from "../migrations";
import { TENANT_MIGRATIONS } from "./schema";

/** The tenant kernel. Its RPC surface is {@link TenantKernel}; nothing else is public. */
export class TenantObject extends DurableObject<Env> implements TenantKernel {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		// Rules of Durable Objects: schema changes run once, before any request is delivered.
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, TENANT_MIGRATIONS);
		});
	}

	/** Runs one tool call for `principal` in this tenant. */
	async callTool(principalIn: VerifiedPrincipal, call: ToolCall): Promise<Result<ToolOutcome, Failure>> {
		let principal: VerifiedPrincipal;
		try {
			principal = assertPrincipal(principalIn);
		} catch {
			// A malformed handoff is a caller bug; refuse without running anything.
			log("error", "kernel.invalid_principal", { trace: call?.traceId });
			return err({ reason: "internal", where: "kernel", detail: "invalid principal" });
		}
		const started = Date.now();
		const tool = registry.get(call.name);
		if (!tool) return err({ reason: "unknown_tool", tool: String(call.name).slice(0, 64) });
		if (!hasScope(principal.scopes, tool.scope)) return err({ reason: "insufficient_scope", tool: tool.name, needed: tool.scope });

		const parsed = tool.input.safeParse(call.arguments ?? {});
		if (!parsed.success) {
			// MCP 2025-11-25 §tools "Error Handling": input validation failures are tool execution
			// errors, so the model can correct itself. Paths and messages only, never the values.
			const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(arguments)"}: ${i.message}`).slice(0, 10);
			return ok(errorOutcome(`Invalid arguments for tool ${tool.name}: ${issues.join("; ")}`));
		}

		const progress: ProgressReport[] = [];
		let outcome: ToolOutcome;
		let decision = "allowed";
		try {
			const output = this.ctx.storage.transactionSync(() =>
				tool.handler(
					{
						principal,
						sql: this.ctx.storage.sql,
						progress: (done, total, message) => progress.push({ progress: done, ...(total === undefined ? {} : { total }), ...(message ? { message } : {}) }),
					},
					parsed.data,
				),
			);
			const text = tool.text ? tool.text(output) : JSON.stringify(output, null, 2);
			outcome = { result: { content: [{ type: "text", text }], structuredContent: output as Record<string, unknown> }, progress };
		} catch (e) {
			if (e instanceof ToolError) {
				decision = "error";
				outcome = errorOutcome(e.message);
			} else {
				log("error", "tool.crash", { tenant: principal.tenantId, tool: tool.name, trace: call.traceId, error: e instanceof Error ? e.name : "unknown" });
				return err({ reason: "tool_failed", tool: tool.name, message: e instanceof Error ? e.message : String(e) });
			}
		}
		log("info", "tool.call", {
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
		return ok(outcome);
	}
}

function errorOutcome(message: string): ToolOutcome {
	return { result: { content: [{ type: "text", text: message }], isError: true }, progress: [] };
}
