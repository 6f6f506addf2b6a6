/**
 * @module objects/session/event-log
 * The SSE event log of one session, in the SessionObject's SQLite storage. Every message the
 * server sends on a stream is appended before it is written to the wire, so a client that lost
 * its stream can resume with `Last-Event-ID` (MCP 2025-11-25 streamable-http §"Resumability and
 * Redelivery"), also after the object was evicted.
 */
import { utf8Length } from "../../shared/utf8";

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
/**
 * Most bytes (UTF-8) of event data a session keeps for replay; the oldest events go first. With
 * {@link EVENT_LOG_LIMIT} alone a session could keep 1,000 events of {@link MAX_EVENT_CHARS} each
 * (over 1 GB); a client that floods its own stream now costs at most this much storage.
 */
export const EVENT_LOG_MAX_BYTES = 4 * 1024 * 1024;
/** Largest event kept for replay (UTF-16 units; at most 1.5 MB of UTF-8, under SQLite's 2 MB value cap). */
export const MAX_EVENT_CHARS = 500_000;

/** Append-only event storage for one session, bounded in events and bytes. */
export class EventLog {
	readonly #sql: SqlStorage;
	/** Bytes of event data stored, read once per object lifetime (the log holds at most 1,000 rows). */
	#bytes: number | undefined;
	constructor(sql: SqlStorage) {
		this.#sql = sql;
	}

	/**
	 * Stores an event and returns its sequence number, or null for an event too large to keep
	 * (SQLite values are capped at 2 MB in Durable Objects): it is still delivered, just not
	 * replayable. Past {@link EVENT_LOG_MAX_BYTES} bytes the oldest events are deleted in the same
	 * call; past {@link EVENT_LOG_LIMIT} events at the next 100th sequence number. Both survive
	 * evictions (the byte total is re-read from storage).
	 */
	append(stream: string, data: string): number | null {
		if (data.length > MAX_EVENT_CHARS) return null;
		const size = utf8Length(data);
		this.#bytes ??= this.#sql.exec<{ n: number }>("SELECT COALESCE(SUM(length(CAST(data AS BLOB))), 0) AS n FROM events").one().n;
		const seq = this.#sql.exec<{ seq: number }>("INSERT INTO events (stream, data) VALUES (?, ?) RETURNING seq", stream, data).one().seq;
		this.#bytes += size;
		// The count is trimmed every 100th event (at most 1,099 kept), the bytes on every append.
		const countCut = seq % 100 === 0 ? seq - EVENT_LOG_LIMIT : 0;
		const byteCut = this.#bytes > EVENT_LOG_MAX_BYTES ? this.#byteCut() : 0;
		const cut = Math.max(countCut, byteCut);
		if (cut > 0) {
			const gone = this.#sql
				.exec<{ n: number; bytes: number }>(
					"SELECT COUNT(*) AS n, COALESCE(SUM(length(CAST(data AS BLOB))), 0) AS bytes FROM events WHERE seq <= ?",
					cut,
				)
				.one();
			if (gone.n > 0) {
				this.#sql.exec("DELETE FROM events WHERE seq <= ?", cut);
				this.#bytes -= gone.bytes;
				if (seq % 100 === 0) this.#sql.exec("DELETE FROM finished_streams WHERE stream NOT IN (SELECT DISTINCT stream FROM events)");
			}
		}
		return seq;
	}

	/** The newest seq whose deletion (with everything before it) brings the log under the byte cap. */
	#byteCut(): number {
		const row = this.#sql
			.exec<{ seq: number }>(
				`SELECT seq FROM (SELECT seq, SUM(length(CAST(data AS BLOB))) OVER (ORDER BY seq DESC) AS newer FROM events)
				 WHERE newer > ? ORDER BY seq DESC LIMIT 1`,
				EVENT_LOG_MAX_BYTES,
			)
			.toArray()[0];
		return row?.seq ?? 0;
	}

	/** Events and bytes kept (tests and docs). */
	usage(): { events: number; bytes: number } {
		return this.#sql
			.exec<{ events: number; bytes: number }>(
				"SELECT COUNT(*) AS events, COALESCE(SUM(length(CAST(data AS BLOB))), 0) AS bytes FROM events",
			)
			.one();
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
