/**
 * @module worker/apps/tail
 * The tail of every app isolate (the loader's `tails` option): each invocation's `console` output
 * and uncaught exceptions become lines of the app's bounded log in the kernel (`app_logs`), with
 * the values of the secrets the app can see replaced by `[redacted]`. Props are fixed when the
 * isolate is loaded, and its id includes the secrets' epoch, so a rotated secret gets a new
 * isolate and a new tail that knows the new value.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { AppLogLine } from "../../shared/rpc/apps";
import { log } from "../../shared/log";
import type { Env } from "../../shared/env";
import { tenantStub } from "../../shared/rpc/stubs";
import { redact } from "./redact";

/** Props of an app's tail. */
export interface AppTailProps {
	tenant: string;
	app: string;
	/** Secret values to redact. */
	redact: string[];
}

const LEVELS: Record<string, AppLogLine["level"]> = { debug: "debug", info: "info", log: "info", warn: "warn", error: "error" };

/** Turns tail events into log lines (pure; exported for tests). */
export function logLines(events: readonly TraceItem[], secrets: readonly string[]): AppLogLine[] {
	const lines: AppLogLine[] = [];
	for (const e of events) {
		for (const l of e.logs ?? []) {
			const parts = Array.isArray(l.message) ? l.message : [l.message];
			const text = parts.map((p) => (typeof p === "string" ? p : safeJson(p))).join(" ");
			lines.push({ ts: l.timestamp || Date.now(), level: LEVELS[l.level] ?? "info", message: redact(text, secrets).slice(0, 4000) });
		}
		for (const x of e.exceptions ?? []) {
			lines.push({
				ts: x.timestamp || Date.now(),
				level: "error",
				message: redact(`uncaught ${x.name}: ${x.message}`, secrets).slice(0, 4000),
			});
		}
	}
	return lines;
}

/** Receives an app isolate's trace events and appends them to the app's log. */
export class AppTail extends WorkerEntrypoint<Env, AppTailProps> {
	override async tail(events: TraceItem[]): Promise<void> {
		const { tenant, app, redact: secrets } = this.ctx.props;
		const lines = logLines(events, secrets);
		if (lines.length === 0) return;
		try {
			// `tenant` was set by the front Worker from the call's verified principal (run.ts).
			await tenantStub(this.env, { tenantId: tenant, userId: "-", clientId: `app:${app}` }).appendAppLogs(app, lines);
		} catch (e) {
			log("warn", "app.log_lost", { tenant, app, lines: lines.length, error: e instanceof Error ? e.name : "unknown" });
		}
	}
}

function safeJson(v: unknown): string {
	try {
		return JSON.stringify(v) ?? String(v);
	} catch {
		return String(v);
	}
}
