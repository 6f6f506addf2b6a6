/**
 * @module objects/tenant/refusals
 * The tool results the kernel answers with when it refuses a call before running it: a rate
 * limit (with the seconds to wait, also in `_meta` for clients that retry on their own) and a
 * plain tool error. Built-in and hosted calls refuse with the same words.
 */
import type { Refusal } from "../../shared/rpc/kernel";

/** A refusal as a tool result: assignable to both the built-in `ToolOutcome` and the hosted `RefusalOutcome`. */
export interface Refused {
	result: { content: { type: "text"; text: string }[]; isError: true; _meta?: Record<string, unknown> };
	progress: [];
}

/** A tool error carrying `message` (already safe for the wire). */
export function errorOutcome(message: string): Refused {
	return { result: { content: [{ type: "text", text: message }], isError: true }, progress: [] };
}

/** The call was not run: the workspace's or the client's budget is spent for `seconds`. */
export function rateLimitedOutcome(seconds: number): Refused {
	return {
		result: {
			content: [
				{ type: "text", text: `Rate limit reached for this workspace or client. The call was not run; retry in ${seconds} seconds.` },
			],
			isError: true,
			_meta: { "io.smcp/retryAfterSeconds": seconds },
		},
		progress: [],
	};
}

/** A refused request that was answered as a tool call (unknown tool, scope): a tool error. */
export function refusalOutcome(r: Refusal): Refused {
	return r.reason === "rate_limited" ? rateLimitedOutcome(r.retryAfterSeconds) : errorOutcome(r.message);
}
