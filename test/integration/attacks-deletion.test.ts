/**
 * Deleting a user or a tenant (admin API, `smcp users delete` / `smcp tenants delete`): what a
 * deleted account or workspace leaves behind must grant nothing and hold nothing (docs/security.md
 * "Deletion").
 *
 * "Another location" is simulated as in attacks-revocation.test.ts: after the deletion, the API
 * key's KV lookup record is put back, as a location whose KV has not caught up would still serve
 * it; the kernel must refuse it anyway.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { AccountDirectory } from "../../worker/identity/accounts";
import { hashApiKey } from "../../worker/identity/api-keys";
import { brandPrincipal } from "../../shared/rpc/principal";
import { createAccount, ORIGIN, rawPost, rawSession, selfFetch, signedIn, testEnv } from "./helpers";

const kernel = (tenantId: string) => testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId));
const admin = (method: string, path: string, body?: unknown) =>
	selfFetch(`${ORIGIN}/admin${path}`, {
		method,
		headers: { Authorization: `Bearer ${testEnv.SMCP_ADMIN_TOKEN}`, "Content-Type": "application/json" },
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
	});

/** A tools/call on the 2026-07-28 lane (no session): 200 with a result, or a refusal. */
const MODERN = "2026-07-28";
const callTool = (token: string, name: string, args: Record<string, unknown>) =>
	rawPost(
		token,
		{
			jsonrpc: "2.0",
			id: 7,
			method: "tools/call",
			params: {
				name,
				arguments: args,
				_meta: {
					"io.modelcontextprotocol/protocolVersion": MODERN,
					"io.modelcontextprotocol/clientCapabilities": {},
					"io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
				},
			},
		},
		{ "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": name },
	);

/** "ran" when a call with this credential ran (a 200 whose result is not an error); else what came back. */
async function ran(res: Response): Promise<string> {
	const text = await res.text();
	if (res.status !== 200) return `${res.status} ${text.slice(0, 200)}`;
	const body = JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? text) as { result?: { isError?: boolean } };
	return body.result && body.result.isError !== true ? "ran" : text.slice(0, 200);
}

const WRITE = { entities: [{ name: "Secret project", entityType: "note", observations: ["kept by the tenant"] }] };

async function key(tenantId: string, userId: string): Promise<{ key: string; keyId: string; saved: [string, string][] }> {
	const r = (await (
		await admin("POST", `/tenants/${tenantId}/keys`, { userId, name: "k", scopes: ["mcp:read", "mcp:write"], days: 1 })
	).json()) as {
		key: string;
		keyId: string;
	};
	// The KV records a stale location would still serve.
	const lookup = `apikey:${await hashApiKey(r.key)}`;
	const index = `apikey-id:${tenantId}:${r.keyId}`;
	return {
		...r,
		saved: [
			[lookup, (await testEnv.DIRECTORY_KV.get(lookup))!],
			[index, (await testEnv.DIRECTORY_KV.get(index))!],
		],
	};
}
const restore = async (saved: [string, string][]) => {
	for (const [k, v] of saved) await testEnv.DIRECTORY_KV.put(k, v);
};

/** Row counts of the tables that hold a tenant's data. */
const stored = (tenantId: string) =>
	runInDurableObject(kernel(tenantId), (_o: TenantObject, s) =>
		Object.fromEntries(
			["mem_entities", "mem_observations", "audit", "api_keys", "sessions"].map((t) => [
				t,
				s.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n,
			]),
		),
	);

describe("deleting a user", () => {
	it("a deleted user's OAuth token and API keys stop working at once, even where KV still serves the key", async () => {
		const { account, tokens } = await signedIn();
		const owner = await createAccount();
		const team = (await (await admin("POST", "/tenants", { name: "team", ownerUserId: owner.userId })).json()) as { id: string };
		expect((await admin("POST", `/tenants/${team.id}/members`, { userId: account.userId, role: "member" })).status).toBe(200);
		const personalKey = await key(account.tenantId, account.userId);
		const teamKey = await key(team.id, account.userId);
		// Everything works before, and the token is warm in this isolate's cache.
		expect(await ran(await callTool(tokens.access_token, "create_entities", WRITE))).toBe("ran");
		expect(await ran(await callTool(personalKey.key, "read_graph", {}))).toBe("ran");
		expect(await ran(await callTool(teamKey.key, "read_graph", {}))).toBe("ran");
		const session = await rawSession(tokens.access_token);

		// Without the id repeated, nothing happens.
		expect((await admin("DELETE", `/users/${account.userId}`)).status).toBe(400);
		expect(await ran(await callTool(tokens.access_token, "read_graph", {}))).toBe("ran");

		const res = await admin("DELETE", `/users/${account.userId}?confirm=${account.userId}`);
		expect(res.status).toBe(200);
		// The personal tenant's data is gone from storage.
		expect(await res.json()).toMatchObject({ deleted: true, leftTenants: [team.id], personal: { tenantId: account.tenantId } });

		expect(await stored(account.tenantId)).toEqual({
			mem_entities: 0,
			mem_observations: 0,
			audit: 0,
			api_keys: 0,
			sessions: 0,
		});
		expect(await ran(await callTool(tokens.access_token, "read_graph", {}))).not.toBe("ran");
		expect(
			(await rawPost(tokens.access_token, { jsonrpc: "2.0", id: 3, method: "tools/list" }, { "Mcp-Session-Id": session })).status,
		).toBe(401);
		// An isolate whose token cache still holds the token reaches the kernel: an empty, refusing tenant.
		const [userId, grantId] = tokens.access_token.split(":");
		const cached = brandPrincipal({
			tenantId: account.tenantId,
			userId: userId!,
			clientId: tokens.clientId,
			scopes: ["mcp:read"],
			grantId,
		});
		const admission = await kernel(account.tenantId).record(cached, {
			method: "tools/list",
			lane: "modern",
			protocolVersion: MODERN,
			traceId: "t",
			decision: "allowed",
			outcome: "ok",
			durationMs: 0,
		});
		expect(admission.ok).toBe(false);
		await restore(personalKey.saved);
		await restore(teamKey.saved);
		expect(await ran(await callTool(personalKey.key, "read_graph", {}))).not.toBe("ran");
		expect(await ran(await callTool(teamKey.key, "read_graph", {}))).not.toBe("ran");
		// The password signs nobody in and the account is gone; the refused attempts stored no data.
		expect(await new AccountDirectory(testEnv.DIRECTORY_KV).authenticate(account.email, account.password)).toBeNull();
		expect((await admin("GET", `/users?email=${encodeURIComponent(account.email)}`)).status).toBe(404);
		expect(await stored(account.tenantId)).toMatchObject({ mem_entities: 0, api_keys: 0 });
		// The team tenant they left keeps its own trail, and records the deletion there.
		const rows = await runInDurableObject(kernel(team.id), (_o: TenantObject, s) =>
			s.storage.sql.exec<{ method: string; outcome: string }>("SELECT method, outcome FROM audit").toArray(),
		);
		expect(rows.find((r) => r.method === "admin/user_deleted")?.outcome).toContain(account.userId);
		const teamNow = (await (await admin("GET", `/users?email=${encodeURIComponent(owner.email)}`)).json()) as { tenants: { id: string }[] };
		expect(teamNow.tenants.map((t) => t.id)).toContain(team.id);
	});

	it("the last owner of a team tenant cannot be deleted (the tenant would be left unmanaged); the answer says what to do", async () => {
		const { account, tokens } = await signedIn();
		const team = (await (await admin("POST", "/tenants", { name: "team", ownerUserId: account.userId })).json()) as { id: string };
		const res = await admin("DELETE", `/users/${account.userId}?confirm=${account.userId}`);
		expect(res.status).toBe(409);
		const body = (await res.json()) as { error_description: string; tenants: string[] };
		expect(body.tenants).toEqual([team.id]);
		expect(body.error_description).toMatch(/add-member .*--role owner.*tenants delete/);
		// Nothing was changed.
		expect(await ran(await callTool(tokens.access_token, "read_graph", {}))).toBe("ran");
		expect(await new AccountDirectory(testEnv.DIRECTORY_KV).authenticate(account.email, account.password)).not.toBeNull();
	});
});

describe("deleting a tenant", () => {
	it("a deleted tenant's data is gone from storage and its keys are refused, even where KV still serves them", async () => {
		const owner = await createAccount();
		const member = await createAccount();
		const team = (await (await admin("POST", "/tenants", { name: "doomed", ownerUserId: owner.userId })).json()) as { id: string };
		await admin("POST", `/tenants/${team.id}/members`, { userId: member.userId, role: "member" });
		const k = await key(team.id, member.userId);
		expect(await ran(await callTool(k.key, "create_entities", WRITE))).toBe("ran");
		expect((await stored(team.id)).mem_entities).toBe(1);

		expect((await admin("DELETE", `/tenants/${team.id}?confirm=t_${"0".repeat(32)}`)).status).toBe(400);
		const res = await admin("DELETE", `/tenants/${team.id}?confirm=${team.id}`);
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ deleted: true, tenantId: team.id, members: 2, keys: 1 });

		expect(await stored(team.id)).toEqual({ mem_entities: 0, mem_observations: 0, audit: 0, api_keys: 0, sessions: 0 });
		await restore(k.saved);
		expect(await ran(await callTool(k.key, "read_graph", {}))).not.toBe("ran");
		expect(await stored(team.id)).toMatchObject({ mem_entities: 0, api_keys: 0 });
		// The directory forgot it: no record, in nobody's list.
		expect(await testEnv.DIRECTORY_KV.get(`tenant:${team.id}`)).toBeNull();
		for (const who of [owner, member]) {
			const found = (await (await admin("GET", `/users?email=${encodeURIComponent(who.email)}`)).json()) as { tenants: { id: string }[] };
			expect(found.tenants.map((t) => t.id)).not.toContain(team.id);
		}
		expect((await admin("DELETE", `/tenants/${team.id}?confirm=${team.id}`)).status).toBe(404);
	});

	it("a personal tenant is not deleted on its own: the answer names the user to delete instead", async () => {
		const account = await createAccount();
		await admin("POST", `/tenants/${account.tenantId}/suspend`);
		const res = await admin("DELETE", `/tenants/${account.tenantId}?confirm=${account.tenantId}`);
		expect(res.status).toBe(409);
		expect(((await res.json()) as { error_description: string }).error_description).toContain("users delete");
	});
});
