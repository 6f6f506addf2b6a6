#!/usr/bin/env node
/**
 * @module scripts/check-imports
 * The dependency rule, checked (CONTRIBUTING.md "Layout"): `worker/` and `objects/` import only
 * `shared/` (and npm packages); `shared/` imports neither; `worker/index.ts` alone may re-export
 * the Durable Object classes, because the runtime finds them in the Worker's main module. No
 * import cycle between the project's modules either, type-only imports included: a cycle is
 * where two modules stop being separable. And one security rule: only the front Worker's auth
 * step (`worker/oauth/principal.ts`) and tests may call `brandPrincipal`, the one way to make a
 * verified principal from a grant; a Durable Object re-validates with `receivePrincipal`.
 *
 * Usage: `node scripts/check-imports.mjs [root]`; exits 1 and prints one line per violation.
 *
 * @example
 * ```sh
 * node scripts/check-imports.mjs      # prints "imports: 142 modules, dependency rule holds"
 * ```
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Folders whose modules the rule covers. */
const LAYERS = ["worker", "objects", "shared"];
/** Which layers each layer may import (itself included). */
const ALLOWED = { worker: ["worker", "shared"], objects: ["objects", "shared"], shared: ["shared"] };
/** The one place where `worker/` may name `objects/`: the Durable Object class exports. */
const DO_EXPORTS = "worker/index.ts";

/** The one module (besides tests) that may brand a principal. */
const BRANDS_PRINCIPALS = "worker/oauth/principal.ts";
const BRAND = /\bbrandPrincipal\b/;

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"']+)\1/g;

/** Lists the TypeScript and JavaScript modules under `dir`, repository-relative. */
function modules(root, dir) {
	const out = [];
	const walk = (d) => {
		for (const entry of fs.readdirSync(path.join(root, d), { withFileTypes: true })) {
			const rel = `${d}/${entry.name}`;
			if (entry.isDirectory()) walk(rel);
			else if (/\.(ts|mts|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.mts")) out.push(rel);
		}
	};
	if (fs.existsSync(path.join(root, dir))) walk(dir);
	return out;
}

/** Resolves a relative specifier to a repository-relative file, or null for packages. */
function resolve(root, from, spec) {
	if (!spec.startsWith(".")) return null;
	const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
	for (const ext of ["", ".ts", ".mts", ".mjs", "/index.ts"]) {
		const candidate = base + ext;
		if (fs.existsSync(path.join(root, candidate)) && fs.statSync(path.join(root, candidate)).isFile()) return candidate;
	}
	return base;
}

/** Strips comments so that an example in a doc comment is not read as an import. */
function code(text) {
	return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/**
 * Checks the rule under `root`.
 *
 * @returns the violations (empty when the rule holds) and the number of modules read.
 */
export function checkImports(root) {
	const files = LAYERS.flatMap((layer) => modules(root, layer));
	const graph = new Map();
	const violations = [];
	for (const file of files) {
		const layer = file.split("/")[0];
		const edges = [];
		const text = code(fs.readFileSync(path.join(root, file), "utf8"));
		if (BRAND.test(text) && file !== BRANDS_PRINCIPALS && file !== "shared/rpc/principal.ts" && !file.endsWith(".test.ts")) {
			violations.push(`${file}: uses brandPrincipal (only ${BRANDS_PRINCIPALS} brands a principal; objects use receivePrincipal)`);
		}
		for (const match of text.matchAll(SPECIFIER)) {
			const target = resolve(root, file, match[2]);
			if (target === null) continue;
			const targetLayer = target.split("/")[0];
			edges.push(target);
			if (!LAYERS.includes(targetLayer)) {
				// A colocated unit test may use test support code and the examples; shipped code may not.
				if (file.endsWith(".test.ts")) continue;
				// The package manifest is data (the server reports its version), not a layer.
				if (target === "package.json") continue;
				violations.push(`${file}: imports ${target}, outside worker/, objects/ and shared/`);
			} else if (!ALLOWED[layer].includes(targetLayer) && !(file === DO_EXPORTS && targetLayer === "objects")) {
				violations.push(`${file}: imports ${target} (${layer}/ may import only ${ALLOWED[layer].join("/, ")}/)`);
			}
		}
		graph.set(file, edges);
	}
	for (const cycle of cycles(graph)) violations.push(`import cycle: ${cycle.join(" → ")}`);
	return { violations, modules: files.length };
}

/** The strongly connected components of more than one module (Tarjan), each as a cycle path. */
function cycles(graph) {
	let index = 0;
	const stack = [];
	const on = new Set();
	const idx = new Map();
	const low = new Map();
	const found = [];
	const visit = (v) => {
		idx.set(v, index);
		low.set(v, index++);
		stack.push(v);
		on.add(v);
		for (const w of graph.get(v) ?? []) {
			if (!graph.has(w)) continue;
			if (!idx.has(w)) {
				visit(w);
				low.set(v, Math.min(low.get(v), low.get(w)));
			} else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
		}
		if (low.get(v) === idx.get(v)) {
			const component = [];
			let w;
			do {
				w = stack.pop();
				on.delete(w);
				component.push(w);
			} while (w !== v);
			if (component.length > 1) {
				const sorted = [...component].sort();
				found.push([...sorted, sorted[0]]);
			}
		}
	};
	for (const v of graph.keys()) if (!idx.has(v)) visit(v);
	return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const root = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
	const { violations, modules: count } = checkImports(root);
	for (const v of violations) console.error(v);
	if (violations.length > 0) {
		console.error(`imports: ${violations.length} violation(s) of the dependency rule (CONTRIBUTING.md "Layout")`);
		process.exit(1);
	}
	console.log(`imports: ${count} modules, dependency rule holds, no cycles`);
}
