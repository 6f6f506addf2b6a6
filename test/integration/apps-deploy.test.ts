/**
 * Getting an app into a tenant and managing it: deploy, versions, roll back, remove and secrets
 * through the admin API, the tenant's own API (an owner's key with `apps:deploy`) and `/account`;
 * the deploy checks (secret scan, egress policy, the dry load), the kernel's re-verification (a
 * stored bundle whose hash no longer matches is refused), the audit rows, and that secret values
 * never come back out. Tests named after an attack say so.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppBundle } from "../../shared/apps/bundle";
import type { AppManifestInput } from "../../shared/apps/manifest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import type { HostedCatalog } from "../../shared/rpc/apps";
import { CookieJar } from "../support/oauth-flow";
import { auditRows, DEFINE_APP, kernel } from "./apps-helpers";
import { createAccount, ORIGIN, selfFetch, signedIn } from "./helpers";

const ADMIN = "test-admin-token-0123456789abcdef0123456789";
const bundles = JSON.parse((env as unknown as { TEST_APP_BUNDLES: string }).TEST_APP_BUNDLES) as Record<
	string,
	AppBundle<AppManifestInput>
>;
const converter = bundles["unit-converter"]!;

/** A call of the admin API. */
const admin = (method: string, path: string, body?: unknown) =>
	selfFetch(`${ORIGIN}/admin${path}`, {
		method,
		headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
	});
/** A call of the tenant API with a bearer (an API key). */
const api = (key: string, method: string, path: string, body?: unknown) =>
	selfFetch(`${ORIGIN}/api${path}`, {
		method,
		headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
	});

/** A small app whose source the test controls. */
function tinyApp(
	name: string,
	opts: { version?: string; source?: string; tools?: string[]; egress?: string[] } = {},
): AppBundle<AppManifestInput> {
	const tools = opts.tools ?? ["echo"];
	return {
		manifest: {
			name,
			version: opts.version ?? "1.0.0",
			main: "index.js",
			tools: tools.map((t) => ({ name: t, description: `The ${t} tool.`, inputSchema: { type: "object" }, scope: "mcp:read" as const })),
			egress: opts.egress ?? [],
		},
		modules: {
			"index.js":
				opts.source ??
				`import { defineApp } from "./sdk.js";\nexport default defineApp({ tools: { ${tools.map((t) => `${t}: (a) => a`).join(", ")} } });\n`,
			"sdk.js": DEFINE_APP,
		},
	};
}

async function newTenant() {
	const a = await createAccount();
	return a.tenantId;
}

afterEach(() => vi.restoreAllMocks());

describe("deploy, versions, roll back, remove (admin API)", () => {
	it("deploys the unit converter, lists it, keeps versions, rolls back and removes it; each step audited with who, hash and capabilities, never code", async () => {
		const t = await newTenant();
		const first = await admin("PUT", `/tenants/${t}/apps/unit-converter`, converter);
		expect(first.status).toBe(201);
		const v1 = (await first.json()) as { hash: string; created: boolean; activated: boolean };
		expect(v1).toMatchObject({ app: "unit-converter", version: "1.0.0", created: true, activated: true });
		expect(v1.hash).toMatch(/^[0-9a-f]{64}$/);

		// Identical deploy: same version id, nothing new stored.
		const again = await admin("PUT", `/tenants/${t}/apps/unit-converter`, converter);
		expect(again.status).toBe(200);
		expect(await again.json()).toMatchObject({ hash: v1.hash, created: false, activated: false });

		const next = { ...converter, manifest: { ...converter.manifest, version: "1.1.0" } };
		const v2 = (await (await admin("PUT", `/tenants/${t}/apps/unit-converter`, next)).json()) as { hash: string };
		expect(v2.hash).not.toBe(v1.hash);

		const list = (await (await admin("GET", `/tenants/${t}/apps`)).json()) as {
			apps: { app: string; activeHash: string; capabilities: unknown }[];
		};
		expect(list.apps).toEqual([
			expect.objectContaining({
				app: "unit-converter",
				activeHash: v2.hash,
				version: "1.1.0",
				versions: 2,
				capabilities: {
					tools: [
						{ name: "convert", scope: "mcp:read" },
						{ name: "list_units", scope: "mcp:read" },
					],
					egress: [],
					secrets: [],
				},
			}),
		]);
		expect(((await kernel(t).hostedTools()) as HostedCatalog).tools.map((x) => x.name)).toEqual([
			"unit-converter__convert",
			"unit-converter__list_units",
		]);

		const versions = (await (await admin("GET", `/tenants/${t}/apps/unit-converter/versions`)).json()) as {
			versions: { hash: string; active: boolean; deployedBy: string }[];
		};
		expect(versions.versions.map((v) => [v.hash, v.active])).toEqual([
			[v2.hash, true],
			[v1.hash, false],
		]);
		expect(versions.versions[0]!.deployedBy).toBe("operator via admin-api");

		const back = await admin("POST", `/tenants/${t}/apps/unit-converter/activate`, { hash: v1.hash });
		expect(back.status).toBe(200);
		expect(await back.json()).toMatchObject({ hash: v1.hash, version: "1.0.0", changed: true });

		// Storage and log go with the app.
		await runInDurableObject(kernel(t), (_o: TenantObject, state) => {
			state.storage.sql.exec("INSERT INTO app_kv (app, key, value, bytes) VALUES ('unit-converter', 'k', '1', 2)");
			state.storage.sql.exec("INSERT INTO app_logs (app, ts, level, message) VALUES ('unit-converter', 1, 'info', 'hello')");
		});
		expect(((await (await admin("GET", `/tenants/${t}/apps/unit-converter/logs`)).json()) as { lines: unknown[] }).lines).toHaveLength(1);
		const removed = await admin("DELETE", `/tenants/${t}/apps/unit-converter`);
		expect(removed.status).toBe(200);
		expect(await removed.json()).toEqual({ app: "unit-converter", versions: 2 });
		expect(((await (await admin("GET", `/tenants/${t}/apps`)).json()) as { apps: unknown[] }).apps).toEqual([]);
		expect(((await kernel(t).hostedTools()) as HostedCatalog).tools).toEqual([]);
		await runInDurableObject(kernel(t), (_o: TenantObject, state) => {
			for (const table of ["app_versions", "apps", "app_kv", "app_logs"])
				expect(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).one().n, table).toBe(0);
		});
		expect((await admin("DELETE", `/tenants/${t}/apps/unit-converter`)).status).toBe(404);

		const rows = (await auditRows(t)).filter((r) => r.method.startsWith("app/"));
		expect(rows.map((r) => r.method).reverse()).toEqual([
			"app/deploy",
			"app/deploy",
			"app/deploy",
			"app/activate",
			"app/remove",
			"app/remove",
		]);
		const deploy = rows.find((r) => r.method === "app/deploy" && r.outcome.includes(v1.hash))!;
		expect(deploy).toMatchObject({ user: "operator", client: "admin-api", decision: "allowed" });
		expect(deploy.outcome).toContain("unit-converter v1.0.0");
		expect(deploy.outcome).toContain("tools: convert(mcp:read) list_units(mcp:read); egress: -; secrets: -");
		expect(rows.find((r) => r.method === "app/activate")!.outcome).toContain(`${v1.hash} (was ${v2.hash})`);
		expect(rows[0]).toMatchObject({ method: "app/remove", decision: "denied", outcome: "unknown_app: unit-converter" });
		for (const r of rows) expect(JSON.stringify(r)).not.toMatch(/defineApp|TEMPERATURE|__smcp/);
	});

	it("keeps at most 10 versions of an app: the oldest inactive ones are pruned", async () => {
		const t = await newTenant();
		for (let i = 0; i < 12; i++)
			expect((await admin("PUT", `/tenants/${t}/apps/many`, tinyApp("many", { version: `1.0.${i}` }))).status).toBe(201);
		const versions = ((await (await admin("GET", `/tenants/${t}/apps/many/versions`)).json()) as { versions: { version: string }[] })
			.versions;
		expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 10 }, (_, i) => `1.0.${11 - i}`));
	});

	it("refuses an app whose name differs from the path, and malformed bodies, with invalid_bundle / invalid_request", async () => {
		const t = await newTenant();
		const r = await admin("PUT", `/tenants/${t}/apps/other-name`, converter);
		expect(r.status).toBe(400);
		expect(await r.json()).toMatchObject({ error: "invalid_bundle", error_description: expect.stringContaining('"unit-converter"') });
		const bad = await selfFetch(`${ORIGIN}/admin/tenants/${t}/apps/x`, {
			method: "PUT",
			headers: { Authorization: `Bearer ${ADMIN}` },
			body: "{",
		});
		expect(bad.status).toBe(400);
	});

	it("a malformed percent-escape in an app or secret name (/apps/%E0%A4%A, /secrets/%ZZ) → 400 invalid_request, not a 500", async () => {
		const t = await newTenant();
		for (const [method, path] of [
			["GET", "/apps/%E0%A4%A/versions"],
			["DELETE", "/apps/%"],
			["PUT", "/secrets/%ZZ"],
			["DELETE", "/secrets/A%"],
		] as const) {
			const r = await admin(method, `/tenants/${t}${path}`, method === "PUT" ? { value: "v" } : undefined);
			expect(r.status, `${method} ${path}`).toBe(400);
			expect(await r.json()).toMatchObject({ error: expect.stringMatching(/^invalid_/) });
		}
	});
});

describe("secret values", () => {
	it("a secret value shorter than 4 characters (which redaction would leave alone) is refused with invalid_secret", async () => {
		const t = await newTenant();
		const r = await admin("PUT", `/tenants/${t}/secrets/SHORT`, { value: "abc" });
		expect(r.status).toBe(400);
		expect(await r.json()).toMatchObject({ error: "invalid_secret" });
		expect((await admin("PUT", `/tenants/${t}/secrets/SHORT`, { value: "abcd" })).status).toBe(200);
	});
});

describe("deploy checks", () => {
	it("hard-coded credential in a bundle: refused, naming the file and line", async () => {
		const t = await newTenant();
		const token = `gh${"p_"}${"a1B2".repeat(9)}`;
		const app = tinyApp("leaky", {
			source: `import { defineApp } from "./sdk.js";\n\nconst auth = "${token}";\nexport default defineApp({ tools: { echo: () => auth.length } });\n`,
		});
		const r = await admin("PUT", `/tenants/${t}/apps/leaky`, app);
		expect(r.status).toBe(400);
		const body = (await r.json()) as { error: string; error_description: string; refusals: { kind: string; file: string; line: number }[] };
		expect(body.error).toBe("invalid_bundle");
		expect(body.error_description).toMatch(/^index\.js:3: hard-coded GitHub token/);
		expect(body.refusals).toEqual([expect.objectContaining({ kind: "secret", file: "index.js", line: 3 })]);
		expect(JSON.stringify(body)).not.toContain(token);
		expect(((await (await admin("GET", `/tenants/${t}/apps`)).json()) as { apps: unknown[] }).apps).toEqual([]);
	});

	it.each([
		["a wildcard host", "*.example.com", /wildcards are not allowed/],
		["a private address", "10.0.0.7", /private/],
		["the cloud metadata address", "169.254.169.254", /private, loopback, link-local/],
		["loopback without a port", "127.0.0.1", /explicit port/],
	])("egress to %s: refused at deploy", async (_what, host, why) => {
		const t = await newTenant();
		const r = await admin("PUT", `/tenants/${t}/apps/reach`, tinyApp("reach", { egress: [host] }));
		expect(r.status).toBe(400);
		const body = (await r.json()) as { refusals: { kind: string; message: string }[] };
		expect(body.refusals[0]).toMatchObject({ kind: "manifest", message: expect.stringMatching(why) });
	});

	it("loopback egress with a port is accepted only because this deployment's origin is loopback (dev and tests)", async () => {
		const t = await newTenant();
		expect((await admin("PUT", `/tenants/${t}/apps/local`, tinyApp("local", { egress: ["127.0.0.1:9999"] }))).status).toBe(201);
	});

	it("manifest and exports disagree: the dry load refuses a handler the manifest does not declare, and a declared tool without handler", async () => {
		const t = await newTenant();
		const extra = tinyApp("mismatch", {
			source: `import { defineApp } from "./sdk.js";\nexport default defineApp({ tools: { echo: (a) => a, hidden: () => 1 } });\n`,
		});
		const r = await admin("PUT", `/tenants/${t}/apps/mismatch`, extra);
		expect(r.status).toBe(400);
		expect(await r.json()).toMatchObject({
			error: "invalid_bundle",
			refusals: [{ kind: "bundle", file: "index.js", message: 'handler "hidden" is not declared in the manifest\'s tools' }],
		});
		const missing = tinyApp("mismatch", {
			tools: ["echo", "other"],
			source: `import { defineApp } from "./sdk.js";\nexport default defineApp({ tools: { echo: (a) => a } });\n`,
		});
		expect(await (await admin("PUT", `/tenants/${t}/apps/mismatch`, missing)).json()).toMatchObject({
			refusals: [{ message: 'tool "other" is declared in the manifest but has no handler in tools' }],
		});
		expect(((await (await admin("GET", `/tenants/${t}/apps`)).json()) as { apps: unknown[] }).apps).toEqual([]);
	});

	it("a module that reaches the network while it loads: the dry load (no network) refuses it", async () => {
		const t = await newTenant();
		const app = tinyApp("phone-home", {
			source: `import { defineApp } from "./sdk.js";\nawait fetch("https://example.com/");\nexport default defineApp({ tools: { echo: (a) => a } });\n`,
		});
		const r = await admin("PUT", `/tenants/${t}/apps/phone-home`, app);
		expect(r.status).toBe(400);
		expect(((await r.json()) as { error_description: string }).error_description).toMatch(/failed to load in an isolate without network/);
	});
});

describe("the kernel re-verifies what it stores", () => {
	it("stored bundle tampered with (hash no longer matches): activation refused and audited", async () => {
		const t = await newTenant();
		const v1 = (await (await admin("PUT", `/tenants/${t}/apps/tamper`, tinyApp("tamper"))).json()) as { hash: string };
		const v2 = (await (await admin("PUT", `/tenants/${t}/apps/tamper`, tinyApp("tamper", { version: "2.0.0" }))).json()) as {
			hash: string;
		};
		await runInDurableObject(kernel(t), (_o: TenantObject, state) => {
			const row = state.storage.sql.exec<{ modules: string }>("SELECT modules FROM app_versions WHERE hash = ?", v1.hash).one();
			const modules = JSON.parse(row.modules) as Record<string, string>;
			modules["index.js"] = `${modules["index.js"]}\nglobalThis.stolen = 1;`;
			state.storage.sql.exec("UPDATE app_versions SET modules = ? WHERE hash = ?", JSON.stringify(modules), v1.hash);
		});
		const r = await admin("POST", `/tenants/${t}/apps/tamper/activate`, { hash: v1.hash });
		expect(r.status).toBe(409);
		expect(await r.json()).toMatchObject({ error: "hash_mismatch" });
		expect((await kernel(t).listApps())[0]!.activeHash).toBe(v2.hash);
		expect((await auditRows(t))[0]).toMatchObject({ method: "app/activate", decision: "denied", outcome: "hash_mismatch: tamper" });
		// Deploying the same source again replaces the damaged copy.
		const redeploy = await admin("PUT", `/tenants/${t}/apps/tamper`, tinyApp("tamper"));
		expect(await redeploy.json()).toMatchObject({ hash: v1.hash, activated: true });
	});

	it("a bundle handed to the kernel directly, bypassing the front Worker's checks: wrong hash, missing guard and an unvalidated manifest are refused", async () => {
		const t = await newTenant();
		const actor = { tenantId: t, userId: "operator", clientId: "admin-api" };
		const app = tinyApp("direct");
		const manifest = {
			...app.manifest,
			egress: [],
			secrets: [],
			limits: { cpuMs: 50, subRequests: 10, timeoutMs: 10000, maxResultBytes: 262144, storageBytes: 1048576 },
		};
		const unguarded = await kernel(t).deployApp(actor, { manifest: manifest as never, modules: app.modules, hash: "0".repeat(64) });
		expect(unguarded).toMatchObject({ ok: false, error: { reason: "invalid_bundle", message: expect.stringContaining("loop guard") } });
		const { guardBundle } = await import("../../shared/apps/guard");
		const guarded = guardBundle(app.modules);
		if (!guarded.ok) throw new Error("guard");
		const wrongHash = await kernel(t).deployApp(actor, { manifest: manifest as never, modules: guarded.modules, hash: "0".repeat(64) });
		expect(wrongHash).toMatchObject({ ok: false, error: { reason: "hash_mismatch" } });
		const raw = await kernel(t).deployApp(actor, { manifest: app.manifest as never, modules: guarded.modules, hash: "0".repeat(64) });
		expect(raw).toMatchObject({ ok: false, error: { reason: "invalid_bundle", message: expect.stringContaining("validated form") } });
		const other = await kernel(t).deployApp(
			{ ...actor, tenantId: await newTenant() },
			{ manifest: manifest as never, modules: guarded.modules, hash: "0".repeat(64) },
		);
		expect(other).toMatchObject({ ok: false, error: { reason: "not_allowed" } });
		expect(await kernel(t).listApps()).toEqual([]);
	});
});

/** A team tenant with an owner and a member, and keys for both. */
async function team() {
	const owner = await createAccount();
	const member = await createAccount();
	const created = (await (await admin("POST", "/tenants", { name: "Team", ownerUserId: owner.userId })).json()) as { id: string };
	await admin("POST", `/tenants/${created.id}/members`, { userId: member.userId, role: "member" });
	const key = async (userId: string, scopes: string[]) => {
		const r = await admin("POST", `/tenants/${created.id}/keys`, { userId, name: "ci", scopes, days: 1 });
		return { status: r.status, body: (await r.json()) as { key?: string; error_description?: string } };
	};
	return { tenantId: created.id, owner, member, key };
}

describe("deploying from CI with an API key (apps:deploy)", () => {
	it("an owner's key with apps:deploy deploys, lists, rolls back, removes and sets secrets; the rows name the key", async () => {
		const tm = await team();
		const k = (await tm.key(tm.owner.userId, ["apps:deploy"])).body.key!;
		const r = await api(k, "PUT", "/apps/unit-converter", converter);
		expect(r.status).toBe(201);
		const { hash } = (await r.json()) as { hash: string };
		expect(((await (await api(k, "GET", "/apps")).json()) as { apps: { activeHash: string }[] }).apps[0]!.activeHash).toBe(hash);
		expect((await api(k, "PUT", "/secrets/CI_TOKEN", { value: "ci-secret-value-123456" })).status).toBe(200);
		expect(await (await api(k, "GET", "/secrets")).json()).toEqual({ secrets: [{ name: "CI_TOKEN", updatedAt: expect.any(Number) }] });
		expect((await api(k, "DELETE", "/apps/unit-converter")).status).toBe(200);
		const rows = (await auditRows(tm.tenantId)).filter((x) => x.method.startsWith("app/"));
		expect(rows.every((x) => x.user === tm.owner.userId && x.client.startsWith("key_"))).toBe(true);
		expect(rows.map((x) => x.method)).toEqual(["app/remove", "app/secret_set", "app/deploy"]);
	});

	it("a key without apps:deploy cannot deploy (403 insufficient_scope), nor can an OAuth access token", async () => {
		const tm = await team();
		const k = (await tm.key(tm.owner.userId, ["mcp:read", "mcp:write"])).body.key!;
		const r = await api(k, "PUT", "/apps/unit-converter", converter);
		expect(r.status).toBe(403);
		expect(await r.json()).toMatchObject({ error: "insufficient_scope" });
		expect(r.headers.get("WWW-Authenticate")).toContain('scope="apps:deploy"');
		const s = await signedIn();
		expect((await api(s.tokens.access_token, "PUT", "/apps/unit-converter", converter)).status).toBe(403);
		expect((await api("smcp_00000000_" + "A".repeat(43), "GET", "/apps")).status).toBe(401);
		expect(await kernel(tm.tenantId).listApps()).toEqual([]);
	});

	it("a member (non-owner) cannot deploy: no apps:deploy key for a member, and an owner's key stops working once the owner is demoted", async () => {
		const tm = await team();
		const refused = await tm.key(tm.member.userId, ["apps:deploy"]);
		expect(refused.status).toBe(400);
		expect(refused.body.error_description).toMatch(/owner/);
		const k = (await tm.key(tm.owner.userId, ["apps:deploy"])).body.key!;
		// Another owner is added, then the key's user becomes a member.
		await admin("POST", `/tenants/${tm.tenantId}/members`, { userId: tm.member.userId, role: "owner" });
		await admin("POST", `/tenants/${tm.tenantId}/members`, { userId: tm.owner.userId, role: "member" });
		const r = await api(k, "PUT", "/apps/unit-converter", converter);
		expect(r.status).toBe(403);
		expect(await r.json()).toMatchObject({ error: "access_denied" });
		expect(await kernel(tm.tenantId).listApps()).toEqual([]);
	});

	it("a revoked apps:deploy key is refused by the kernel even where the front door still knows it", async () => {
		const tm = await team();
		const created = await admin("POST", `/tenants/${tm.tenantId}/keys`, {
			userId: tm.owner.userId,
			name: "ci",
			scopes: ["apps:deploy"],
			days: 1,
		});
		const { keyId } = (await created.json()) as { keyId: string };
		await runInDurableObject(kernel(tm.tenantId), (_o: TenantObject, state) => {
			state.storage.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", Date.now(), keyId);
		});
		const r = await kernel(tm.tenantId).setSecret({ tenantId: tm.tenantId, userId: tm.owner.userId, clientId: `key_${keyId}` }, "X_KEY", {
			kid: "00000000",
			iv: "AAAAAAAAAAAAAAAA",
			ct: "AAAAAAAAAAAAAAAAAAAAAA",
		});
		expect(r).toMatchObject({ ok: false, error: { reason: "not_allowed" } });
		expect(await kernel(tm.tenantId).listSecrets()).toEqual([]);
	});
});

describe("tenant secrets", () => {
	it("secret values never appear in responses, logs, audit rows or the kernel's storage (ciphertext only)", async () => {
		const t = await newTenant();
		const value = `s3cr3t-${crypto.randomUUID()}`;
		const rotated = `r0tated-${crypto.randomUUID()}`;
		const lines: string[] = [];
		for (const level of ["log", "info", "warn", "error", "debug"] as const)
			vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
		const responses: string[] = [];
		const keep = async (r: Response) => {
			responses.push(await r.clone().text());
			return r;
		};
		expect((await keep(await admin("PUT", `/tenants/${t}/secrets/WEATHER_API_KEY`, { value }))).status).toBe(200);
		expect((await keep(await admin("PUT", `/tenants/${t}/secrets/WEATHER_API_KEY`, { value: rotated }))).status).toBe(200);
		const list = await keep(await admin("GET", `/tenants/${t}/secrets`));
		expect(await list.json()).toEqual({ secrets: [{ name: "WEATHER_API_KEY", updatedAt: expect.any(Number) }] });
		expect((await keep(await admin("PUT", `/tenants/${t}/secrets/TOO_BIG`, { value: "x".repeat(4097) }))).status).toBe(400);
		expect((await keep(await admin("PUT", `/tenants/${t}/secrets/lower`, { value }))).status).toBe(400);

		const rows = await auditRows(t);
		expect(rows.filter((r) => r.method.startsWith("app/secret")).map((r) => [r.method, r.outcome])).toEqual([
			["app/secret_rotated", "WEATHER_API_KEY"],
			["app/secret_set", "WEATHER_API_KEY"],
		]);
		const stored = await runInDurableObject(kernel(t), (_o: TenantObject, state) =>
			state.storage.sql
				.exec("SELECT * FROM app_secrets")
				.toArray()
				.map((r) => JSON.stringify(r))
				.join("\n"),
		);
		expect(stored).toContain("WEATHER_API_KEY");
		for (const v of [value, rotated]) {
			for (const text of [...responses, ...lines, JSON.stringify(rows), stored]) expect(text).not.toContain(v);
			expect(stored).not.toContain(btoa(v));
		}
		expect((await admin("DELETE", `/tenants/${t}/secrets/WEATHER_API_KEY`)).status).toBe(200);
		expect((await admin("DELETE", `/tenants/${t}/secrets/WEATHER_API_KEY`)).status).toBe(404);
		expect(await kernel(t).listSecrets()).toEqual([]);
	});

	it("keeps at most 64 secrets per tenant", async () => {
		const t = await newTenant();
		for (let i = 0; i < 64; i++) expect((await admin("PUT", `/tenants/${t}/secrets/S_${i}`, { value: "value" })).status).toBe(200);
		const r = await admin("PUT", `/tenants/${t}/secrets/S_64`, { value: "value" });
		expect(r.status).toBe(409);
		expect(await r.json()).toMatchObject({ error: "quota" });
		expect((await admin("PUT", `/tenants/${t}/secrets/S_0`, { value: "rotated" })).status).toBe(200);
	});
});

describe("/account for owners", () => {
	async function signIn(email: string, password: string) {
		const jar = new CookieJar();
		jar.take(
			await selfFetch(`${ORIGIN}/account/sign-in`, {
				method: "POST",
				redirect: "manual",
				headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN },
				body: new URLSearchParams({ email, password }).toString(),
			}),
		);
		return jar;
	}
	const post = (jar: CookieJar, path: string, fields: Record<string, string>) =>
		selfFetch(`${ORIGIN}${path}`, {
			method: "POST",
			redirect: "manual",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN, Cookie: jar.header() },
			body: new URLSearchParams(fields).toString(),
		});
	const page = async (jar: CookieJar, tenant: string) => {
		const html = await (await selfFetch(`${ORIGIN}/account?tenant=${tenant}`, { headers: { Cookie: jar.header() } })).text();
		return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "" };
	};

	it("an owner sees versions and capabilities, rolls back and removes with confirmation, and manages write-only secrets; a member sees none of it and is refused", async () => {
		const tm = await team();
		const v1 = (await (await admin("PUT", `/tenants/${tm.tenantId}/apps/unit-converter`, converter)).json()) as { hash: string };
		const next = { ...converter, manifest: { ...converter.manifest, version: "1.1.0" } };
		await admin("PUT", `/tenants/${tm.tenantId}/apps/unit-converter`, next);
		const jar = await signIn(tm.owner.email, tm.owner.password);
		let p = await page(jar, tm.tenantId);
		expect(p.html).toContain("Hosted apps");
		expect(p.html).toContain(v1.hash.slice(0, 12));
		expect(p.html).toContain("unit-converter__convert (mcp:read)");
		expect(p.html).toContain(`Rollback unit-converter to 1.0.0`);

		const base = { csrf: p.csrf, tenant: tm.tenantId, app: "unit-converter" };
		const unconfirmed = await post(jar, "/account/apps/activate", { ...base, hash: v1.hash });
		expect(unconfirmed.status).toBe(303);
		expect((await kernel(tm.tenantId).listApps())[0]!.activeHash).not.toBe(v1.hash);
		const rolled = await post(jar, "/account/apps/activate", { ...base, hash: v1.hash, confirm: "yes" });
		expect(rolled.status).toBe(303);
		expect(rolled.headers.get("Location")).toBe(`/account?tenant=${encodeURIComponent(tm.tenantId)}#hosted`);
		jar.take(rolled);
		expect((await kernel(tm.tenantId).listApps())[0]!.activeHash).toBe(v1.hash);
		expect((await page(jar, tm.tenantId)).html).toContain("unit-converter now runs version 1.0.0.");

		const value = `page-secret-${crypto.randomUUID()}`;
		expect((await post(jar, "/account/secrets", { csrf: p.csrf, tenant: tm.tenantId, name: "PAGE_KEY", value })).status).toBe(303);
		p = await page(jar, tm.tenantId);
		expect(p.html).toContain("PAGE_KEY");
		expect(p.html).not.toContain(value);
		expect(
			(await post(jar, "/account/secrets/delete", { csrf: p.csrf, tenant: tm.tenantId, name: "PAGE_KEY", confirm: "yes" })).status,
		).toBe(303);

		const memberJar = await signIn(tm.member.email, tm.member.password);
		const mp = await page(memberJar, tm.tenantId);
		expect(mp.html).not.toContain("Hosted apps");
		const refused = await post(memberJar, "/account/apps/remove", {
			csrf: mp.csrf,
			tenant: tm.tenantId,
			app: "unit-converter",
			confirm: "yes",
		});
		expect(refused.status).toBe(403);
		expect(await kernel(tm.tenantId).listApps()).toHaveLength(1);

		expect((await post(jar, "/account/apps/remove", { ...base, csrf: p.csrf, confirm: "yes" })).status).toBe(303);
		expect(await kernel(tm.tenantId).listApps()).toEqual([]);
		const rows = (await auditRows(tm.tenantId)).filter((r) => r.method.startsWith("app/") && r.client === "account-page");
		expect(rows.map((r) => r.method)).toEqual(["app/remove", "app/secret_deleted", "app/secret_set", "app/activate"]);
		expect(rows.every((r) => r.user === tm.owner.userId)).toBe(true);
	});
});
