/**
 * Idle costs nothing: an idle session and an idle tenant schedule no alarm, timer or write while
 * nothing happens, beyond the documented ones — the tenant's audit-retention alarm (every six
 * hours) and, for a session held by a SessionObject, its expiry alarm at last use + TTL. A plain
 * session (initialize and tool calls only) has no SessionObject at all.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionObject } from "../../objects/session/session-object";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { objectSession, rawPost, rawSession, signedIn, testEnv } from "./helpers";

const SIX_HOURS = 6 * 3600_000;
const tenantStub = (id: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(id));
const sessionStub = (id: string) => testEnv.SESSIONS.get(testEnv.SESSIONS.idFromName(id));
const call = (token: string, sid: string) =>
	rawPost(
		token,
		{ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "read_graph", arguments: {} } },
		{ "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25" },
	).then((r) => r.text());

/** What an idle tenant could change on its own: its alarm, its audit trail, its sessions' last use. */
const tenantState = (tenantId: string) =>
	runInDurableObject(tenantStub(tenantId), async (_o: TenantObject, s) => ({
		alarm: await s.storage.getAlarm(),
		auditRows: Number(s.storage.sql.exec("SELECT COUNT(*) AS n FROM audit").one().n),
		sessions: s.storage.sql.exec("SELECT session_id, last_seen FROM sessions ORDER BY session_id").toArray(),
		buckets: s.storage.sql.exec("SELECT * FROM buckets ORDER BY key").toArray(),
	}));

describe("idle costs nothing", () => {
	it("an idle plain session and its tenant: no SessionObject, only the six-hour retention alarm, and nothing written while idle", async () => {
		const { account, tokens } = await signedIn();
		const sid = await rawSession(tokens.access_token);
		await call(tokens.access_token, sid);
		const before = await tenantState(account.tenantId);
		// The retention alarm is the tenant's only one, six hours out.
		expect(before.alarm).not.toBeNull();
		expect(before.alarm! - Date.now()).toBeGreaterThan(SIX_HOURS - 60_000);
		expect(before.alarm! - Date.now()).toBeLessThanOrEqual(SIX_HOURS);
		// The session never needed its object: no state, no alarm there.
		const object = await runInDurableObject(sessionStub(sid), async (_o: SessionObject, s) => ({
			alarm: await s.storage.getAlarm(),
			meta: s.storage.kv.get("session") ?? null,
		}));
		expect(object).toEqual({ alarm: null, meta: null });
		// Idle for a while: nothing moves (no touch, no refill write, no alarm rescheduled).
		await new Promise((r) => setTimeout(r, 1500));
		expect(await tenantState(account.tenantId)).toEqual(before);
	});

	it("an idle session held by its SessionObject: its only alarm is the expiry alarm at last use + TTL, and idle time writes nothing", async () => {
		const { tokens } = await signedIn();
		const sid = await objectSession(tokens.access_token);
		const ttl = Number(testEnv.SMCP_SESSION_TTL_SECONDS ?? 3600) * 1000;
		const read = () =>
			runInDurableObject(sessionStub(sid), async (_o: SessionObject, s) => ({
				alarm: await s.storage.getAlarm(),
				meta: s.storage.kv.get<{ lastSeen: number }>("session") ?? null,
			}));
		const before = await read();
		expect(before.meta).not.toBeNull();
		expect(before.alarm).toBe(before.meta!.lastSeen + ttl);
		await new Promise((r) => setTimeout(r, 1500));
		expect(await read()).toEqual(before);
	});
});
