/**
 * The operator's view, end to end against `wrangler dev`: the `smcp` CLI exports a tenant's audit
 * trail over the admin API and verifies its hash chain locally; a row edited directly in the
 * Durable Object's SQLite file is flagged. Plus the pre-auth flood limit, which only exists
 * outside the test runtime.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWithOAuth } from "./oauth-client";
import { startWrangler, type DevServer } from "./wrangler";

const run = promisify(execFile);
const ADMIN = "e2e-admin-token-0123456789abcdef0123456789abcdef";
const persistDir = mkdtempSync(join(tmpdir(), "smcp-ops-"));
const who = { email: "operator-test@example.test", password: "operator test password" };
let dev: DevServer;
let tenantId: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
	try {
		const r = await run(process.execPath, ["bin/smcp.mjs", ...args], { env: { ...process.env, SMCP_ADMIN_TOKEN: ADMIN } });
		return { code: 0, stdout: r.stdout, stderr: r.stderr };
	} catch (e) {
		const x = e as { code: number; stdout: string; stderr: string };
		return { code: x.code, stdout: x.stdout, stderr: x.stderr };
	}
}

beforeAll(async () => {
	const create = run(process.execPath, [
		"bin/smcp.mjs",
		"users",
		"create",
		"--email",
		who.email,
		"--password-stdin",
		"--local",
		"--persist-to",
		persistDir,
	]);
	create.child.stdin!.end(who.password);
	tenantId = /tenantId:\s+(t_[0-9a-f]{32})/.exec((await create).stdout)![1]!;
	dev = await startWrangler({ persistDir, vars: { SMCP_ADMIN_TOKEN: ADMIN } });
});
afterAll(async () => {
	await dev?.stop();
});

describe("operator CLI and audit chain", () => {
	it("exports the tenant's trail as NDJSON and verifies the chain", async () => {
		const { client } = await connectWithOAuth("mcp", dev.origin, who);
		await client.callTool({ name: "create_entities", arguments: { entities: [{ name: "Audited", entityType: "t", observations: [] }] } });
		await client.callTool({ name: "read_graph", arguments: {} });
		await client.close();
		const out = join(persistDir, "export.ndjson");
		const exported = await cli(["audit", "export", "--tenant", tenantId, "--url", dev.origin, "--out", out]);
		expect(exported.code).toBe(0);
		const lines = readFileSync(out, "utf8")
			.trim()
			.split("\n")
			.map((l) => JSON.parse(l));
		expect(lines[0]).toEqual({ anchor: null });
		expect(lines.slice(1).map((r) => r.method)).toEqual(expect.arrayContaining(["auth/consent", "auth/token", "initialize", "tools/call"]));
		const verified = await cli(["audit", "verify", "--tenant", tenantId, "--url", dev.origin]);
		expect(verified.code).toBe(0);
		expect(verified.stdout).toMatch(/^ok: \d+ rows, hash chain intact/);
	});

	it("a wrong admin token is refused with an actionable message", async () => {
		const r = await run(process.execPath, ["bin/smcp.mjs", "audit", "verify", "--tenant", tenantId, "--url", dev.origin], {
			env: { ...process.env, SMCP_ADMIN_TOKEN: "wrong".repeat(10) },
		}).catch((e) => e);
		expect(r.code).toBe(2);
		expect(r.stderr).toContain("refused the token");
	});

	it("flags a row edited directly in storage (exit 1, first broken link)", async () => {
		await dev.stop();
		const { DatabaseSync } = await import("node:sqlite");
		const dir = join(persistDir, "v3/do/smcp-TenantObject");
		let edited = 0;
		for (const f of readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")) {
			const db = new DatabaseSync(join(dir, f));
			const hasAudit = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'audit'").all().length > 0;
			if (hasAudit && db.prepare("SELECT 1 FROM audit WHERE tenant = ?").all(tenantId).length > 0) {
				edited += Number(db.prepare("UPDATE audit SET decision = 'denied' WHERE seq = 2").run().changes);
			}
			db.close();
		}
		expect(edited).toBe(1);
		dev = await startWrangler({ persistDir, port: dev.port, vars: { SMCP_ADMIN_TOKEN: ADMIN } });
		const r = await cli(["audit", "verify", "--tenant", tenantId, "--url", dev.origin]);
		expect(r.code).toBe(1);
		expect(r.stdout).toMatch(/BROKEN at seq 2: hash_mismatch/);
	});
});

describe("deleting with the CLI", () => {
	it("users delete asks first: without --yes and without a terminal nothing is deleted; with --yes the account is gone", async () => {
		const create = run(
			process.execPath,
			["bin/smcp.mjs", "users", "create", "--email", "leaving@example.test", "--password-stdin", "--url", dev.origin],
			{
				env: { ...process.env, SMCP_ADMIN_TOKEN: ADMIN },
			},
		);
		create.child.stdin!.end("a long enough password");
		const { userId } = JSON.parse((await create).stdout) as { userId: string };
		const unconfirmed = await cli(["users", "delete", "--user", userId, "--url", dev.origin]);
		expect(unconfirmed.code).toBe(2);
		expect(unconfirmed.stderr).toContain("pass --yes");
		expect((await cli(["users", "find", "--email", "leaving@example.test", "--url", dev.origin])).code).toBe(0);
		const deleted = await cli(["users", "delete", "--user", userId, "--yes", "--url", dev.origin]);
		expect(deleted.code).toBe(0);
		expect(JSON.parse(deleted.stdout)).toMatchObject({ deleted: true, userId });
		const gone = await cli(["users", "find", "--email", "leaving@example.test", "--url", dev.origin]);
		expect(gone.code).toBe(2);
		expect(gone.stderr).toContain("404");
	});
});

describe("pre-auth flood limit", () => {
	it("an unauthenticated flood from one IP gets 429 with Retry-After and never reaches a Durable Object", async () => {
		const statuses: number[] = [];
		// The simulated limiter counts in fixed 60 s windows: 700 requests overflow one of two adjacent windows.
		for (let i = 0; i < 700; i++) {
			const res = await fetch(`${dev.origin}/mcp`, { method: "POST", headers: { "CF-Connecting-IP": "203.0.113.9" } });
			statuses.push(res.status);
			if (res.status === 429) {
				expect(res.headers.get("Retry-After")).toBe("60");
				break;
			}
		}
		expect(statuses).toContain(429);
		expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
		// An Authorization header that is not a bearer on MCP traffic does not skip the limit
		// (limiter bypass by header): any other path counts against the IP too.
		let limited = false;
		for (let i = 0; i < 700 && !limited; i++) {
			const res = await fetch(`${dev.origin}/account`, { headers: { "CF-Connecting-IP": "203.0.113.77", Authorization: "Basic eDp5" } });
			limited = res.status === 429;
		}
		expect(limited).toBe(true);
		// Another client IP is unaffected.
		expect((await fetch(`${dev.origin}/mcp`, { method: "POST", headers: { "CF-Connecting-IP": "198.51.100.7" } })).status).toBe(401);
	});
});
