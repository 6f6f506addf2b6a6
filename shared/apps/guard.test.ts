import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { GUARD_ERROR_NAME, GUARD_MODULE, guardBundle, guardModule, isGuardError } from "./guard";

type Guard = { __smcp_begin(deadline: number, maxTicks?: number): void };

/** Writes modules to a fresh directory and imports one of them (file URLs: real ES module semantics). */
async function load(modules: Record<string, string>, entry = "index.js"): Promise<Record<string, any>> {
	const dir = mkdtempSync(join(tmpdir(), "smcp-guard-"));
	for (const [path, code] of Object.entries(modules)) {
		mkdirSync(dirname(join(dir, path)), { recursive: true });
		writeFileSync(join(dir, path), code);
	}
	return import(/* @vite-ignore */ pathToFileURL(join(dir, entry)).href);
}

/** Guards and loads a bundle; returns the entry module and the prelude (the runner's view). */
async function guarded(modules: Record<string, string>, entry = "index.js") {
	const g = guardBundle(modules);
	if (!g.ok) throw new Error(`${g.file}: ${g.error.message}`);
	const dir = mkdtempSync(join(tmpdir(), "smcp-guard-"));
	for (const [path, code] of Object.entries(g.modules)) {
		mkdirSync(dirname(join(dir, path)), { recursive: true });
		writeFileSync(join(dir, path), code);
	}
	const guard = (await import(/* @vite-ignore */ pathToFileURL(join(dir, GUARD_MODULE)).href)) as Guard;
	const mod = await import(/* @vite-ignore */ pathToFileURL(join(dir, entry)).href);
	return { mod, guard };
}

const stopped = (fn: () => unknown) => {
	try {
		fn();
	} catch (e) {
		return isGuardError(e) ? (e as Error).message : `other: ${String(e)}`;
	}
	return "not stopped";
};

describe("guardModule: where ticks go", () => {
	const code = (src: string) => {
		const r = guardModule("index.js", src);
		if (!r.ok) throw new Error(r.error.message);
		return r.code.split("\n;import")[0];
	};

	it("starts every loop body, braced or not", () => {
		expect(code("for(;;);")).toBe("for(;;){__smcp_tick();;}");
		expect(code("while(a) b()")).toBe("while(a) {__smcp_tick();b()}");
		expect(code("do x(); while (y)")).toBe("do {__smcp_tick();x();} while (y)");
		expect(code("for (const k in o) { f(k) }")).toBe("for (const k in o) {__smcp_tick(); f(k) }");
		expect(code("while(a) while(b);")).toBe("while(a) {__smcp_tick();while(b){__smcp_tick();;}}");
	});

	it("wraps synchronous function bodies (after their directives) to count calls and depth", () => {
		const E = "__smcp_enter();try{";
		const X = "}finally{__smcp_exit();}";
		expect(code("function f(){return 1}")).toBe(`function f(){${E}return 1${X}}`);
		expect(code('function f(){"use strict"\nreturn 1}')).toBe(`function f(){"use strict";${E}\nreturn 1${X}}`);
		expect(code("const f = x => ({x})")).toBe(`const f = x => {${E}return ({x})${X}}`);
		expect(code("for(;;) x => y")).toBe(`for(;;) {__smcp_tick();x => {${E}return y${X}}}`);
		expect(code("function f(){for(;;)x}")).toBe(`function f(){${E}for(;;){__smcp_tick();x}${X}}`);
		expect(code("class A { n = 1; m = () => 2; get g() { return 3 } }")).toBe(
			`class A { n = (__smcp_tick(), 1); m = () => {${E}return 2${X}}; get g() {${E} return 3 ${X}} }`,
		);
	});

	it("starts async functions and generators with a tick (their frames suspend, so no depth)", () => {
		expect(code("async function f(){await g()}")).toBe("async function f(){__smcp_tick();await g()}");
		expect(code("function* g(){yield 1}")).toBe("function* g(){__smcp_tick();yield 1}");
		expect(code("const f = async x => await x")).toBe("const f = async x => (__smcp_tick(), await x)");
	});

	it("keeps line numbers and imports the prelude relative to the module", () => {
		const src = "export function f() {\n\tfor (;;)\n\t\tg();\n}\n";
		const r = guardModule("lib/deep/x.js", src);
		expect(
			r.ok &&
				r.code
					.split("\n")
					.slice(0, 4)
					.map((l) => l.includes("for") || l.includes("g()")),
		).toEqual([false, true, true, false]);
		expect(r.ok && r.code).toContain(`from "../../${GUARD_MODULE}"`);
		expect(guardModule("x.js", "for (")).toMatchObject({ ok: false, error: { line: 1 } });
	});
});

describe("the guard stops runaway code", () => {
	const spin = `
export function whileTrue() { while (true) {} }
export function forEver() { for (;;); }
export function doForever() { do ; while (true) }
export function forOf() { function* g() { for (;;) yield 1; } for (const x of g()) {} }
export function rec() { return rec(); }
export function recCatch() { try { recCatch(); } catch {} recCatch(); }
export function swallow() { for (;;) { try { for (;;); } catch {} } }
export const arrowRec = () => arrowRec();
export function methodRec() { const o = { m() { return this.m(); } }; return o.m(); }
export function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); }
export function sum(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }
`;

	it.each(["whileTrue", "forEver", "doForever", "forOf", "swallow"])("%s throws the guard error (tick budget)", async (name) => {
		const { mod, guard } = await guarded({ "index.js": spin });
		guard.__smcp_begin(Date.now() + 10_000, 100_000);
		expect(stopped(() => mod[name]())).toMatch(/^SMCP_DEADLINE: the tool call used up its loop and call budget/);
	});

	it.each(["rec", "recCatch", "arrowRec", "methodRec"])("%s throws the guard error (depth limit), with the defaults", async (name) => {
		const { mod, guard } = await guarded({ "index.js": spin });
		guard.__smcp_begin(Date.now() + 10_000);
		const started = Date.now();
		expect(stopped(() => mod[name]())).toBe("SMCP_DEADLINE: the tool call recursed deeper than 1000 calls");
		expect(Date.now() - started).toBeLessThan(1_000);
	});

	it("counts depth back down: deep but finite recursion, repeated, passes", async () => {
		const { mod, guard } = await guarded({ "index.js": spin });
		guard.__smcp_begin(Date.now() + 10_000);
		for (let i = 0; i < 50; i++) expect(mod.depth(900)).toBe(900);
		expect(stopped(() => mod.depth(1_001))).toMatch(/deeper than 1000/);
	});

	it("stops a busy loop with the default budget, and the next call starts afresh", async () => {
		const { mod, guard } = await guarded({ "index.js": spin });
		guard.__smcp_begin(Date.now() + 60_000);
		expect(stopped(() => mod.whileTrue())).toMatch(/budget \(10000000 steps\)/);
		expect(stopped(() => mod.sum(10))).toMatch(/budget/); // still tripped within the same call
		guard.__smcp_begin(Date.now() + 60_000);
		expect(mod.sum(10)).toBe(45);
	});

	it("stops on the wall-clock deadline when time does pass", async () => {
		const { mod, guard } = await guarded({ "index.js": spin });
		guard.__smcp_begin(Date.now() + 30, Number.MAX_SAFE_INTEGER);
		expect(stopped(() => mod.forEver())).toBe("SMCP_DEADLINE: the tool call ran past its deadline");
	});

	it("stops a loop at module top level (before any call begins)", async () => {
		const g = guardBundle({ "index.js": "let i = 0; while (true) i++; export default i;" });
		expect(g.ok).toBe(true);
		if (!g.ok) return;
		await expect(load(g.modules)).rejects.toMatchObject({ name: GUARD_ERROR_NAME });
	});

	it("is invisible to modules in sub-folders too", async () => {
		const { mod, guard } = await guarded({
			"index.js": 'export { spin } from "./lib/spin.js";',
			"lib/spin.js": "export function spin() { for (;;); }",
		});
		guard.__smcp_begin(Date.now() + 10_000, 1_000);
		expect(stopped(() => mod.spin())).toMatch(/budget/);
	});
});

describe("guarded code computes what the original computes", () => {
	const corpus = `export function run() {
	"use strict"
	const out = [];
	outer: for (let i = 0; i < 3; i++) inner: for (let j = 0; j < 3; j++) {
		if (j === 2) continue outer; if (i === 2) break inner; out.push(i * 10 + j);
	}
	let k = 0; while (k < 5) k++; out.push(k);
	do k--;
	while (k > 2)
	out.push(k);
	for (const x of [1, 2]) out.push(x);
	for (const key in { a: 1, b: 2 }) out.push(key);
	if (k === 0) out.push("zero"); else if (k === 2) out.push("two"); else out.push("other");
	const sq = (x) => x * x, obj = (x) => ({ x }), curried = (a) => (b) => a + b;
	out.push(sq(4), obj(1).x, curried(1)(2));
	class A {
		static count = 0; n = A.count++; m = () => this.n; #p = 5;
		get double() { return this.n * 2; } priv() { return this.#p; } static { A.ready = true; }
	}
	class B extends A { constructor() { super(); this.b = 1; } }
	const a = new A(), b = new B();
	out.push(a.n, b.n, a.m(), b.double, A.ready, b.priv(), b.m.name, b.b);
	function* gen() { let i = 0; while (i < 3) yield i++; }
	out.push([...gen()]);
	const o = { method() { return 1; }, get g() { return 2; }, ["comp" + "uted"]: () => 4 };
	out.push(o.method(), o.g, o.computed(), o.computed.name);
	label: { out.push("label"); break label; }
	switch (k) { case 2: out.push("case2"); break; default: out.push("def"); }
	let t = 0; for (;;) { if (++t > 3) break; } out.push(t);
	for (let q = 0; q < 2; q++) ;
	out.push([3, 1, 2].sort((x, y) => x - y), [1, 2].map(function (x) { return x * 2; }));
	out.push((function () { return this === undefined; })());
	return out;
}
export async function runAsync() {
	const f = async (x) => x + 1;
	let s = 0;
	for await (const v of (async function* () { yield 1; yield 2; })()) s += v;
	return [await f(1), s];
}
export const last = () => 1`;

	it("on a corpus of loops, labels, classes, generators, getters and arrows", async () => {
		const original = await load({ "index.js": corpus });
		const { mod, guard } = await guarded({ "index.js": corpus });
		guard.__smcp_begin(Date.now() + 10_000);
		expect(mod.run()).toEqual(original.run());
		expect(await mod.runAsync()).toEqual(await original.runAsync());
		expect(mod.last()).toBe(1);
		expect(original.run()).toContain("case2"); // the corpus ran, not just matched
	});
});
