/**
 * @module worker/identity/tenants
 * Tenants (workspaces) and memberships in `DIRECTORY_KV`. A user belongs to one or more tenants,
 * as `owner` or `member`; owners manage API keys and every member's connected apps. A tenant can be
 * suspended by the operator: its tokens and keys are then refused at the front door (401) and its
 * kernel refuses every call.
 *
 * Every account is created with a personal tenant. Tenants created before tenant records existed
 * have none: such a tenant is active and owned by the account whose personal tenant it is.
 */
import { hashPassword, MIN_PASSWORD_LENGTH, type Account } from "./accounts";

/** A member's role in a tenant. */
export type Role = "owner" | "member";

/** A tenant's record. */
export interface TenantRecord {
	id: string;
	name: string;
	status: "active" | "suspended";
	createdAt: number;
	members: Record<string, Role>;
}

/** A tenant as the operator's listing shows it. */
export interface TenantListing {
	id: string;
	name: string;
	kind: "personal" | "team";
	status: TenantRecord["status"];
	createdAt: number;
	owners: { userId: string; email: string | null }[];
	members: Record<string, Role>;
}

/** Where a listing goes on: a key range and KV's own cursor within it. */
type ListCursor = { range: "tenants" | "accounts"; kv?: string };

const writeListCursor = (c: ListCursor) => btoa(JSON.stringify(c)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

/** The position a listing cursor names; the start without one; null when it is not one of ours. */
function readListCursor(cursor: string | undefined): ListCursor | null {
	if (!cursor) return { range: "tenants" };
	try {
		const v = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/"))) as Partial<ListCursor>;
		if ((v.range === "tenants" || v.range === "accounts") && (v.kv === undefined || typeof v.kv === "string"))
			return { range: v.range, ...(v.kv ? { kv: v.kv } : {}) };
	} catch {}
	return null;
}

const tenantKey = (id: string) => `tenant:${id}`;
const userKey = (userId: string) => `account:user:${userId}`;
const emailKey = (email: string) => `account:email:${email}`;
const TENANT_ID = /^t_[0-9a-f]{32}$/;

/** How long an isolate trusts a tenant's status before reading it again. */
export const STATUS_CACHE_MS = 10_000;
const statusCache = new Map<string, { active: boolean; until: number }>();

/** A random id with a prefix (128 bits, hex). */
function newId(prefix: string): string {
	return prefix + [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Tenants and memberships.
 *
 * @example
 * ```ts
 * const dir = new TenantDirectory(env.DIRECTORY_KV);
 * if (!(await dir.isActive(principal.tenantId))) return unauthorized();
 * ```
 */
export class TenantDirectory {
	readonly #kv: KVNamespace;
	constructor(kv: KVNamespace) {
		this.#kv = kv;
	}

	/** The account of a user, or null. */
	async account(userId: string): Promise<Account | null> {
		return this.#kv.get<Account>(userKey(userId), "json");
	}

	/** A tenant's record; synthesised for a personal tenant that has none yet. */
	async get(tenantId: string, hintOwner?: Account): Promise<TenantRecord | null> {
		if (!TENANT_ID.test(tenantId)) return null;
		const stored = await this.#kv.get<TenantRecord>(tenantKey(tenantId), "json");
		if (stored) return stored;
		if (hintOwner && hintOwner.tenantId === tenantId) {
			return {
				id: tenantId,
				name: `${hintOwner.email}'s workspace`,
				status: "active",
				createdAt: hintOwner.createdAt,
				members: { [hintOwner.userId]: "owner" },
			};
		}
		return null;
	}

	/**
	 * Whether the tenant may be used (missing record = a personal tenant = active). Checked on every
	 * MCP request, so the answer is cached in this isolate for {@link STATUS_CACHE_MS}: a suspension
	 * reaches the front door within that bound (plus KV propagation), while the tenant's kernel
	 * refuses every call at once.
	 */
	async isActive(tenantId: string, now = Date.now()): Promise<boolean> {
		const hit = statusCache.get(tenantId);
		if (hit && hit.until > now) return hit.active;
		const stored = await this.#kv.get<TenantRecord>(tenantKey(tenantId), "json");
		const active = stored === null || stored.status === "active";
		if (statusCache.size > 10_000) statusCache.clear();
		statusCache.set(tenantId, { active, until: now + STATUS_CACHE_MS });
		return active;
	}

	/**
	 * The role of `userId` in `tenantId`, or null when not a member. One source of truth: the
	 * tenant record's `members` (a personal tenant's owner is its account). The account's `tenants`
	 * list is only an index for {@link tenantsOf}; an entry the record does not confirm grants nothing.
	 */
	async roleOf(tenantId: string, userId: string): Promise<Role | null> {
		const account = await this.account(userId);
		if (!account) return null;
		if (account.tenantId === tenantId) return "owner";
		const record = await this.get(tenantId, account);
		return record?.members[userId] ?? null;
	}

	/**
	 * Removes a member: from the tenant record first (the source of truth), then from the account's
	 * index. A personal tenant keeps its owner, and a tenant keeps at least one owner.
	 */
	async removeMember(tenantId: string, userId: string): Promise<"ok" | "not_member" | "personal_tenant" | "last_owner"> {
		const account = await this.account(userId);
		if (account?.tenantId === tenantId) return "personal_tenant";
		const record = await this.#kv.get<TenantRecord>(tenantKey(tenantId), "json");
		if (!record?.members[userId]) return "not_member";
		const owners = Object.values(record.members).filter((r) => r === "owner").length;
		if (record.members[userId] === "owner" && owners <= 1) return "last_owner";
		delete record.members[userId];
		await this.#kv.put(tenantKey(tenantId), JSON.stringify(record));
		if (account?.tenants.includes(tenantId))
			await this.#kv.put(userKey(userId), JSON.stringify({ ...account, tenants: account.tenants.filter((t) => t !== tenantId) }));
		return "ok";
	}

	/** The tenants of a user with names and roles, personal tenant first. */
	async tenantsOf(userId: string): Promise<{ id: string; name: string; role: Role; status: TenantRecord["status"] }[]> {
		const account = await this.account(userId);
		if (!account) return [];
		const out = [];
		for (const id of account.tenants) {
			const r = await this.get(id, account);
			// A personal tenant's owner is its account, whatever a stored record's member map says; any
			// other entry of the index counts only when the record confirms it (roleOf).
			const role = account.tenantId === id ? "owner" : r?.members[userId];
			if (r && role) out.push({ id, name: r.name, role, status: r.status });
		}
		return out;
	}

	/** Creates a team tenant owned by `ownerUserId`. */
	async create(name: string, ownerUserId: string): Promise<TenantRecord | null> {
		const owner = await this.account(ownerUserId);
		if (!owner) return null;
		const record: TenantRecord = {
			id: newId("t_"),
			name: name.slice(0, 100),
			status: "active",
			createdAt: Date.now(),
			members: { [ownerUserId]: "owner" },
		};
		await this.#kv.put(tenantKey(record.id), JSON.stringify(record));
		await this.#kv.put(userKey(owner.userId), JSON.stringify({ ...owner, tenants: [...owner.tenants, record.id] }));
		return record;
	}

	/** Adds (or re-roles) a member. */
	async addMember(tenantId: string, userId: string, role: Role): Promise<boolean> {
		const account = await this.account(userId);
		const record = await this.#materialise(tenantId);
		if (!account || !record) return false;
		record.members[userId] = role;
		await this.#kv.put(tenantKey(tenantId), JSON.stringify(record));
		if (!account.tenants.includes(tenantId))
			await this.#kv.put(userKey(userId), JSON.stringify({ ...account, tenants: [...account.tenants, tenantId] }));
		return true;
	}

	/** Suspends or reactivates a tenant. */
	async setStatus(tenantId: string, status: TenantRecord["status"]): Promise<boolean> {
		const record = await this.#materialise(tenantId);
		if (!record) return false;
		record.status = status;
		await this.#kv.put(tenantKey(tenantId), JSON.stringify(record));
		statusCache.delete(tenantId);
		return true;
	}

	/**
	 * Every tenant, personal and team, with its owners, a page at a time. A personal tenant has no
	 * stored record until the operator changes it, and a record made then may not name its owner,
	 * so the listing walks two key ranges: the stored records (`tenant:`) that are team tenants,
	 * then the accounts (`account:user:`), each giving its personal tenant (with the stored
	 * record's name and status, when there is one). `cursor` is the previous page's; pages hold at most `limit`
	 * tenants (one KV list call each). Null for a cursor this method did not issue.
	 *
	 * @example
	 * ```ts
	 * let page = await dir.list();
	 * while (page?.cursor) page = await dir.list(page.cursor);
	 * ```
	 */
	async list(cursor?: string, limit = 100): Promise<{ tenants: TenantListing[]; cursor?: string } | null> {
		const at = readListCursor(cursor);
		if (!at) return null;
		const size = Math.min(100, Math.max(1, Math.floor(limit)));
		const page = await this.#kv.list({ prefix: at.range === "tenants" ? "tenant:" : "account:user:", cursor: at.kv, limit: size });
		const listed =
			at.range === "accounts"
				? await Promise.all(page.keys.map(async (k) => this.#personal(await this.#kv.get<Account>(k.name, "json"))))
				: await Promise.all(page.keys.map(async (k) => this.#team(await this.#kv.get<TenantRecord>(k.name, "json"))));
		const next: ListCursor | null = !page.list_complete
			? { range: at.range, kv: page.cursor }
			: at.range === "tenants"
				? { range: "accounts" }
				: null;
		return { tenants: listed.filter((t): t is TenantListing => t !== null), ...(next ? { cursor: writeListCursor(next) } : {}) };
	}

	/** An account's personal tenant, with its stored record's name, status and members when it has one. */
	async #personal(account: Account | null): Promise<TenantListing | null> {
		if (!account || !TENANT_ID.test(account.tenantId)) return null;
		const stored = await this.#kv.get<TenantRecord>(tenantKey(account.tenantId), "json");
		const members: Record<string, Role> = { ...stored?.members, [account.userId]: "owner" };
		const others = Object.entries(members).filter(([id, role]) => role === "owner" && id !== account.userId);
		const owners = [
			{ userId: account.userId, email: account.email },
			...(await Promise.all(others.map(async ([userId]) => ({ userId, email: (await this.account(userId))?.email ?? null })))),
		];
		return {
			id: account.tenantId,
			name: stored?.name ?? `${account.email}'s workspace`,
			kind: "personal",
			status: stored?.status ?? "active",
			createdAt: stored?.createdAt ?? account.createdAt,
			owners,
			members,
		};
	}

	/** A stored record as a team tenant, or null when it is a personal tenant (listed with its account). */
	async #team(r: TenantRecord | null): Promise<TenantListing | null> {
		if (!r) return null;
		const ownerIds = Object.entries(r.members)
			.filter(([, role]) => role === "owner")
			.map(([id]) => id);
		// A personal tenant's record made by the operator (suspend, add member) may name no owner.
		if (ownerIds.length === 0) return null;
		const owners = await Promise.all(ownerIds.map(async (userId) => ({ userId, account: await this.account(userId) })));
		if (owners.some((o) => o.account?.tenantId === r.id)) return null;
		return {
			id: r.id,
			name: r.name,
			kind: "team",
			status: r.status,
			createdAt: r.createdAt,
			owners: owners.map((o) => ({ userId: o.userId, email: o.account?.email ?? null })),
			members: r.members,
		};
	}

	/**
	 * Who must leave before `userId` can be deleted: the team tenants where they are the last owner
	 * (a tenant keeps at least one owner). Their personal tenant is deleted with them.
	 */
	async soleOwnerOf(userId: string): Promise<string[]> {
		const account = await this.account(userId);
		if (!account) return [];
		const out: string[] = [];
		for (const id of account.tenants) {
			if (id === account.tenantId) continue;
			const r = await this.#kv.get<TenantRecord>(tenantKey(id), "json");
			if (r?.members[userId] === "owner" && Object.values(r.members).filter((x) => x === "owner").length <= 1) out.push(id);
		}
		return out;
	}

	/**
	 * Deletes a tenant's directory records: the tenant record, and the tenant in every member's
	 * account index. Returns the members it had (for the caller to cut off), or null when there is no
	 * such tenant. `personalOwner` is the account whose personal tenant this is, when it is one.
	 */
	async forget(tenantId: string, personalOwner?: Account): Promise<string[] | null> {
		const record = await this.get(tenantId, personalOwner);
		if (!record) return null;
		const members = Object.keys(record.members);
		if (personalOwner && !members.includes(personalOwner.userId)) members.push(personalOwner.userId);
		for (const userId of members) {
			const account = await this.account(userId);
			if (account?.tenants.includes(tenantId) && account.tenantId !== tenantId)
				await this.#kv.put(userKey(userId), JSON.stringify({ ...account, tenants: account.tenants.filter((t) => t !== tenantId) }));
		}
		await this.#kv.delete(tenantKey(tenantId));
		statusCache.delete(tenantId);
		return members;
	}

	/** Sets a new password for an account (operator reset). */
	async resetPassword(userId: string, password: string): Promise<"ok" | "unknown_user" | "weak_password"> {
		if (password.length < MIN_PASSWORD_LENGTH) return "weak_password";
		const account = await this.account(userId);
		if (!account) return "unknown_user";
		await this.#kv.put(emailKey(account.email), JSON.stringify({ userId, passwordHash: await hashPassword(password) }));
		return "ok";
	}

	/** Stores a synthesised personal-tenant record so it can be changed. */
	async #materialise(tenantId: string): Promise<TenantRecord | null> {
		const stored = await this.#kv.get<TenantRecord>(tenantKey(tenantId), "json");
		if (stored) return stored;
		// A personal tenant without a record: find its owner by listing accounts is costly, so the
		// operator API passes through `get` with the owner hint; here we only accept stored ones
		// or create a bare record that the caller fills in.
		const bare: TenantRecord = { id: tenantId, name: "Personal workspace", status: "active", createdAt: Date.now(), members: {} };
		return TENANT_ID.test(tenantId) ? bare : null;
	}
}
