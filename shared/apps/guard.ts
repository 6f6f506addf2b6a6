/**
 * @module shared/apps/guard
 * The loop and recursion guard, inserted at deploy time. Every loop body starts with a call to
 * `__smcp_tick()`; every synchronous function body is wrapped in `__smcp_enter(); try { … } finally
 * { __smcp_exit(); }`, which counts a tick and the call depth; async functions and generators (whose
 * frames suspend, so a depth would not mean anything) start with a tick. Once the call's tick
 * budget, its depth limit or its deadline is spent, the guard throws a `SmcpDeadlineError`, and once
 * tripped every later tick throws again until the runner starts the next call: a busy loop, runaway
 * recursion, recursion that catches its own stack overflow, and a loop that catches the guard's
 * error all stop.
 *
 * Why a tick budget and not only a clock: in production Workers `Date.now()` advances only at I/O
 * boundaries (a Spectre mitigation), so a pure busy loop never sees time pass. The count stops it;
 * the deadline is the second test, for loops that await I/O. Why a depth limit: plain recursion
 * otherwise ends in the engine's stack overflow (a `RangeError` the code can catch and retry, each
 * retry costing microseconds); the limit, below the engine's, ends it with the guard's error.
 * Locally (workerd under `wrangler dev`, the Vitest plugin) the loader enforces no CPU limit, so
 * this guard is what bounds an app there. It sees all the code that runs because the checks refuse
 * code generation and imports from outside the bundle (see `checks.ts`). Native work (a huge
 * `String.prototype.repeat`, a catastrophic regular expression) is outside its reach; production's
 * CPU limit covers that.
 *
 * The runner imports {@link GUARD_MODULE} and calls `__smcp_begin(deadline, maxTicks, maxDepth)` at
 * the start of each tool call. The budget is per isolate: calls that overlap in one isolate share
 * it, and each `__smcp_begin` resets it.
 */
import MagicString from "magic-string";
import type { Node } from "acorn";
import { parseModule, walk, type SyntaxProblem } from "./ast";

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
	if (typeof deadlineMs !== "number" || Number.isNaN(deadlineMs)) throw new TypeError("__smcp_begin: deadlineMs must be a number (epoch ms)");
	if (typeof maxTicks !== "number" || !(maxTicks > 0)) throw new TypeError("__smcp_begin: maxTicks must be a positive number");
	if (typeof maxCallDepth !== "number" || !(maxCallDepth > 0)) throw new TypeError("__smcp_begin: maxCallDepth must be a positive number");
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

const TICK = "__smcp_tick();";
const ENTER = "__smcp_enter();try{";
const EXIT = "}finally{__smcp_exit();}";
const LOOPS = new Set(["ForStatement", "ForInStatement", "ForOfStatement", "WhileStatement", "DoWhileStatement"]);
const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

type Ranged = Node & { body?: Ranged | Ranged[]; async?: boolean; generator?: boolean; directive?: string; value?: Ranged | null };

/**
 * Instruments one module. `path` is its path in the bundle (it decides the prelude's relative
 * specifier). Line numbers are unchanged: insertions stay on their lines and the prelude import is
 * appended at the end (imports are hoisted).
 *
 * @example
 * ```ts
 * const r = guardModule("index.js", "export function f() { for (;;); }");
 * // r.code: export function f() {__smcp_enter();try{ for (;;){__smcp_tick();;} }finally{__smcp_exit();}}
 * //         ;import { __smcp_tick, __smcp_enter, __smcp_exit } from "./__smcp_guard.js";
 * ```
 */
export function guardModule(path: string, source: string): { ok: true; code: string } | { ok: false; error: SyntaxProblem } {
	const parsed = parseModule(source, { preserveParens: true });
	if (!parsed.ok) return parsed;
	const s = new MagicString(source);
	// Pre-order: an outer construct edits before the constructs inside it. Openers at one offset are
	// appended (outer first), closers at one offset prepended (inner first), so nesting stays balanced.
	const open = (at: number, text: string) => s.appendRight(at, text);
	const close = (at: number, text: string) => s.prependLeft(at, text);
	walk(parsed.program, (node) => {
		const n = node as Ranged;
		if (LOOPS.has(n.type)) {
			const body = n.body as Ranged;
			if (body.type === "BlockStatement") open(body.start + 1, TICK);
			else {
				open(body.start, `{${TICK}`);
				close(body.end, "}");
			}
		} else if (FUNCTIONS.has(n.type)) {
			const body = n.body as Ranged;
			const suspends = n.async === true || n.generator === true;
			if (body.type === "BlockStatement") {
				const at = afterDirectives(body);
				// A directive may lack its semicolon; the extra `;` is an empty statement.
				const lead = at === body.start + 1 ? "" : ";";
				if (suspends) open(at, lead + TICK);
				else {
					open(at, lead + ENTER);
					close(body.end - 1, EXIT);
				}
			} else if (suspends) {
				open(body.start, "(__smcp_tick(), ");
				close(body.end, ")");
			} else {
				// `x => expr` becomes `x => {enter; try{return expr}finally{exit}}`; with parentheses
				// preserved, the body's range covers `({ … })`, so an object literal stays an expression.
				open(body.start, `{${ENTER}return `);
				close(body.end, `${EXIT}}`);
			}
		} else if (n.type === "PropertyDefinition" && n.value && !FUNCTIONS.has(n.value.type) && n.value.type !== "ClassExpression") {
			// A field initialiser runs on every construction; a function value ticks itself and keeps its inferred name.
			open(n.value.start, "(__smcp_tick(), ");
			close(n.value.end, ")");
		}
	});
	const from = preludeSpecifier(path);
	s.append(`\n;import { __smcp_tick, __smcp_enter, __smcp_exit } from "${from}";\n`);
	return { ok: true, code: s.toString() };
}

/**
 * Instruments every module of a bundle and adds the prelude as {@link GUARD_MODULE}. Run the deploy
 * checks first: they refuse `__smcp*` names, which the guard relies on being its own.
 *
 * @example
 * ```ts
 * const g = guardBundle(bundle.modules);
 * if (g.ok) stored.modules = g.modules;
 * ```
 */
export function guardBundle(modules: Record<string, string>): { ok: true; modules: Record<string, string> } | { ok: false; file: string; error: SyntaxProblem } {
	const out: Record<string, string> = {};
	for (const [path, source] of Object.entries(modules)) {
		const r = guardModule(path, source);
		if (!r.ok) return { ok: false, file: path, error: r.error };
		out[path] = r.code;
	}
	out[GUARD_MODULE] = GUARD_PRELUDE;
	return { ok: true, modules: out };
}

/** True for an error thrown by the guard (by `name`, which survives RPC; never by message text). */
export function isGuardError(error: unknown): boolean {
	return typeof error === "object" && error !== null && (error as { name?: unknown }).name === GUARD_ERROR_NAME;
}

/** Where a function's tick goes: after its directive prologue (a tick before it would end the prologue). */
function afterDirectives(block: Ranged): number {
	let at = block.start + 1;
	for (const stmt of block.body as Ranged[]) {
		if (stmt.type !== "ExpressionStatement" || typeof stmt.directive !== "string") break;
		at = stmt.end;
	}
	return at;
}

/** The prelude's specifier relative to a module at `path`. */
function preludeSpecifier(path: string): string {
	const depth = path.split("/").length - 1;
	return depth === 0 ? `./${GUARD_MODULE}` : `${"../".repeat(depth)}${GUARD_MODULE}`;
}
