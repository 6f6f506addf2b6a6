/**
 * `smcp apps` and `smcp secrets` against `wrangler dev`: the operator deploys examples/unit-converter
 * (bundled by esbuild, checked locally, then checked, guarded and dry-loaded by the server), lists,
 * deploys a second version, rolls back and removes it; a bundle with a hard-coded credential is
 * refused before upload, naming file and line; secrets come from stdin and are never printed; CI
 * deploys with an owner's key holding `apps:deploy` (and a key without it cannot), and the deployed
 * tool answers over /mcp. The Worker's log never holds a secret value.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliRun, runSmcp } from "../support/cli";
import { startWrangler, type DevServer } from "./wrangler";

const ADMIN = "e2e-admin-token-0123456789abcdef0123456789abcdef";
const SECRETS_KEY = "e2e-secrets-key-0123456789abcdef0123456789abcdef";
const EXAMPLE = resolve("examples/unit-converter");
let dev: DevServer;

function smcp(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
	return runSmcp(args, { SMCP_ADMIN_TOKEN: ADMIN, SMCP_API_KEY: "", SMCP_URL: dev.origin, ...opts.env }, opts.stdin);
}
const ok = async (args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) => {
	const r = await smcp(args, opts);
	expect(r.code, r.stderr).toBe(0);
	return r.stdout;
};

/** A copy of the example with another manifest version (its code re-exported from the example). */
function variant(version: string): string {
	const dir = mkdtempSync(join(tmpdir(), "smcp-app-"));
	const manifest = JSON.parse(readFileSync(join(EXAMPLE, "smcp.app.json"), "utf8"));
	writeFileSync(join(dir, "smcp.app.json"), JSON.stringify({ ...manifest, version }));
	writeFileSync(join(dir, "index.ts"), `export { default } from ${JSON.stringify(join(EXAMPLE, "index.ts"))};\n`);
	return dir;
}

beforeAll(async () => {
	dev = await startWrangler({
		persistDir: mkdtempSync(join(tmpdir(), "smcp-apps-cli-")),
		vars: { SMCP_ADMIN_TOKEN: ADMIN, SMCP_SECRETS_KEY: SECRETS_KEY },
	});
});
afterAll(async () => {
	await dev?.stop();
});

describe("smcp apps and secrets", () => {
	let owner: { userId: string; tenantId: string };
	let v1 = "";

	it("deploys examples/unit-converter, lists it, deploys a second version, rolls back and removes it", async () => {
		owner = JSON.parse(
			await ok(["users", "create", "--email", "apps-owner@example.test", "--password-stdin"], { stdin: "apps owner password" }),
		);
		const t = ["--tenant", owner.tenantId];
		const first = await ok(["apps", "deploy", EXAMPLE, ...t]);
		expect(first).toMatch(/^deployed unit-converter 1\.0\.0 [0-9a-f]{64} \(new version, now active\)/);
		v1 = /[0-9a-f]{64}/.exec(first)![0];
		expect(await ok(["apps", "deploy", EXAMPLE, ...t])).toContain("(same version as before, already active)");
		const list = await ok(["apps", "list", ...t]);
		expect(list).toContain("unit-converter  1.0.0");
		expect(list).toContain("tools: convert(mcp:read) list_units(mcp:read)");

		const second = await ok(["apps", "deploy", variant("1.1.0"), ...t]);
		const v2 = /[0-9a-f]{64}/.exec(second)![0];
		expect(v2).not.toBe(v1);
		const versions = await ok(["apps", "versions", "unit-converter", ...t]);
		expect(versions.split("\n")[0]).toMatch(new RegExp(`^\\* ${v2}  1\\.1\\.0`));

		expect(await ok(["apps", "rollback", "unit-converter", ...t])).toBe(`unit-converter is now 1.0.0 ${v1}\n`);
		expect(await ok(["apps", "rollback", "unit-converter", "--to", v2.slice(0, 10), ...t])).toContain(v2);
		expect(await ok(["apps", "logs", "unit-converter", ...t])).toBe("");

		const unconfirmed = await smcp(["apps", "remove", "unit-converter", ...t]);
		expect(unconfirmed.code).toBe(2);
		expect(unconfirmed.stderr).toContain("--yes");
		expect(await ok(["apps", "remove", "unit-converter", "--yes", ...t])).toBe("removed unit-converter (2 versions)\n");
		expect(await ok(["apps", "list", ...t])).toBe("no apps deployed\n");

		const audit = await ok(["audit", "export", ...t]);
		const methods = audit
			.split("\n")
			.filter(Boolean)
			.slice(1)
			.map((l) => JSON.parse(l).method)
			.filter((m: string) => m.startsWith("app/"));
		expect(methods).toEqual(["app/deploy", "app/deploy", "app/deploy", "app/activate", "app/activate", "app/remove"]);
	});

	it("hard-coded credential in the app: refused before upload, naming file and line", async () => {
		const dir = mkdtempSync(join(tmpdir(), "smcp-leaky-"));
		writeFileSync(join(dir, "smcp.app.json"), readFileSync(join(EXAMPLE, "smcp.app.json")));
		const token = `AKIA${"ABCDEFGHIJKLMNOP"}`;
		writeFileSync(
			join(dir, "index.js"),
			`const tools = { convert: () => 1 };\nconst key = "${token}";\ntools.list_units = () => key.length;\nexport default { smcp: 1, tools };\n`,
		);
		const r = await smcp(["apps", "deploy", dir, "--tenant", owner.tenantId]);
		expect(r.code).toBe(1);
		expect(r.stderr).toMatch(/index\.js:\d+: hard-coded AWS access key id/);
		expect(r.stderr).not.toContain(token);
	});

	it("secrets: set from stdin (never printed), listed by name and last change, deleted", async () => {
		const t = ["--tenant", owner.tenantId];
		const value = `cli-secret-${Date.now()}-abcdef`;
		const set = await smcp(["secrets", "set", "WEATHER_API_KEY", ...t], { stdin: `${value}\n` });
		expect(set.code, set.stderr).toBe(0);
		expect(set.stdout).toMatch(/^set WEATHER_API_KEY/);
		expect(set.stdout + set.stderr).not.toContain(value);
		expect(await ok(["secrets", "list", ...t])).toMatch(/^WEATHER_API_KEY {2}last changed /);
		expect(await ok(["secrets", "delete", "WEATHER_API_KEY", ...t])).toBe("deleted WEATHER_API_KEY\n");
		expect(await ok(["secrets", "list", ...t])).toBe("no secrets\n");
		expect(readFileSync(dev.logFile, "utf8")).not.toContain(value);
	});

	it("CI: an owner's key with apps:deploy deploys (no admin token), the tool answers over /mcp; a key without the scope cannot deploy", async () => {
		const key = JSON.parse(
			await ok(["keys", "create", "--tenant", owner.tenantId, "--user", owner.userId, "--name", "ci", "--scopes", "mcp:read,apps:deploy"]),
		).key as string;
		const ci = { SMCP_API_KEY: key, SMCP_ADMIN_TOKEN: "" };
		expect(await ok(["apps", "deploy", EXAMPLE], { env: ci })).toContain(`deployed unit-converter 1.0.0 ${v1}`);
		expect(await ok(["apps", "list"], { env: ci })).toContain("unit-converter");

		const headers = { Authorization: `Bearer ${key}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
		const init = await fetch(`${dev.origin}/mcp`, {
			method: "POST",
			headers,
			body: JSON.stringify({
				jsonrpc: "2.0",
				id: 1,
				method: "initialize",
				params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "ci", version: "1" } },
			}),
		});
		const session = init.headers.get("Mcp-Session-Id")!;
		await init.text();
		const call = await fetch(`${dev.origin}/mcp`, {
			method: "POST",
			headers: { ...headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25" },
			body: JSON.stringify({
				jsonrpc: "2.0",
				id: 2,
				method: "tools/call",
				params: { name: "unit-converter__convert", arguments: { value: 1, from: "km", to: "m" } },
			}),
		});
		const text = await call.text();
		expect(text).toContain('"value":1000');

		const readOnly = JSON.parse(
			await ok(["keys", "create", "--tenant", owner.tenantId, "--user", owner.userId, "--name", "ro", "--scopes", "mcp:read"]),
		).key as string;
		const refused = await smcp(["apps", "deploy", variant("2.0.0")], { env: { SMCP_API_KEY: readOnly, SMCP_ADMIN_TOKEN: "" } });
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain("insufficient_scope");
	});
});
