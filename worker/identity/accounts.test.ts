/**
 * @module worker/identity/accounts.test
 * Unit tests for local accounts: the hash format, verification, the account directory over an
 * in-memory KV, dev seeding, and the record module shared with the operator CLI.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { AccountDirectory, accountRecords, ensureDevAccount, hashPassword, verifyPasswordHash } from "./accounts";
import type { Env } from "../../shared/env";
import { memoryKv } from "../../test/support/memory-kv";

const PASSWORD = "correct horse battery";
const HASH_FORMAT = /^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/;

afterEach(() => vi.restoreAllMocks());

describe("password hashes", () => {
	it("uses the pbkdf2-sha256$100000$salt$hash format with a fresh salt each time", async () => {
		const a = await hashPassword(PASSWORD);
		const b = await hashPassword(PASSWORD);
		expect(a).toMatch(HASH_FORMAT);
		expect(a).not.toBe(b);
	});

	it("verifies the right password and rejects a wrong one", async () => {
		const stored = await hashPassword(PASSWORD);
		expect(await verifyPasswordHash(PASSWORD, stored)).toBe(true);
		expect(await verifyPasswordHash("correct horse batterY", stored)).toBe(false);
		expect(await verifyPasswordHash("", stored)).toBe(false);
	});

	it("fails closed on malformed or tampered stored values instead of throwing", async () => {
		const stored = await hashPassword(PASSWORD);
		const [scheme, , salt, hash] = stored.split("$");
		for (const bad of [
			"",
			"plaintext",
			`md5$1$${salt}$${hash}`,
			`${scheme}$1000000$${salt}$${hash}`, // above the Workers maximum
			`${scheme}$0$${salt}$${hash}`,
			`${scheme}$100000$${salt}$${hash?.slice(0, -2)}`, // truncated hash
			`${scheme}$100000$${salt}$not+base64/url==`,
		]) {
			expect(await verifyPasswordHash(PASSWORD, bad)).toBe(false);
		}
	});
});

describe("AccountDirectory", () => {
	it("creates an account with u_/t_ IDs that the OAuth provider accepts (no ':')", async () => {
		const kv = memoryKv();
		const created = await new AccountDirectory(kv).create("  Ada@Example.com ", PASSWORD);
		expect(created.ok).toBe(true);
		if (!created.ok) return;
		const account = created.value;
		expect(account.userId).toMatch(/^u_[0-9a-f]{32}$/);
		expect(account.tenantId).toMatch(/^t_[0-9a-f]{32}$/);
		expect(account.tenants).toEqual([account.tenantId]);
		expect(account.email).toBe("ada@example.com");
		expect(JSON.parse(kv.data.get(`account:user:${account.userId}`) ?? "null")).toEqual(account);
		const entry = JSON.parse(kv.data.get("account:email:ada@example.com") ?? "null");
		expect(entry.userId).toBe(account.userId);
		expect(entry.passwordHash).toMatch(HASH_FORMAT);
		expect(kv.data.get("account:email:ada@example.com")).not.toContain(PASSWORD);
	});

	it("rejects a duplicate email, whatever its case or spacing, without overwriting the account", async () => {
		const kv = memoryKv();
		const directory = new AccountDirectory(kv);
		const first = await directory.create("ada@example.com", PASSWORD);
		const again = await directory.create(" ADA@example.com", "another long password");
		expect(again).toEqual({ ok: false, error: { reason: "email_taken" } });
		expect(first.ok && (await directory.authenticate("ada@example.com", PASSWORD))?.userId).toBe(first.ok && first.value.userId);
	});

	it("rejects a weak password (under 10 characters) and writes nothing", async () => {
		const kv = memoryKv();
		expect(await new AccountDirectory(kv).create("ada@example.com", "123456789")).toEqual({
			ok: false,
			error: { reason: "weak_password" },
		});
		expect(kv.data.size).toBe(0);
	});

	it("rejects something that is not an email address", async () => {
		const directory = new AccountDirectory(memoryKv());
		for (const email of ["", "ada", "ada@", "@example.com", "a b@example.com", "ada@example.com\u0000x"]) {
			expect(await directory.create(email, PASSWORD)).toEqual({ ok: false, error: { reason: "invalid_email" } });
		}
	});

	it("authenticates the right credentials and returns the stored account", async () => {
		const directory = new AccountDirectory(memoryKv());
		const created = await directory.create("ada@example.com", PASSWORD);
		const account = await directory.authenticate("Ada@Example.com", PASSWORD);
		expect(created.ok && account).toEqual(created.ok && created.value);
		expect(await directory.get(account?.userId ?? "")).toEqual(account);
		expect(await directory.get("u_missing")).toBeNull();
	});

	it("returns null for a wrong password", async () => {
		const directory = new AccountDirectory(memoryKv());
		await directory.create("ada@example.com", PASSWORD);
		expect(await directory.authenticate("ada@example.com", "wrong password!")).toBeNull();
	});

	it("runs a full PBKDF2 verification for an unknown email too (account enumeration by timing)", async () => {
		const directory = new AccountDirectory(memoryKv());
		const derive = vi.spyOn(crypto.subtle, "deriveBits");
		expect(await directory.authenticate("nobody@example.com", PASSWORD)).toBeNull();
		expect(derive).toHaveBeenCalledTimes(1);
		expect(derive.mock.calls[0]?.[0]).toMatchObject({ name: "PBKDF2", iterations: 100_000 });

		derive.mockClear();
		expect(await directory.authenticate("not an email", PASSWORD)).toBeNull();
		expect(derive).toHaveBeenCalledTimes(1);
	});
});

describe("ensureDevAccount", () => {
	const devEnv = (kv: KVNamespace, extra: Partial<Env> = {}) =>
		({ DIRECTORY_KV: kv, SMCP_DEV_EMAIL: "dev@smcp.local", SMCP_DEV_PASSWORD: "smcp-dev-password", ...extra }) as Env;

	it("seeds the dev account on a loopback host, once, without logging the password", async () => {
		const kv = memoryKv();
		const logs = [vi.spyOn(console, "log").mockImplementation(() => {}), vi.spyOn(console, "error").mockImplementation(() => {})];
		await ensureDevAccount(devEnv(kv), new URL("http://127.0.0.1:8787/authorize"));
		await ensureDevAccount(devEnv(kv), new URL("http://localhost:8787/authorize"));
		expect(await new AccountDirectory(kv).authenticate("dev@smcp.local", "smcp-dev-password")).not.toBeNull();
		expect(kv.data.size).toBe(2);
		const printed = logs.flatMap((l) => l.mock.calls.flat()).join("\n");
		expect(printed).not.toContain("smcp-dev-password");
	});

	it("does nothing on a public hostname, even with the dev secrets set (stray .dev.vars in a deployment)", async () => {
		const kv = memoryKv();
		await ensureDevAccount(devEnv(kv), new URL("https://mcp.example.com/authorize"));
		await ensureDevAccount(devEnv(kv), new URL("https://127.0.0.1.example.com/authorize"));
		expect(kv.data.size).toBe(0);
	});

	it("does nothing unless both dev variables are set", async () => {
		const kv = memoryKv();
		await ensureDevAccount(devEnv(kv, { SMCP_DEV_PASSWORD: undefined }), new URL("http://[::1]:8787/"));
		expect(kv.data.size).toBe(0);
	});
});

describe("one code path for account records (the Worker and `smcp users create --local|--remote`)", () => {
	it("the CLI's module is the one the Worker uses: its hashes verify here and its records are accountRecords()", async () => {
		const shared = await import("../../shared/accounts/records.mjs");
		expect(shared.accountRecords).toBe(accountRecords);
		expect(shared.hashPassword).toBe(hashPassword);
		const built = await shared.buildAccountRecords(" Ada@Example.com", PASSWORD, { userId: "u_1", tenantId: "t_1", createdAt: 1 });
		expect(built.ok).toBe(true);
		if (!built.ok) return;
		const stored = JSON.parse(built.value.records[1]!.value) as { passwordHash: string };
		expect(stored.passwordHash).toMatch(HASH_FORMAT);
		expect(await verifyPasswordHash(PASSWORD, stored.passwordHash)).toBe(true);
		expect(built.value.account.email).toBe("ada@example.com");
	});
});
