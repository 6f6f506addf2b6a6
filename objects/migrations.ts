/**
 * @module objects/migrations
 * Numbered schema migrations for a Durable Object's SQLite storage. Run once, in order, from the
 * constructor inside `blockConcurrencyWhile`, each inside its own `transactionSync`, so no request
 * sees a half-migrated schema. A checksum of every applied migration is stored: editing a
 * migration that has already run is detected and refused (add a new one instead).
 */

/** One schema step. `id`s are 1, 2, 3, … with no gaps; `sql` may hold several statements. */
export interface Migration {
	readonly id: number;
	readonly name: string;
	readonly sql: string;
}

/** Checksums already computed in this isolate: every object of a class runs the same list. */
const sums = new WeakMap<Migration, string>();

/** A migration's checksum, computed once per isolate. */
function checksumOf(m: Migration): string {
	let sum = sums.get(m);
	if (sum === undefined) sums.set(m, (sum = checksum(m.sql)));
	return sum;
}

/** FNV-1a over the SQL text: enough to notice an edited migration, not a security control. */
function checksum(text: string): string {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Applies the migrations not yet applied. Returns the ids it applied (empty when up to date).
 *
 * @example
 * ```ts
 * ctx.blockConcurrencyWhile(async () => { migrate(ctx.storage, TENANT_MIGRATIONS); });
 * ```
 */
export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): number[] {
	migrations.forEach((m, i) => {
		if (m.id !== i + 1) throw new TypeError(`Migration "${m.name}" has id ${m.id}; expected ${i + 1} (ids are 1, 2, 3, … with no gaps)`);
	});
	const sql = storage.sql;
	sql.exec(
		"CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
	);
	const applied = new Map(
		sql
			.exec<{ id: number; checksum: string }>("SELECT id, checksum FROM _migrations")
			.toArray()
			.map((r) => [r.id, r.checksum]),
	);
	const ran: number[] = [];
	for (const m of migrations) {
		const sum = checksumOf(m);
		const existing = applied.get(m.id);
		if (existing !== undefined) {
			if (existing !== sum) {
				throw new Error(
					`Migration ${m.id} ("${m.name}") changed after it was applied (checksum ${existing} → ${sum}). ` +
						"Applied migrations must never be edited: restore it and add a new migration instead.",
				);
			}
			continue;
		}
		storage.transactionSync(() => {
			sql.exec(m.sql);
			sql.exec("INSERT INTO _migrations (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)", m.id, m.name, sum, Date.now());
		});
		ran.push(m.id);
	}
	const newest = Math.max(0, ...applied.keys());
	if (newest > migrations.length) {
		throw new Error(
			`Storage is at schema ${newest} but this code knows only ${migrations.length} migrations: an older version was deployed over a newer one.`,
		);
	}
	return ran;
}
