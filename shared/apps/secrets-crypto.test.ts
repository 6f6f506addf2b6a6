import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, loadSecretKeys, type SecretKeys } from "./secrets-crypto";

const OLD = "old-deployment-secret-0123456789abcdef-0123456789";
const NEW = "new-deployment-secret-fedcba9876543210-9876543210";

async function keys(current: string, previous?: string): Promise<SecretKeys> {
	const r = await loadSecretKeys({ SMCP_SECRETS_KEY: current, SMCP_SECRETS_KEY_PREVIOUS: previous });
	if (!r.ok) throw new Error(r.message);
	return r.keys;
}

describe("tenant secret encryption", () => {
	it("round-trips, with a fresh IV each time and a kid from the deployment secret", async () => {
		const k = await keys(OLD);
		const a = await encryptSecret(k, "t1", "WEATHER_KEY", "s3cr3t-value", { app: "weather" });
		const b = await encryptSecret(k, "t1", "WEATHER_KEY", "s3cr3t-value", { app: "weather" });
		expect(a.kid).toMatch(/^[0-9a-f]{8}$/);
		expect(a.iv).not.toBe(b.iv);
		expect(a.ct).not.toContain("s3cr3t");
		expect(await decryptSecret(k, "t1", "WEATHER_KEY", a, { app: "weather" })).toEqual({
			ok: true,
			plaintext: "s3cr3t-value",
			stale: false,
		});
	});

	it("a ciphertext moved to another tenant, app or name does not open", async () => {
		const k = await keys(OLD);
		const sealed = await encryptSecret(k, "t1", "A_KEY", "v", { app: "x" });
		for (const [tenant, name, app] of [
			["t2", "A_KEY", "x"],
			["t1", "B_KEY", "x"],
			["t1", "A_KEY", "y"],
			["t1", "A_KEY", "*"],
		] as const) {
			expect(await decryptSecret(k, tenant, name, sealed, { app })).toEqual({
				ok: false,
				error: { reason: "decrypt_failed" },
			});
		}
	});

	it("tampering with the ciphertext or IV is detected", async () => {
		const k = await keys(OLD);
		const sealed = await encryptSecret(k, "t1", "A_KEY", "value");
		const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
		expect(await decryptSecret(k, "t1", "A_KEY", { ...sealed, ct: flip(sealed.ct) })).toMatchObject({
			ok: false,
			error: { reason: "decrypt_failed" },
		});
		expect(await decryptSecret(k, "t1", "A_KEY", { ...sealed, iv: flip(sealed.iv) })).toMatchObject({
			ok: false,
			error: { reason: "decrypt_failed" },
		});
		expect(await decryptSecret(k, "t1", "A_KEY", { ...sealed, ct: "!!" })).toEqual({
			ok: false,
			error: { reason: "malformed" },
		});
	});

	it("rotation: the previous key still opens (flagged stale), re-encryption moves to the new kid", async () => {
		const before = await keys(OLD);
		const sealed = await encryptSecret(before, "t1", "A_KEY", "value");
		const rotated = await keys(NEW, OLD);
		const opened = await decryptSecret(rotated, "t1", "A_KEY", sealed);
		expect(opened).toEqual({ ok: true, plaintext: "value", stale: true });
		const resealed = await encryptSecret(rotated, "t1", "A_KEY", "value");
		expect(resealed.kid).toBe(rotated.current.kid);
		expect(resealed.kid).not.toBe(sealed.kid);
		// After the previous key is dropped, only re-sealed values open.
		const after = await keys(NEW);
		expect(await decryptSecret(after, "t1", "A_KEY", sealed)).toEqual({
			ok: false,
			error: { reason: "unknown_key", kid: sealed.kid },
		});
		expect(await decryptSecret(after, "t1", "A_KEY", resealed)).toMatchObject({ ok: true, stale: false });
	});

	it("refuses a missing or short deployment secret, without echoing it", async () => {
		expect(await loadSecretKeys({})).toMatchObject({ ok: false, message: expect.stringMatching(/not set/) });
		const short = await loadSecretKeys({ SMCP_SECRETS_KEY: "short-secret" });
		expect(short).toMatchObject({ ok: false, message: expect.stringMatching(/too short/) });
		expect(JSON.stringify(short)).not.toContain("short-secret");
		expect(await loadSecretKeys({ SMCP_SECRETS_KEY: NEW, SMCP_SECRETS_KEY_PREVIOUS: "x" })).toMatchObject({
			ok: false,
		});
	});
});
