/**
 * @module worker/admin
 * The operator's admin API, guarded by the `SMCP_ADMIN_TOKEN` secret (compared in constant time).
 * Without the secret the API does not exist (404). Used by the `smcp` CLI (`bin/smcp.mjs`).
 *
 *   GET /admin/tenants/{tenantId}/audit?after=SEQ&limit=N   NDJSON: {"anchor":…} then rows, oldest first
 *   GET /admin/tenants/{tenantId}/audit/verify              {"ok":true,"checked":N} or the first broken link
 */
import { log } from "../shared/log";
import type { Env } from "./env";

const TENANT_PATH = /^\/admin\/tenants\/(t_[0-9a-f]{32})\/audit(\/verify)?$/;

/** Constant-time equality of two strings via their SHA-256 digests (equal length by construction). */
async function sameSecret(a: string, b: string): Promise<boolean> {
	const enc = new TextEncoder();
	const [x, y] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(a)), crypto.subtle.digest("SHA-256", enc.encode(b))]);
	const p = new Uint8Array(x);
	const q = new Uint8Array(y);
	let diff = 0;
	for (let i = 0; i < p.length; i++) diff |= p[i]! ^ q[i]!;
	return diff === 0;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });

/**
 * Handles `/admin/*`.
 *
 * @example
 * ```ts
 * if (url.pathname.startsWith("/admin/")) return handleAdmin(request, env, trace);
 * ```
 */
export async function handleAdmin(request: Request, env: Env, traceId: string): Promise<Response> {
	const secret = env.SMCP_ADMIN_TOKEN ?? "";
	if (secret.length < 32) return new Response("Not Found", { status: 404 });
	const header = request.headers.get("Authorization") ?? "";
	const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
	if (!(await sameSecret(presented, secret))) {
		log("warn", "admin.unauthorized", { trace: traceId });
		return json(401, { error: "unauthorized" });
	}
	if (request.method !== "GET") return json(405, { error: "method_not_allowed" });
	const url = new URL(request.url);
	const m = TENANT_PATH.exec(url.pathname);
	if (!m) return json(404, { error: "not_found" });
	const tenant = env.TENANTS.get(env.TENANTS.idFromName(m[1]!));
	if (m[2]) {
		const verdict = await tenant.verifyAudit();
		log("info", "admin.audit_verify", { trace: traceId, tenant: m[1], ok: verdict.ok });
		return json(200, verdict);
	}
	const after = Math.max(0, Number(url.searchParams.get("after") ?? 0) || 0);
	const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get("limit") ?? 500) || 500));
	const page = await tenant.exportAudit(after, limit);
	const lines = [JSON.stringify({ anchor: page.anchor }), ...page.rows.map((r) => JSON.stringify(r))];
	log("info", "admin.audit_export", { trace: traceId, tenant: m[1], rows: page.rows.length });
	return new Response(`${lines.join("\n")}\n`, { headers: { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" } });
}
