/**
 * @module objects/tenant/revocations
 * Revoked OAuth grants, kept in the tenant's own storage. Cloudflare KV may serve a deleted grant
 * for up to about 60 s in other locations, and the OAuth provider's refresh reads the grant and
 * writes it back, so KV alone cannot make a revocation hold: a refresh racing the revoke from
 * another location could bring the grant back until its original expiry. The TenantObject is
 * strongly consistent, so a grant recorded here is refused on every kernel entry (tool calls,
 * lists, reads, session open) and on every refresh (`worker/oauth/refresh-guard.ts`), whatever
 * KV or an isolate's token cache still say. API keys need nothing here: their metadata, with its
 * `revoked_at`, already lives in this object (objects/tenant/keys.ts).
 *
 * A row is kept for {@link REVOKED_GRANT_KEEP_MS}: longer than any token or refresh token of the
 * grant can live, so nothing the provider could still accept outlives it. The retention alarm
 * prunes older rows.
 */

/** Schema (never edit: add a new migration). */
export const REVOCATIONS_SCHEMA_V1 = `
CREATE TABLE revoked_grants (
  grant_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, revoked_at INTEGER NOT NULL
);
CREATE INDEX revoked_grants_at ON revoked_grants (revoked_at);
`;

/** The provider's refresh-token lifetime (30 days, worker/index.ts) plus a day of margin. */
export const REVOKED_GRANT_KEEP_MS = 31 * 86_400_000;

/** Most grant verdicts kept in memory per kernel instance; past that the copy starts afresh. */
const MAX_KNOWN = 4096;

/**
 * The revoked-grant list over the kernel's SQLite storage. The TenantObject is its only writer,
 * so the in-memory verdicts stay exact (a revocation updates them after writing).
 *
 * @example
 * ```ts
 * const revoked = new RevokedGrants(ctx.storage.sql);
 * if (principal.grantId && revoked.has(principal.grantId)) return refuse("grant_revoked");
 * ```
 */
export class RevokedGrants {
	readonly #sql: SqlStorage;
	readonly #known = new Map<string, boolean>();

	constructor(sql: SqlStorage) {
		this.#sql = sql;
	}

	/** Whether `grantId` was revoked (one indexed lookup the first time, memory after). */
	has(grantId: string): boolean {
		const known = this.#known.get(grantId);
		if (known !== undefined) return known;
		const revoked = this.#sql.exec("SELECT 1 FROM revoked_grants WHERE grant_id = ?", grantId).toArray().length > 0;
		this.#remember(grantId, revoked);
		return revoked;
	}

	/** Records a revocation (inside the caller's transaction); false when it was recorded already. */
	add(grant: { grantId: string; userId: string; clientId: string }, now: number): boolean {
		const added =
			this.#sql
				.exec(
					"INSERT OR IGNORE INTO revoked_grants (grant_id, user_id, client_id, revoked_at) VALUES (?, ?, ?, ?) RETURNING grant_id",
					grant.grantId,
					grant.userId,
					grant.clientId.slice(0, 2048),
					now,
				)
				.toArray().length > 0;
		this.#remember(grant.grantId, true);
		return added;
	}

	/** Drops rows older than {@link REVOKED_GRANT_KEEP_MS} (retention alarm). */
	prune(now: number): void {
		this.#sql.exec("DELETE FROM revoked_grants WHERE revoked_at < ?", now - REVOKED_GRANT_KEEP_MS);
		this.#known.clear();
	}

	/** Drops the in-memory copy (after a failed transaction). */
	forget(): void {
		this.#known.clear();
	}

	#remember(grantId: string, revoked: boolean): void {
		if (this.#known.size >= MAX_KNOWN) this.#known.clear();
		this.#known.set(grantId, revoked);
	}
}
