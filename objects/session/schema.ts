/**
 * @module objects/session/schema
 * SessionObject's schema migrations, in order. Never edit an entry that has shipped.
 * Run when a session first needs its event log. The session's state lives in the object's
 * key-value store (`ctx.storage.kv`); migration 2 drops the `meta` table nothing writes any more.
 */
import type { Migration } from "../migrations";

export const SESSION_MIGRATIONS: readonly Migration[] = [
	{
		id: 1,
		name: "session state and event log",
		sql: `
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX events_stream ON events (stream, seq);
CREATE TABLE finished_streams (stream TEXT PRIMARY KEY);
`,
	},
	{ id: 2, name: "drop the unused meta table", sql: "DROP TABLE IF EXISTS meta;" },
];
