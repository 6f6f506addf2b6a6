/**
 * @module objects/tenant/tool-watchers
 * Which 2025-era sessions of the tenant have a stream open that can carry
 * `notifications/tools/list_changed`, and the announcement itself. A SessionObject enters its
 * session when it opens such a stream (a Streamable HTTP `GET`, a 2024-11-05 `/sse` connection)
 * and leaves it when the session ends; when an app is deployed, rolled back or removed the kernel
 * tells each of them (`SessionApi.toolsChanged`), and drops the ones that answer they have no
 * stream any more. Rows of sessions that never say goodbye are pruned by the retention alarm.
 */
import type { Env } from "../../shared/env";
import { log } from "../../shared/log";
import { sessionStub } from "../../shared/rpc/stubs";

/** Schema (never edit: add a new migration). */
export const TOOL_WATCHERS_SCHEMA_V1 = `
CREATE TABLE tool_watchers (session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, since INTEGER NOT NULL);
`;

/** Most sessions told per change (the per-user session cap keeps real tenants far below). */
const MAX_TOLD = 500;

/** Enters (or leaves) a session that can be told of catalog changes. */
export function watch(sql: SqlStorage, userId: string, sessionId: string, on: boolean, now: number): void {
	if (on) sql.exec("INSERT OR REPLACE INTO tool_watchers (session_id, user_id, since) VALUES (?, ?, ?)", sessionId, userId, now);
	else sql.exec("DELETE FROM tool_watchers WHERE session_id = ? AND user_id = ?", sessionId, userId);
}

/** Drops rows older than the session lifetime. */
export function pruneWatchers(sql: SqlStorage, olderThan: number): void {
	sql.exec("DELETE FROM tool_watchers WHERE since < ?", olderThan);
}

/**
 * Tells every watching session that the tool list changed. Runs after the change committed;
 * returns when all have answered (the caller keeps it alive with `ctx.waitUntil`).
 */
export async function announceToolsChanged(sql: SqlStorage, env: Env): Promise<number> {
	const rows = sql.exec<{ session_id: string }>("SELECT session_id FROM tool_watchers ORDER BY since DESC LIMIT ?", MAX_TOLD).toArray();
	let told = 0;
	await Promise.all(
		rows.map(async ({ session_id }) => {
			let live = false;
			try {
				live = await sessionStub(env, session_id).toolsChanged();
			} catch (e) {
				log("warn", "apps.announce_failed", { session: session_id.slice(0, 12), error: e instanceof Error ? e.name : "unknown" });
				return;
			}
			if (live) told++;
			else sql.exec("DELETE FROM tool_watchers WHERE session_id = ?", session_id);
		}),
	);
	return told;
}
