/**
 * The dependency-rule check can fail: each violation it exists for, built in a scratch tree.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without declarations
import { checkImports } from "./check-imports.mjs";

let root: string;
function tree(files: Record<string, string>): string {
	root = fs.mkdtempSync(path.join(os.tmpdir(), "smcp-imports-"));
	for (const [file, text] of Object.entries(files)) {
		fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
		fs.writeFileSync(path.join(root, file), text);
	}
	return root;
}
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("the dependency rule", () => {
	it("fails when a module other than worker/oauth/principal.ts brands a principal (forged principal inside an object)", () => {
		const r = checkImports(
			tree({
				"objects/o.ts": 'import { brandPrincipal } from "../shared/rpc/principal";\nbrandPrincipal(x);',
				"worker/oauth/principal.ts": 'import { brandPrincipal } from "../../shared/rpc/principal";',
				"shared/rpc/principal.ts": "export function brandPrincipal() {}",
			}),
		);
		expect(r.violations).toEqual([expect.stringContaining("objects/o.ts: uses brandPrincipal")]);
	});

	it("holds for worker → shared and objects → shared", () => {
		const r = checkImports(
			tree({
				"worker/a.ts": 'import { x } from "../shared/x";',
				"objects/b.ts": 'import type { x } from "../shared/x";',
				"shared/x.ts": "export const x = 1;",
			}),
		);
		expect(r.violations).toEqual([]);
	});

	it("fails when objects/ imports worker/ (even a type)", () => {
		const r = checkImports(tree({ "objects/b.ts": 'import type { Env } from "../worker/env";', "worker/env.ts": "export type Env = {};" }));
		expect(r.violations).toEqual([expect.stringContaining("objects/b.ts: imports worker/env.ts")]);
	});

	it("fails when worker/ imports objects/ outside the Durable Object exports of worker/index.ts", () => {
		const r = checkImports(
			tree({
				"worker/index.ts": 'export { S } from "../objects/s";',
				"worker/mcp/route.ts": 'import { helper } from "../../objects/s";',
				"objects/s.ts": "export class S {}; export const helper = 1;",
			}),
		);
		expect(r.violations).toEqual([expect.stringContaining("worker/mcp/route.ts: imports objects/s.ts")]);
	});

	it("fails when shared/ imports either half, also through a dynamic import", () => {
		const r = checkImports(tree({ "shared/a.ts": 'const m = await import("../objects/s");', "objects/s.ts": "export {};" }));
		expect(r.violations).toEqual([expect.stringContaining("shared/a.ts: imports objects/s.ts")]);
	});

	it("fails on an import cycle and names its modules", () => {
		const r = checkImports(tree({ "shared/a.ts": 'import "./b";', "shared/b.ts": 'import "./a";' }));
		expect(r.violations).toEqual(["import cycle: shared/a.ts → shared/b.ts → shared/a.ts"]);
	});

	it("ignores an import written in a comment", () => {
		const r = checkImports(tree({ "shared/a.ts": '/** import { x } from "../worker/x"; */\n// import "../objects/y";\nexport {};' }));
		expect(r.violations).toEqual([]);
	});
});
