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
import { GUARD_MODULE, GUARD_PRELUDE } from "./guard-prelude";

export {
	DEFAULT_MAX_DEPTH,
	DEFAULT_MAX_TICKS,
	GUARD_ERROR_NAME,
	GUARD_MODULE,
	GUARD_PRELUDE,
	isGuardError,
} from "./guard-prelude";

const TICK = "__smcp_tick();";
const ENTER = "__smcp_enter();try{";
const EXIT = "}finally{__smcp_exit();}";
const LOOPS = new Set(["ForStatement", "ForInStatement", "ForOfStatement", "WhileStatement", "DoWhileStatement"]);
const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

type Ranged = Node & {
	body?: Ranged | Ranged[];
	async?: boolean;
	generator?: boolean;
	directive?: string;
	value?: Ranged | null;
};

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
export function guardBundle(
	modules: Record<string, string>,
): { ok: true; modules: Record<string, string> } | { ok: false; file: string; error: SyntaxProblem } {
	const out: Record<string, string> = {};
	for (const [path, source] of Object.entries(modules)) {
		const r = guardModule(path, source);
		if (!r.ok) return { ok: false, file: path, error: r.error };
		out[path] = r.code;
	}
	out[GUARD_MODULE] = GUARD_PRELUDE;
	return { ok: true, modules: out };
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
