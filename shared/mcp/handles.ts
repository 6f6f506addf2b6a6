/**
 * @module shared/mcp/handles
 * Explicit, server-minted handles for the little cross-call state SMCP has (spec 2026-07-28 /
 * SEP-2567: "validate (handle, auth_context) on every call"). A handle is 128 random bits, stored
 * in the tenant's SQLite with its kind, the user and client it was minted for, and an expiry. It
 * resolves only for that user and client, before it expires; anything else is indistinguishable
 * from an unknown handle. A handle from another tenant cannot resolve at all: it lives in that
 * tenant's storage.
 */
import type { VerifiedPrincipal } from "../rpc/principal";

/** Schema migration for handles (never edit: add a new migration). */
export const HANDLES_SCHEMA_V1 = `
CREATE TABLE handles (id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL, payload TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX handles_expiry ON handles (expires_at);
`;

/** The shape of a handle on the wire. */
export const HANDLE_PATTERN = /^h_[0-9a-f]{32}$/;

/** Handles of one tenant. Synchronous: usable inside the kernel's transaction. */
export class HandleStore {
	readonly #sql: SqlStorage;
	constructor(sql: SqlStorage) {
		this.#sql = sql;
	}

	/** Mints a handle for `principal` carrying `payload`, valid for `ttlMs`. */
	mint(principal: VerifiedPrincipal, kind: string, payload: unknown, ttlMs: number, now = Date.now()): string {
		const bytes = crypto.getRandomValues(new Uint8Array(16));
		const id = `h_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
		this.#sql.exec(
			"INSERT INTO handles (id, kind, user_id, client_id, payload, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
			id,
			kind,
			principal.userId,
			principal.clientId,
			JSON.stringify(payload),
			now + ttlMs,
		);
		return id;
	}

	/** The payload of a live handle of this kind minted for this principal, else null. */
	resolve<T>(principal: VerifiedPrincipal, kind: string, id: string, now = Date.now()): T | null {
		if (!HANDLE_PATTERN.test(id)) return null;
		const row = this.#sql
			.exec<{ payload: string }>(
				"SELECT payload FROM handles WHERE id = ? AND kind = ? AND user_id = ? AND client_id = ? AND expires_at > ?",
				id,
				kind,
				principal.userId,
				principal.clientId,
				now,
			)
			.toArray()[0];
		return row ? (JSON.parse(row.payload) as T) : null;
	}

	/** Deletes expired handles; returns how many. */
	prune(now = Date.now()): number {
		const n = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM handles WHERE expires_at <= ?", now).one().n;
		this.#sql.exec("DELETE FROM handles WHERE expires_at <= ?", now);
		return n;
	}
}
