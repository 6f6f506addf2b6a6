/**
 * Storage scan (docs/security.md attack 35): after a full flow — sign-in and consent, code exchange,
 * refresh, an MCP session on each lane, tool calls, the audit trail read back, a session deleted —
 * every value in OAUTH_KV and DIRECTORY_KV (keys, values and metadata) and every table of every
 * SessionObject and TenantObject is read, and none may contain an issued access or refresh token,
 * the authorization code, the PKCE verifier, the consent handle, the password, or a deployment
 * secret in the clear. Grant props may appear only as ciphertext. Tenant apps are in the flow too:
 * an owner's `apps:deploy` key deploys an app and sets a secret, the operator sets another; neither
 * secret value, nor the key, nor `SMCP_SECRETS_KEY` may be found (secrets are stored sealed).
 */
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { SessionObject } from "../../objects/session/session-object";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { authorizeUrl, CookieJar, formValue, pkce, refresh, registerClient } from "../support/oauth-flow";
import { connectMcp, connectSse, createAccount, INIT, ORIGIN, rawPost, selfFetch, testEnv } from "./helpers";

const REDIRECT = "http://127.0.0.1:9/callback";

interface Secrets {
	[what: string]: string;
}

/** One stored value, wherever it came from. */
interface Stored {
	where: string;
	text: string;
}

let secrets: Secrets;
let stored: Stored[];
let tenantId: string;
let deletedSession: string;

/** The whole flow, by hand, so that every secret on the way is known. */
async function fullFlow(): Promise<Secrets> {
	const account = await createAccount();
	tenantId = account.tenantId;
	const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT, "Storage scan client");
	const { verifier, challenge } = await pkce();
	const authorize = authorizeUrl(ORIGIN, {
		clientId,
		redirectUri: REDIRECT,
		challenge,
		scope: "mcp:read mcp:write",
		state: "client-state-1",
		resource: ORIGIN,
	});
	const jar = new CookieJar();
	const page = await selfFetch(authorize.toString(), { redirect: "manual" });
	jar.take(page);
	const html = await page.text();
	const handle = formValue(html, "handle");
	let code = "";
	// A failed sign-in first (audited in the account's tenant), then the right password.
	for (const password of ["wrong password, audited", account.password]) {
		const form = new URLSearchParams({ handle, q: formValue(html, "q"), email: account.email, password, action: "approve" });
		form.append("scope", "mcp:read");
		form.append("scope", "mcp:write");
		const res = await selfFetch(`${ORIGIN}/authorize`, {
			method: "POST",
			redirect: "manual",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header(), Origin: ORIGIN },
			body: form.toString(),
		});
		jar.take(res);
		if (password === account.password) {
			expect(res.status).toBe(302);
			code = new URL(res.headers.get("Location")!).searchParams.get("code")!;
		} else await res.text();
	}
	const exchanged = await selfFetch(`${ORIGIN}/token`, {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			grant_type: "authorization_code",
			code,
			redirect_uri: REDIRECT,
			client_id: clientId,
			code_verifier: verifier,
			resource: ORIGIN,
		}).toString(),
	});
	expect(exchanged.status).toBe(200);
	const first = (await exchanged.json()) as { access_token: string; refresh_token: string };
	const refreshed = (await (await refresh(selfFetch, ORIGIN, clientId, first.refresh_token)).json()) as {
		access_token: string;
		refresh_token: string;
	};

	// MCP on the 2025 lane (SDK client), with tool calls and the audit trail read back.
	const { client } = await connectMcp(refreshed.access_token);
	await client.callTool({
		name: "create_entities",
		arguments: { entities: [{ name: "Stored entity", entityType: "t", observations: ["an observation"] }] },
	});
	await client.callTool({ name: "search_nodes", arguments: { query: "observation" } });
	await client.callTool({ name: "audit_log", arguments: { limit: 50 } });
	await client.readResource({ uri: "smcp://audit-log?limit=5" });
	// The 2024-11-05 lane.
	const sse = (await connectSse(first.access_token)).client;
	await sse.callTool({ name: "read_graph", arguments: {} });
	await sse.close();
	// The 2026-07-28 lane.
	const modern = await rawPost(
		refreshed.access_token,
		{
			jsonrpc: "2.0",
			id: 1,
			method: "tools/call",
			params: {
				name: "open_nodes",
				arguments: { names: ["Stored entity"] },
				_meta: {
					"io.modelcontextprotocol/protocolVersion": "2026-07-28",
					"io.modelcontextprotocol/clientCapabilities": {},
					"io.modelcontextprotocol/clientInfo": { name: "scan", version: "1" },
				},
			},
		},
		{ "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "open_nodes" },
	);
	expect(modern.status).toBe(200);
	await modern.text();
	// A raw session, deleted at the end (its storage must be gone, not just unreachable).
	const init = await rawPost(refreshed.access_token, INIT);
	const doomed = init.headers.get("Mcp-Session-Id")!;
	deletedSession = doomed;
	await init.text();
	await selfFetch(`${ORIGIN}/mcp`, {
		method: "DELETE",
		headers: { Authorization: `Bearer ${refreshed.access_token}`, "Mcp-Session-Id": doomed },
	});
	await client.close();

	// Tenant apps: an app deployed and secrets set through the tenant API (an apps:deploy key) and the admin API.
	const adminHeaders = { Authorization: `Bearer ${testEnv.SMCP_ADMIN_TOKEN}`, "Content-Type": "application/json" };
	const keyRes = await selfFetch(`${ORIGIN}/admin/tenants/${tenantId}/keys`, {
		method: "POST",
		headers: adminHeaders,
		body: JSON.stringify({ userId: account.userId, name: "ci", scopes: ["apps:deploy"], days: 1 }),
	});
	const deployKey = ((await keyRes.json()) as { key: string }).key;
	const ci = { Authorization: `Bearer ${deployKey}`, "Content-Type": "application/json" };
	const bundles = JSON.parse((testEnv as unknown as { TEST_APP_BUNDLES: string }).TEST_APP_BUNDLES) as Record<string, unknown>;
	const deployed = await selfFetch(`${ORIGIN}/api/apps/unit-converter`, {
		method: "PUT",
		headers: ci,
		body: JSON.stringify(bundles["unit-converter"]),
	});
	expect(deployed.status).toBe(201);
	const tenantSecret = `tenant-api-secret-${crypto.randomUUID()}`;
	const operatorSecret = `operator-secret-${crypto.randomUUID()}`;
	const viaKey = await selfFetch(`${ORIGIN}/api/secrets/WEATHER_API_KEY`, {
		method: "PUT",
		headers: ci,
		body: JSON.stringify({ value: tenantSecret }),
	});
	expect(viaKey.status).toBe(200);
	const viaAdmin = await selfFetch(`${ORIGIN}/admin/tenants/${tenantId}/secrets/OTHER_KEY`, {
		method: "PUT",
		headers: adminHeaders,
		body: JSON.stringify({ value: operatorSecret }),
	});
	expect(viaAdmin.status).toBe(200);

	const secretPart = (token: string) => token.split(":")[2]!;
	return {
		"first access token": first.access_token,
		"first access token (secret part)": secretPart(first.access_token),
		"first refresh token": first.refresh_token,
		"first refresh token (secret part)": secretPart(first.refresh_token),
		"refreshed access token": refreshed.access_token,
		"refreshed access token (secret part)": secretPart(refreshed.access_token),
		"refreshed refresh token": refreshed.refresh_token,
		"refreshed refresh token (secret part)": secretPart(refreshed.refresh_token),
		"authorization code": code,
		"authorization code (secret part)": secretPart(code),
		"PKCE verifier": verifier,
		"consent handle": handle,
		password: account.password,
		"wrong password": "wrong password, audited",
		SMCP_SECRET: testEnv.SMCP_SECRET!,
		SMCP_ADMIN_TOKEN: testEnv.SMCP_ADMIN_TOKEN!,
		SMCP_SECRETS_KEY: (testEnv as unknown as { SMCP_SECRETS_KEY: string }).SMCP_SECRETS_KEY,
		"apps:deploy API key": deployKey,
		"tenant secret set with the apps:deploy key": tenantSecret,
		"tenant secret set by the operator": operatorSecret,
	};
}

/** Every key, value and metadata of a KV namespace. */
async function dumpKv(name: string, kv: KVNamespace): Promise<Stored[]> {
	const out: Stored[] = [];
	let cursor: string | undefined;
	do {
		const page = await kv.list({ cursor });
		for (const key of page.keys) {
			const value = await kv.get(key.name, "text");
			out.push({ where: `${name} ${key.name}`, text: `${key.name}\n${JSON.stringify(key.metadata ?? null)}\n${value ?? ""}` });
		}
		cursor = page.list_complete ? undefined : page.cursor;
	} while (cursor);
	return out;
}

/** Every user table (and the KV API's entries) of a Durable Object. */
async function dumpObject(label: string, stub: DurableObjectStub<SessionObject> | DurableObjectStub<TenantObject>): Promise<Stored[]> {
	return runInDurableObject(stub as DurableObjectStub<TenantObject>, async (_o: unknown, state: DurableObjectState) => {
		const out: Stored[] = [];
		const tables = state.storage.sql
			.exec<{ name: string }>(
				"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
			)
			.toArray()
			.map((r) => r.name);
		for (const table of tables) {
			const rows = state.storage.sql.exec(`SELECT * FROM "${table.replaceAll('"', '""')}"`).toArray();
			const text = rows
				.map((r) =>
					Object.values(r)
						.map((v) => (v instanceof ArrayBuffer ? new TextDecoder().decode(v) : String(v)))
						.join("\t"),
				)
				.join("\n");
			out.push({ where: `${label} table ${table} (${rows.length} rows)`, text });
		}
		for (const [key, value] of await state.storage.list())
			out.push({ where: `${label} kv ${key}`, text: `${key}\n${JSON.stringify(value)}` });
		return out;
	});
}

beforeAll(async () => {
	secrets = await fullFlow();
	const sessionIds = await listDurableObjectIds(testEnv.SESSIONS);
	const tenantIds = await listDurableObjectIds(testEnv.TENANTS);
	stored = [
		...(await dumpKv("OAUTH_KV", testEnv.OAUTH_KV)),
		...(await dumpKv("DIRECTORY_KV", testEnv.DIRECTORY_KV)),
		...(
			await Promise.all(sessionIds.map((id) => dumpObject(`SessionObject ${id.toString().slice(0, 12)}`, testEnv.SESSIONS.get(id))))
		).flat(),
		...(await Promise.all(tenantIds.map((id) => dumpObject(`TenantObject ${id.toString().slice(0, 12)}`, testEnv.TENANTS.get(id))))).flat(),
	];
}, 60_000);

describe("storage scan (§4 row 35)", () => {
	it("the scan saw the flow's storage: clients, grants, tokens, accounts, sessions, the tenant's graph and audit trail", () => {
		const where = stored.map((s) => s.where).join("\n");
		expect(where).toMatch(/^OAUTH_KV client:/m);
		expect(where).toMatch(/^OAUTH_KV grant:/m);
		expect(where).toMatch(/^OAUTH_KV token:/m);
		expect(where).toMatch(/^DIRECTORY_KV account:email:/m);
		expect(where).toMatch(/^SessionObject .* table events/m);
		// The session state is one key-value entry (session migration 2 dropped the old `meta` table).
		expect(where).toMatch(/^SessionObject .* kv session$/m);
		expect(where).not.toMatch(/^SessionObject .* table meta/m);
		expect(where).toMatch(/^TenantObject .* table mem_entities \(1 rows\)/m);
		expect(where).toMatch(/^TenantObject .* table audit \(\d{2,} rows\)/m);
		expect(where).toMatch(/^TenantObject .* table app_secrets \(2 rows\)/m);
		expect(where).toMatch(/^TenantObject .* table app_versions \(1 rows\)/m);
		// The tenant's own data is there in the clear (it is the tenant's to read) — the scan works.
		expect(stored.some((s) => s.text.includes("an observation"))).toBe(true);
		expect(stored.some((s) => s.text.includes(tenantId))).toBe(true);
	});

	it("no KV value or Durable Object table holds an access token, refresh token, code, PKCE verifier, consent handle, password or secret in the clear", () => {
		const hits: string[] = [];
		for (const [what, secret] of Object.entries(secrets)) {
			expect(secret.length, what).toBeGreaterThanOrEqual(10);
			const forms = [secret, encodeURIComponent(secret), btoa(secret)];
			for (const s of stored) if (forms.some((f) => s.text.includes(f))) hits.push(`${what} in ${s.where}`);
		}
		expect(hits).toEqual([]);
	});

	it("grant and token records hold the props only as ciphertext", () => {
		const records = stored.filter((s) => /^OAUTH_KV (grant|token):/.test(s.where));
		expect(records.length).toBeGreaterThanOrEqual(2);
		for (const r of records) {
			const value = JSON.parse(r.text.split("\n").slice(2).join("\n")) as Record<string, any>;
			const encrypted = value.encryptedProps ?? value.grant?.encryptedProps;
			expect(typeof encrypted, r.where).toBe("string");
			expect(value.props, r.where).toBeUndefined();
			expect(value.grant?.props, r.where).toBeUndefined();
			// The ciphertext does not carry the props' JSON (e.g. {"tenantId":…,"userId":…}).
			expect(encrypted).not.toContain("tenantId");
			expect(() => JSON.parse(atob(encrypted))).toThrow();
		}
	});

	it("the deleted session left nothing behind, and no session stores a bearer credential", async () => {
		expect(await dumpObject("deleted session", testEnv.SESSIONS.get(testEnv.SESSIONS.idFromName(deletedSession)))).toEqual([]);
		const sessionTables = stored.filter((s) => s.where.startsWith("SessionObject"));
		expect(sessionTables.length).toBeGreaterThan(0);
		for (const s of sessionTables) expect(s.text, s.where).not.toMatch(/Bearer [^\s"]+:/);
	});

	it("the scan itself would notice a leak (control: a refresh token planted in KV is found)", async () => {
		await testEnv.DIRECTORY_KV.put("scan-control", JSON.stringify({ note: secrets["refreshed refresh token"] }));
		try {
			const again = await dumpKv("DIRECTORY_KV", testEnv.DIRECTORY_KV);
			const hits = Object.entries(secrets)
				.filter(([, secret]) => again.some((s) => s.text.includes(secret)))
				.map(([what]) => what);
			expect(hits).toEqual(["refreshed refresh token", "refreshed refresh token (secret part)"]);
		} finally {
			await testEnv.DIRECTORY_KV.delete("scan-control");
		}
	});
});
