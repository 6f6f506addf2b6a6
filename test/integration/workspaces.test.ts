/**
 * Multi-workspace accounts: the consent screen asks which workspace to connect, after sign-in,
 * without asking for the password again; the app then works in that workspace only.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantObject } from "../../objects/tenant/tenant-object";
import { authorizeUrl, CookieJar, formValue, pkce, registerClient } from "../support/oauth-flow";
import { connectMcp, createAccount, ORIGIN, selfFetch, testEnv } from "./helpers";

const ADMIN = "test-admin-token-0123456789abcdef0123456789";
const REDIRECT = "http://127.0.0.1:9/callback";

describe("workspace choice on the consent screen", () => {
	it("an account in two workspaces picks one; the token is bound to it", async () => {
		const account = await createAccount();
		const team = (await (
			await selfFetch(`${ORIGIN}/admin/tenants`, {
				method: "POST",
				headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
				body: JSON.stringify({ name: "Research team", ownerUserId: account.userId }),
			})
		).json()) as { id: string };

		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { verifier, challenge } = await pkce();
		const url = authorizeUrl(ORIGIN, {
			clientId,
			redirectUri: REDIRECT,
			challenge,
			scope: "mcp:read mcp:write",
			state: "s",
			resource: ORIGIN,
		});
		const jar = new CookieJar();
		const page = await selfFetch(url.toString(), { redirect: "manual" });
		jar.take(page);
		const html = await page.text();
		const base = { handle: formValue(html, "handle"), q: formValue(html, "q"), action: "approve" };
		const post = (fields: Record<string, string>) => {
			const form = new URLSearchParams({ ...base, ...fields });
			form.append("scope", "mcp:read");
			form.append("scope", "mcp:write");
			return selfFetch(`${ORIGIN}/authorize`, {
				method: "POST",
				redirect: "manual",
				headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header(), Origin: ORIGIN },
				body: form.toString(),
			});
		};

		// Step 1: the password; the page comes back asking which workspace, with a session cookie.
		const first = await post({ email: account.email, password: account.password });
		expect(first.status).toBe(200);
		jar.take(first);
		const choice = await first.text();
		expect(choice).toContain("Connect to which workspace?");
		expect(choice).toContain("Research team");
		// No password is asked again (only offered, optionally, for another account).
		expect(choice).not.toMatch(/name="password"[^>]*required/);
		const proof = formValue(choice, "proof");
		// A workspace the account does not belong to is not accepted: the choice is asked again.
		expect((await post({ tenant: "t_" + "0".repeat(32), proof })).status).toBe(200);
		// Step 2: the choice, no password: the session's proof for this handle.
		const second = await post({ tenant: team.id, proof });
		expect(second.status).toBe(302);
		const code = new URL(second.headers.get("Location")!).searchParams.get("code")!;
		const tokens = (await (
			await selfFetch(`${ORIGIN}/token`, {
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
			})
		).json()) as { access_token: string };

		const { client } = await connectMcp(tokens.access_token);
		await client.callTool({ name: "create_entities", arguments: { entities: [{ name: "TeamNote", entityType: "t", observations: [] }] } });
		// The grant is bound to the team: the entity lives there, not in the personal workspace.
		const names = (tenantId: string) =>
			runInDurableObject(testEnv.TENANTS.get(testEnv.TENANTS.idFromName(tenantId)), (_o: TenantObject, st) =>
				st.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'mem_entities'").toArray()
					.length
					? st.storage.sql
							.exec<{ name: string }>("SELECT name FROM mem_entities")
							.toArray()
							.map((r) => r.name)
					: [],
			);
		expect(await names(team.id)).toEqual(["TeamNote"]);
		expect(await names(account.tenantId)).toEqual([]);
		const log = (await client.callTool({ name: "audit_log", arguments: { limit: 50 } })).structuredContent as {
			entries: { method: string }[];
		};
		expect(log.entries.some((e) => e.method === "auth/consent")).toBe(true);
	});

	it("a second step without a valid session cookie falls back to asking for the password", async () => {
		const account = await createAccount();
		await selfFetch(`${ORIGIN}/admin/tenants`, {
			method: "POST",
			headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
			body: JSON.stringify({ name: "Other", ownerUserId: account.userId }),
		});
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { challenge } = await pkce();
		const url = authorizeUrl(ORIGIN, { clientId, redirectUri: REDIRECT, challenge, scope: "mcp:read", state: "s" });
		const jar = new CookieJar();
		const page = await selfFetch(url.toString(), { redirect: "manual" });
		jar.take(page);
		const html = await page.text();
		const form = new URLSearchParams({
			handle: formValue(html, "handle"),
			q: formValue(html, "q"),
			action: "approve",
			scope: "mcp:read",
			tenant: account.tenantId,
		});
		const res = await selfFetch(`${ORIGIN}/authorize`, {
			method: "POST",
			redirect: "manual",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header(), Origin: ORIGIN },
			body: form.toString(),
		});
		expect(res.status).toBe(200);
		expect(await res.text()).toContain("Your sign-in has ended. Sign in with your email and password.");
	});
});

describe("remembered sign-in on the consent screen", () => {
	/** Opens a consent page for a fresh client in the browser whose cookies are in `jar`. */
	async function openConsent(jar: CookieJar) {
		const clientId = await registerClient(selfFetch, ORIGIN, REDIRECT);
		const { challenge } = await pkce();
		const url = authorizeUrl(ORIGIN, { clientId, redirectUri: REDIRECT, challenge, scope: "mcp:read", state: "s" });
		const page = await selfFetch(url.toString(), { redirect: "manual", headers: { Cookie: jar.header() } });
		jar.take(page);
		const html = await page.text();
		return { html, handle: formValue(html, "handle"), q: formValue(html, "q") };
	}
	const approve = (jar: CookieJar, fields: Record<string, string>) =>
		selfFetch(`${ORIGIN}/authorize`, {
			method: "POST",
			redirect: "manual",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header(), Origin: ORIGIN },
			body: new URLSearchParams({ action: "approve", scope: "mcp:read", ...fields }).toString(),
		});
	async function signedInBrowser() {
		const account = await createAccount();
		const jar = new CookieJar();
		jar.take(
			await selfFetch(`${ORIGIN}/account/sign-in`, {
				method: "POST",
				redirect: "manual",
				headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN },
				body: new URLSearchParams({ email: account.email, password: account.password }).toString(),
			}),
		);
		return { account, jar };
	}

	it("a browser signed in to /account approves a new client without typing the password, and the consent is still shown", async () => {
		const { account, jar } = await signedInBrowser();
		const c = await openConsent(jar);
		expect(c.html).toContain(`Signed in as <strong>${account.email}</strong>`);
		expect(c.html).toContain("is asking to");
		const res = await approve(jar, { handle: c.handle, q: c.q, proof: formValue(c.html, "proof") });
		expect(res.status).toBe(302);
		expect(new URL(res.headers.get("Location")!).searchParams.get("code")).toBeTruthy();
	});

	it("a web session cannot approve a consent it was not shown (proof of one handle replayed on another)", async () => {
		const { jar } = await signedInBrowser();
		const mine = await openConsent(jar);
		// Another consent, e.g. one an attacker started and lured the signed-in person onto.
		const other = await openConsent(jar);
		const swapped = await approve(jar, { handle: other.handle, q: other.q, proof: formValue(mine.html, "proof") });
		expect(swapped.status).toBe(200);
		expect(await swapped.text()).toContain("Your sign-in has ended");
		// Without any proof, a live session approves nothing either.
		expect((await approve(jar, { handle: other.handle, q: other.q })).status).toBe(200);
		// The proof drawn for that handle works (the handle was not spent by the refusals).
		expect((await approve(jar, { handle: other.handle, q: other.q, proof: formValue(other.html, "proof") })).status).toBe(302);
	});

	it("after sign-out the consent page's proof approves nothing (signed-out session replay)", async () => {
		const { jar } = await signedInBrowser();
		const c = await openConsent(jar);
		const account = await selfFetch(`${ORIGIN}/account`, { headers: { Cookie: jar.header() } });
		const csrf = /name="csrf" value="([^"]+)"/.exec(await account.text())![1]!;
		await selfFetch(`${ORIGIN}/account/sign-out`, {
			method: "POST",
			redirect: "manual",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN, Cookie: jar.header() },
			body: new URLSearchParams({ csrf }).toString(),
		});
		// The jar still holds the old cookie (as a copy would): it is refused.
		const res = await approve(jar, { handle: c.handle, q: c.q, proof: formValue(c.html, "proof") });
		expect(res.status).toBe(200);
		expect(await res.text()).toContain("Your sign-in has ended");
	});
});

describe("the operator can find tenants", () => {
	const admin = (path: string, init: RequestInit = {}) =>
		selfFetch(`${ORIGIN}/admin${path}`, { ...init, headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" } });

	it("tenants list returns every tenant, personal and team, with its owner, page by page (personal tenants used to be missing)", async () => {
		const people = [await createAccount(), await createAccount(), await createAccount()];
		const team = (await (
			await admin("/tenants", { method: "POST", body: JSON.stringify({ name: "Listed team", ownerUserId: people[0]!.userId }) })
		).json()) as { id: string };
		// A personal tenant the operator changed has a stored record: listed once, still personal.
		await admin(`/tenants/${people[1]!.tenantId}/suspend`, { method: "POST" });

		const seen = new Map<string, { kind: string; status: string; owners: { userId: string; email: string | null }[] }>();
		let cursor: string | undefined;
		for (let pages = 0; ; pages++) {
			expect(pages).toBeLessThan(1000);
			const res = await admin(`/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
			expect(res.status).toBe(200);
			const page = (await res.json()) as { tenants: { id: string; kind: string; status: string; owners: [] }[]; cursor?: string };
			expect(page.tenants.length).toBeLessThanOrEqual(2);
			for (const t of page.tenants) {
				expect(seen.has(t.id), `listed twice: ${t.id}`).toBe(false);
				seen.set(t.id, t);
			}
			if (!page.cursor) break;
			cursor = page.cursor;
		}
		for (const p of people)
			expect(seen.get(p.tenantId), p.email).toMatchObject({ kind: "personal", owners: [{ userId: p.userId, email: p.email }] });
		expect(seen.get(people[1]!.tenantId)?.status).toBe("suspended");
		expect(seen.get(team.id)).toMatchObject({
			kind: "team",
			status: "active",
			owners: [{ userId: people[0]!.userId, email: people[0]!.email }],
		});
		expect((await admin("/tenants?cursor=not-ours")).status).toBe(400);
	});
});
