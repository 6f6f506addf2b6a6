/**
 * The operator CLI against `wrangler dev`: users, tenants, memberships, keys, grants, suspension,
 * and `doctor` (which must pass here and name the failing check against a broken server).
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliRun, runSmcp } from "../support/cli";
import { startWrangler, type DevServer } from "./wrangler";

const ADMIN = "e2e-admin-token-0123456789abcdef0123456789abcdef";
let dev: DevServer;

function smcp(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
	return runSmcp(args, { SMCP_ADMIN_TOKEN: ADMIN, SMCP_URL: dev.origin, ...opts.env }, opts.stdin);
}
const json = async (args: string[], stdin?: string) => {
	const r = await smcp(args, { stdin });
	expect(r.code, r.stderr).toBe(0);
	return JSON.parse(r.stdout);
};
const init = (bearer: string) =>
	fetch(`${dev.origin}/mcp`, {
		method: "POST",
		headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
		body: JSON.stringify({
			jsonrpc: "2.0",
			id: 1,
			method: "initialize",
			params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "cli", version: "1" } },
		}),
	});

beforeAll(async () => {
	dev = await startWrangler({ persistDir: mkdtempSync(join(tmpdir(), "smcp-cli-")), vars: { SMCP_ADMIN_TOKEN: ADMIN } });
});
afterAll(async () => {
	await dev?.stop();
});

describe("smcp CLI", () => {
	let user: { userId: string; tenantId: string };
	let key: string;
	let keyId: string;
	let team: { id: string };

	it("creates a user (password from stdin) and a team tenant, and adds the user", async () => {
		user = await json(["users", "create", "--email", "cli-user@example.test", "--password-stdin"], "cli user password");
		expect(user.userId).toMatch(/^u_/);
		const owner = await json(["users", "create", "--email", "cli-owner@example.test", "--password-stdin"], "cli owner password");
		team = await json(["tenants", "create", "--name", "CLI Team", "--owner", owner.userId]);
		const added = await json(["tenants", "add-member", "--tenant", team.id, "--user", user.userId]);
		expect(added.role).toBe("member");
		const list = await json(["tenants", "list"]);
		expect(list.tenants.some((t: { id: string; name: string }) => t.id === team.id && t.name === "CLI Team")).toBe(true);
		const all = await json(["tenants", "list", "--all"]);
		expect(all.tenants.some((t: { id: string }) => t.id === team.id)).toBe(true);
		const found = await json(["users", "find", "--email", "CLI-User@example.test"]);
		expect(found).toMatchObject({ userId: user.userId, email: "cli-user@example.test" });
		expect(found.tenants.map((t: { id: string }) => t.id)).toContain(team.id);
		// Personal tenants too, each with its owner (they used to be missing: only stored records were listed).
		const personal = all.tenants.find((t: { id: string }) => t.id === user.tenantId);
		expect(personal).toMatchObject({ kind: "personal", owners: [{ userId: user.userId, email: "cli-user@example.test" }] });
	});

	it("creates a key, which works, is listed by prefix, and stops working when revoked", async () => {
		const r = await json([
			"keys",
			"create",
			"--tenant",
			user.tenantId,
			"--user",
			user.userId,
			"--name",
			"ci",
			"--scopes",
			"mcp:read",
			"--days",
			"7",
		]);
		key = r.key;
		keyId = r.keyId;
		expect((await init(key)).status).toBe(200);
		const listed = await json(["keys", "list", "--tenant", user.tenantId]);
		expect(listed.keys[0]).toMatchObject({ keyId, prefix: `smcp_${keyId}_…` });
		expect(JSON.stringify(listed)).not.toContain(key);
	});

	it("doctor passes against the local server, including an MCP session and unbuffered SSE", async () => {
		const r = await smcp(["doctor", dev.origin], { env: { SMCP_TOKEN: key } });
		expect(r.code, r.stdout).toBe(0);
		expect(r.stdout).toMatch(/PASS {2}protected-resource metadata/);
		expect(r.stdout).toMatch(/PASS {2}SSE not buffered/);
		expect(r.stdout).toMatch(/PASS {2}MCP session with a token/);
		expect(r.stdout).not.toMatch(/FAIL/);
	});

	it("doctor names the failing check when a piece is broken", async () => {
		// A server that publishes resource metadata but no authorization-server metadata.
		const broken: Server = createServer((req, res) => {
			if (req.url === "/.well-known/oauth-protected-resource") {
				res.writeHead(200, { "Content-Type": "application/json" });
				res.end(JSON.stringify({ resource: `http://127.0.0.1:${(broken.address() as { port: number }).port}`, authorization_servers: [] }));
			} else {
				res.writeHead(404);
				res.end();
			}
		});
		await new Promise<void>((r) => broken.listen(0, "127.0.0.1", r));
		const url = `http://127.0.0.1:${(broken.address() as { port: number }).port}`;
		const r = await smcp(["doctor", url]);
		broken.close();
		expect(r.code).toBe(1);
		expect(r.stdout).toMatch(/FAIL {2}authorization-server metadata/);
		expect(r.stdout).toMatch(/FAIL {2}\/mcp reachable with a 401 challenge/);
		expect(r.stdout).toMatch(/PASS {2}protected-resource metadata/);
	});

	it("suspends a tenant (its key gets 401) and reactivates it; revokes the key", async () => {
		await json(["tenants", "suspend", "--tenant", user.tenantId]);
		expect((await init(key)).status).toBe(401);
		await json(["tenants", "reactivate", "--tenant", user.tenantId]);
		expect((await init(key)).status).toBe(200);
		await json(["keys", "revoke", "--tenant", user.tenantId, "--key", keyId]);
		expect((await init(key)).status).toBe(401);
	});

	it("resets a password, and refuses a password given as an argument", async () => {
		expect(
			(await smcp(["users", "reset-password", "--user", user.userId, "--password-stdin"], { stdin: "a brand new password" })).code,
		).toBe(0);
		const r = await smcp(["users", "reset-password", "--user", user.userId]);
		expect(r.code).toBe(2);
		expect(r.stderr).toContain("stdin");
	});

	it("lists grants and says what is wrong with a bad admin token", async () => {
		expect((await json(["grants", "list", "--user", user.userId])).items).toEqual([]);
		const r = await smcp(["tenants", "list"], { env: { SMCP_ADMIN_TOKEN: "wrong-token-wrong-token-wrong-token-1234" } });
		expect(r.code).toBe(2);
		expect(r.stderr).toContain("refused the token");
	});
});
