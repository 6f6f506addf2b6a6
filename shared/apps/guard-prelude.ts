/**
 * @module shared/apps/guard-prelude
 * The run-time half of the loop guard: the prelude module added to every guarded bundle, and the
 * names a runner needs. No dependencies, so the host and the runner can import it without the
 * parser; the transform that calls into the prelude is in `guard.ts`.
 */

/** The prelude's module path inside a guarded bundle (reserved: bundles cannot use `__smcp*`). */
export const GUARD_MODULE = "__smcp_guard.js";
/** The `name` of the error the guard throws; survives Workers RPC, which keeps `name` and `message`. */
export const GUARD_ERROR_NAME = "SmcpDeadlineError";
/** Ticks per call by default: far above what a real tool spends, reached in well under a second by a busy loop. */
export const DEFAULT_MAX_TICKS = 10_000_000;
/** Synchronous call depth per call by default: below V8's stack limit for ordinary frames, above real recursion. */
export const DEFAULT_MAX_DEPTH = 1_000;

/** The guard's module: state is module-private, so only the runner (which imports it) can reset it. */
export const GUARD_PRELUDE = `// SMCP loop guard (inserted by the platform at deploy).
let deadline = Infinity;
let budget = ${DEFAULT_MAX_TICKS};
let maxDepth = ${DEFAULT_MAX_DEPTH};
let ticks = 0;
let depth = 0;
let tripped = "";
const now = Date.now;
export class ${GUARD_ERROR_NAME} extends Error {
	constructor(reason) {
		super("SMCP_DEADLINE: the tool call " + reason);
		this.name = "${GUARD_ERROR_NAME}";
	}
}
export function __smcp_begin(deadlineMs, maxTicks = ${DEFAULT_MAX_TICKS}, maxCallDepth = ${DEFAULT_MAX_DEPTH}) {
	if (typeof deadlineMs !== "number" || Number.isNaN(deadlineMs)) {
		throw new TypeError("__smcp_begin: deadlineMs must be a number (epoch ms)");
	}
	if (!(maxTicks > 0) || !(maxCallDepth > 0)) {
		throw new TypeError("__smcp_begin: maxTicks and maxCallDepth must be positive numbers");
	}
	deadline = deadlineMs;
	budget = maxTicks;
	maxDepth = maxCallDepth;
	ticks = 0;
	depth = 0;
	tripped = "";
}
export function __smcp_tick() {
	if (tripped !== "") throw new ${GUARD_ERROR_NAME}(tripped);
	if (++ticks > budget) tripped = "used up its loop and call budget (" + budget + " steps)";
	else if ((ticks & 1023) === 0 && now() > deadline) tripped = "ran past its deadline";
	else return;
	throw new ${GUARD_ERROR_NAME}(tripped);
}
export function __smcp_enter() {
	__smcp_tick();
	if (depth >= maxDepth) {
		tripped = "recursed deeper than " + maxDepth + " calls";
		throw new ${GUARD_ERROR_NAME}(tripped);
	}
	depth++;
}
export function __smcp_exit() {
	if (depth > 0) depth--;
}
`;

/** True for an error thrown by the guard (by `name`, which survives RPC; never by message text). */
export function isGuardError(error: unknown): boolean {
	return typeof error === "object" && error !== null && (error as { name?: unknown }).name === GUARD_ERROR_NAME;
}
