/**
 * @module objects/session/event-log
 * The SSE event log of one session, in the SessionObject's SQLite storage. Every message the
 * server sends on a stream is appended before it is written to the wire, so a client that lost
 * its stream can resume with `Last-Event-ID` (MCP 2025-11-25 streamable-http §"Resumability and
 * Redelivery"), also after the object was evicted.
 */

/** Event ids look like `<streamId>_<seq>`; stream ids are short random strings without `_`. */
export function eventId(stream: string, seq: number): string {
	return `${stream}_${seq}`;
}

/** Splits an event id into stream and sequence; null for anything malformed. */
export function parseEventId(id: string): { stream: string; seq: number } | null {
	const m = /^([A-Za-z0-9-]{1,40})_(\d{1,15})$/.exec(id);
	return m ? { stream: m[1]!, seq: Number(m[2]) } : null;
}

/** How many events a session keeps for replay; older ones are pruned. */
export const EVENT_LOG_LIMIT = 1000;
/** Largest event kept for replay (UTF-16 units; well under SQLite's 2 MB value cap in bytes). */
export const MAX_EVENT_CHARS = 500_000;

/** Append-only event storage for one session. */
export class EventLog {
	readonly #sql: SqlStorage;
	constructor(sql: SqlStorage) {
		this.#sql = sql;
	}

	/**
	 * Stores an event and returns its sequence number, or null for an event too large to keep
	 * (SQLite values are capped at 2 MB in Durable Objects): it is still delivered, just not
	 * replayable. Pruning runs every 100th sequence number, so it survives evictions.
	 */
	append(stream: string, data: string): number | null {
		if (data.length > MAX_EVENT_CHARS) return null;
		const seq = this.#sql.exec<{ seq: number }>("INSERT INTO events (stream, data) VALUES (?, ?) RETURNING seq", stream, data).one().seq;
		if (seq % 100 === 0) {
			this.#sql.exec("DELETE FROM events WHERE seq <= ?", seq - EVENT_LOG_LIMIT);
			this.#sql.exec("DELETE FROM finished_streams WHERE stream NOT IN (SELECT DISTINCT stream FROM events)");
		}
		return seq;
	}

	/** Events of `stream` after `seq`, oldest first. */
	after(stream: string, seq: number): { seq: number; data: string }[] {
		return this.#sql
			.exec<{ seq: number; data: string }>("SELECT seq, data FROM events WHERE stream = ? AND seq > ? ORDER BY seq", stream, seq)
			.toArray();
	}

	/** Marks a stream finished (its final response was logged). */
	finish(stream: string): void {
		this.#sql.exec("INSERT OR REPLACE INTO finished_streams (stream) VALUES (?)", stream);
	}

	/** Whether a stream's final response has been logged. */
	isFinished(stream: string): boolean {
		return this.#sql.exec("SELECT 1 FROM finished_streams WHERE stream = ?", stream).toArray().length > 0;
	}
}
