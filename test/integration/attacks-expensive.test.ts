/**
 * Limits on the expensive paths (docs/security.md "Limits on expensive paths"): each test is named
 * after the attack it stops. The timings printed (run with SMCP_TEST_LOGS=1) are the figures in
 * docs/security.md; assertions are on work done (rows, events, bytes, fetches), never on a
 * machine's speed. `SMCP_TEST_AUDIT_ROWS=1000000` runs the audit test on a million rows.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TenantObject as TenantObjectClass, type TenantObject } from "../../objects/tenant/tenant-object";
import { AuditStore } from "../../shared/audit/store";
import { AUDIT_VERIFY_CHUNK, type VerifyCursor } from "../../shared/audit/verify-chunks";
import { EVENT_LOG_LIMIT, EVENT_LOG_MAX_BYTES, EventLog } from "../../objects/session/event-log";
import { SESSION_MIGRATIONS } from "../../objects/session/schema";
import { migrate } from "../../objects/migrations";
import { CLIENT_REGISTRATION_TTL_SECONDS, UNUSED_CLIENT_TTL_SECONDS } from "../../worker/oauth/client-expiry";
import { CIMD_FETCHES_PER_HOST, CIMD_FETCHES_PER_IP, resetCimdCounts } from "../../worker/oauth/cimd-limit";
import { authorizeUrl, pkce, registerClient } from "../support/oauth-flow";
import { ORIGIN, selfFetch, signedIn, testEnv } from "./helpers";

const ADMIN = "test-admin-token-0123456789abcdef0123456789";
const tid = () => `t_${crypto.randomUUID().replaceAll("-", "")}`;
/** The most rows one turn of a tenant's object may verify: about 100 ms of work (measured: docs/security.md). */
const MAX_ROWS_PER_TURN = 5000;
const AUDIT_ROWS = Number((testEnv as unknown as { SMCP_TEST_AUDIT_ROWS?: string }).SMCP_TEST_AUDIT_ROWS) || 50_000;

/** Appends `n` chained rows through the trail's own `append`, in one transaction per 50,000. */
async function bulkTrail(stub: DurableObjectStub<TenantObject>, tenantId: string, n: number): Promise<void> {
	for (let done = 0; done < n; done += 50_000) {
		await runInDurableObject(stub, (_o: TenantObject, state) =>
			state.storage.transactionSync(() => {
				const audit = new AuditStore(state.storage.sql);
				for (let i = done; i < Math.min(n, done + 50_000); i++)
					audit.append({
						tenant: tenantId,
						user: "u_bulk",
						client: "c_bulk",
						lane: "streamable-http",
						protocol: "2025-11-25",
						method: "tools/call",
						tool: "read_graph",
						argsDigest: "0".repeat(64),
						decision: "allowed",
						outcome: "ok",
						durationMs: 3,
						trace: `trace-${i}`,
					});
			}),
		);
	}
}

describe("audit verify on a huge trail", () => {
	it(`audit verify on a tenant with ${AUDIT_ROWS.toLocaleString("en-US")} rows is verified in chunks (at most 5,000 rows per turn of its object), so tool calls never wait behind it`, async () => {
		const tenantId = tid();
		const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
		const built = performance.now();
		await bulkTrail(stub, tenantId, AUDIT_ROWS);
		console.log(JSON.stringify({ figure: "audit.build", rows: AUDIT_ROWS, ms: Math.round(performance.now() - built) }));

		// Each kernel call verifies at most one chunk, and the chunks add up to the whole trail.
		let cursor: VerifyCursor | null = null;
		let calls = 0;
		let slowest = 0;
		const started = performance.now();
		for (;;) {
			const t0 = performance.now();
			const v = await stub.verifyAuditChunk(cursor);
			slowest = Math.max(slowest, performance.now() - t0);
			calls++;
			expect(v.ok).toBe(true);
			expect(v.checked - (cursor?.checked ?? 0)).toBeLessThanOrEqual(Math.min(AUDIT_VERIFY_CHUNK, MAX_ROWS_PER_TURN));
			if (!v.next) {
				expect(v.checked).toBe(AUDIT_ROWS);
				break;
			}
			cursor = v.next;
		}
		expect(calls).toBeGreaterThanOrEqual(Math.ceil(AUDIT_ROWS / MAX_ROWS_PER_TURN));
		const total = performance.now() - started;
		console.log(
			JSON.stringify({
				figure: "audit.verify",
				rows: AUDIT_ROWS,
				chunk: AUDIT_VERIFY_CHUNK,
				calls,
				slowestMs: Math.round(slowest),
				totalMs: Math.round(total),
			}),
		);

		// The operator's route loops over the same chunks: one kernel call per chunk, so a tool call
		// waits at most one chunk. (Inside vitest the object shares the test's isolate, so waiting
		// cannot be observed here; the bound is asserted in rows, the time per chunk is measured above.)
		const chunks = vi.spyOn(TenantObjectClass.prototype, "verifyAuditChunk");
		const res = await selfFetch(`${ORIGIN}/admin/tenants/${tenantId}/audit/verify`, { headers: { Authorization: `Bearer ${ADMIN}` } });
		expect(await res.json()).toEqual({ ok: true, checked: AUDIT_ROWS });
		expect(chunks.mock.calls.length).toBeGreaterThanOrEqual(Math.ceil(AUDIT_ROWS / MAX_ROWS_PER_TURN));
		chunks.mockRestore();
	}, 600_000);

	it("a row edited in the middle of a chunked verification is found, with the rows verified before it", async () => {
		const tenantId = tid();
		const stub = testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
		const n = 2 * 2000 + 10;
		await bulkTrail(stub, tenantId, n);
		const edited = 2000 + 5;
		await runInDurableObject(stub, (_o: TenantObject, s) =>
			s.storage.sql.exec("UPDATE audit SET outcome = 'edited' WHERE seq = ?", edited),
		);
		const res = await selfFetch(`${ORIGIN}/admin/tenants/${tenantId}/audit/verify`, { headers: { Authorization: `Bearer ${ADMIN}` } });
		expect(await res.json()).toEqual({ ok: false, checked: edited - 1, seq: edited, reason: "hash_mismatch" });
		expect(await stub.verifyAudit()).toEqual({ ok: false, checked: edited - 1, seq: edited, reason: "hash_mismatch" });
	});
});

describe("SSE event log storage", () => {
	it("a client flooding its session's stream with large events keeps at most 4 MiB and 1,099 events in the session's log, across evictions", async () => {
		const stub = testEnv.SESSIONS.get(testEnv.SESSIONS.newUniqueId());
		const figures = await runInDurableObject(stub, (_o, state) => {
			migrate(state.storage, SESSION_MIGRATIONS);
			const sql = state.storage.sql;
			let log = new EventLog(sql);
			const big = `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${"x".repeat(100_000)}"}}`;
			const wide = `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${"é".repeat(60_000)}"}}`;
			const started = performance.now();
			let last = 0;
			for (let i = 0; i < 200; i++) {
				last = log.append("flood", i % 2 ? big : wide) ?? 0;
				expect(log.usage().bytes).toBeLessThanOrEqual(EVENT_LOG_MAX_BYTES);
				if (i === 100) log = new EventLog(sql); // an eviction: the byte total is re-read from storage
			}
			const floodMs = performance.now() - started;
			const afterBig = log.usage();
			// The newest events are the ones kept, and they replay.
			expect(log.after("flood", last - 1).map((e) => e.seq)).toEqual([last]);
			for (let i = 0; i < 1500; i++)
				log.append("chatter", `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":${i}}}`);
			const afterMany = log.usage();
			expect(afterMany.events).toBeLessThanOrEqual(EVENT_LOG_LIMIT + 99);
			return { afterBig, afterMany, floodMs };
		});
		expect(figures.afterBig.bytes).toBeGreaterThan(EVENT_LOG_MAX_BYTES / 2);
		console.log(JSON.stringify({ figure: "event_log.flood", ...figures, floodMs: Math.round(figures.floodMs) }));
	});
});

describe("dynamic client registration", () => {
	/** When KV will delete a client's record (seconds since the epoch), and the provider's stamp. */
	async function expiry(clientId: string): Promise<{ kv: number | undefined; stamped: number | undefined }> {
		const listed = await testEnv.OAUTH_KV.list({ prefix: `client:${clientId}` });
		const record = await testEnv.OAUTH_KV.get<{ registrationExpiresAt?: number }>(`client:${clientId}`, "json");
		return { kv: listed.keys.find((k) => k.name === `client:${clientId}`)?.expiration, stamped: record?.registrationExpiresAt };
	}
	const near = (actual: number | undefined, expected: number) => expect(Math.abs((actual ?? 0) - expected)).toBeLessThan(120);

	it("a registration flood leaves nothing behind: a client registered and never used expires from KV after a day, a client that got tokens is kept (90 days, renewed)", async () => {
		const now = () => Math.floor(Date.now() / 1000);
		const unused = await registerClient(selfFetch, ORIGIN, "http://127.0.0.1:9/cb", "Never used");
		const fresh = await expiry(unused);
		near(fresh.kv, now() + UNUSED_CLIENT_TTL_SECONDS);
		near(fresh.stamped, now() + UNUSED_CLIENT_TTL_SECONDS);

		// A client that completes a sign-in (its first token response) gets the full lifetime.
		const { tokens } = await signedIn();
		const used = await expiry(tokens.clientId);
		near(used.kv, now() + CLIENT_REGISTRATION_TTL_SECONDS);
		near(used.stamped, now() + CLIENT_REGISTRATION_TTL_SECONDS);
		// The never-used one still has its short expiry.
		near((await expiry(unused)).kv, now() + UNUSED_CLIENT_TTL_SECONDS);
	});
});

describe("Client ID Metadata Document fetches", () => {
	afterEach(() => {
		vi.restoreAllMocks();
		resetCimdCounts();
	});

	/** Outbound fetches, stubbed to fail as an unreachable host would; returns the URLs fetched. */
	function stubOutbound(): () => string[] {
		const outbound = vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
			throw new TypeError("Network connection lost.");
		});
		return () => outbound.mock.calls.map(([input]) => (input instanceof Request ? input.url : String(input)));
	}

	async function authorize(clientId: string, ip: string): Promise<Response> {
		const { challenge } = await pkce();
		const u = authorizeUrl(ORIGIN, { clientId, redirectUri: "http://127.0.0.1:9/cb", challenge, scope: "mcp:read", state: "s" });
		const res = await selfFetch(u.toString(), { redirect: "manual", headers: { "CF-Connecting-IP": ip } });
		await res.body?.cancel();
		return res;
	}

	it("a burst of /authorize requests with distinct client_id metadata URLs from one IP gets 429 after the limit, with no further fetches (fetch reflector)", async () => {
		const fetched = stubOutbound();
		const statuses: number[] = [];
		for (let i = 0; i < CIMD_FETCHES_PER_IP + 5; i++)
			statuses.push((await authorize(`https://reflect-${i}.example.net/client-${i}.json`, "198.51.100.7")).status);
		expect(statuses.slice(0, CIMD_FETCHES_PER_IP).every((s) => s === 400)).toBe(true);
		expect(statuses.slice(CIMD_FETCHES_PER_IP)).toEqual(Array(5).fill(429));
		expect(fetched()).toHaveLength(CIMD_FETCHES_PER_IP);
		// The same burst at /token is refused too; another IP is not affected.
		const token = await selfFetch(`${ORIGIN}/token`, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": "198.51.100.7" },
			body: new URLSearchParams({
				grant_type: "authorization_code",
				code: "u:g:c",
				client_id: "https://other.example.net/c.json",
			}).toString(),
		});
		expect(token.status).toBe(429);
		expect(token.headers.get("Retry-After")).toBe("60");
		expect((await authorize("https://fresh.example.net/client.json", "198.51.100.8")).status).toBe(400);
		expect(fetched()).toHaveLength(CIMD_FETCHES_PER_IP + 1);
	});

	it("many IPs pointing client_id metadata URLs at one host get 429 after the per-host limit, with no further fetches of that host", async () => {
		const fetched = stubOutbound();
		const statuses: number[] = [];
		for (let i = 0; i < CIMD_FETCHES_PER_HOST + 3; i++)
			statuses.push((await authorize(`https://victim.example.org/path-${i}.json`, `203.0.113.${i}`)).status);
		expect(statuses.slice(CIMD_FETCHES_PER_HOST)).toEqual([429, 429, 429]);
		expect(fetched().filter((u) => u.startsWith("https://victim.example.org/"))).toHaveLength(CIMD_FETCHES_PER_HOST);
	});
});
