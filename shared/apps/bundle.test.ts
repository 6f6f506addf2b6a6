import { describe, expect, it } from "vitest";
import {
	MAX_BUNDLE_BYTES,
	MAX_MODULES,
	MAX_MODULE_BYTES,
	bundleHash,
	canonicalJson,
	checkBundleShape,
	isModulePath,
	utf8Length,
	verifyBundleHash,
} from "./bundle";

const bundle = () => ({
	manifest: { name: "a", main: "index.js", version: "1.0.0" },
	modules: { "index.js": "export default 1;", "lib/x.js": "export const x = 1;" },
});

describe("module paths", () => {
	it("accepts relative .js paths and refuses traversal, absolute, backslash, dotfiles and reserved names", () => {
		for (const p of ["index.js", "lib/util.js", "a-b_c.mjs", "v1.2/x.js"]) expect(isModulePath(p)).toBe(true);
		for (const p of [
			"../x.js",
			"/abs.js",
			"a/../b.js",
			"./x.js",
			"a\\b.js",
			".hidden.js",
			"x.ts",
			"x.wasm",
			"",
			"a//b.js",
			"__smcp_guard.js",
		]) {
			expect(isModulePath(p), p).toBe(false);
		}
	});
});

describe("checkBundleShape", () => {
	it("accepts a small bundle", () => {
		expect(checkBundleShape(bundle())).toEqual([]);
	});

	it("refuses a missing main, non-string sources, bad names and too many modules", () => {
		const modules: Record<string, unknown> = { "../up.js": "", "x.js": 42 };
		for (let i = 0; i < MAX_MODULES; i++) modules[`m${i}.js`] = "";
		const problems = checkBundleShape({ manifest: { main: "index.js" }, modules });
		expect(problems.map((p) => p.file ?? "-")).toEqual(expect.arrayContaining(["../up.js", "x.js", "index.js", "-"]));
	});

	it("states the size limits in bytes, per module and in total", () => {
		const big = "x".repeat(MAX_MODULE_BYTES + 1);
		expect(checkBundleShape({ manifest: { main: "a.js" }, modules: { "a.js": big } })[0]!.message).toContain(String(MAX_MODULE_BYTES));
		const half = "y".repeat(MAX_MODULE_BYTES);
		const total = checkBundleShape({
			manifest: { main: "a.js" },
			modules: { "a.js": half, "b.js": half, "c.js": "z" },
		});
		expect(total.at(-1)!.message).toContain(String(MAX_BUNDLE_BYTES));
	});

	it("counts UTF-8 bytes, not UTF-16 units", () => {
		expect(utf8Length("aé€😀")).toBe(new TextEncoder().encode("aé€😀").length);
	});
});

describe("content hash", () => {
	it("is stable under key order and changes with any byte", async () => {
		const a = bundle();
		const b = {
			modules: { "lib/x.js": a.modules["lib/x.js"], "index.js": a.modules["index.js"] },
			manifest: { version: "1.0.0", main: "index.js", name: "a" },
		};
		const h = await bundleHash(a);
		expect(h).toMatch(/^[0-9a-f]{64}$/);
		expect(await bundleHash(b)).toBe(h);
		expect(await bundleHash({ ...a, modules: { ...a.modules, "index.js": "export default 2;" } })).not.toBe(h);
		expect(await verifyBundleHash(a, h)).toBe(true);
		expect(await verifyBundleHash(a, h.toUpperCase())).toBe(false);
		expect(await verifyBundleHash({ ...a, manifest: { ...a.manifest, version: "1.0.1" } }, h)).toBe(false);
	});

	it("a file name cannot be moved into the content (canonical encoding is unambiguous)", async () => {
		const one = { manifest: {}, modules: { "a.js": "x", "b.js": "y" } };
		const two = { manifest: {}, modules: { "a.js": 'x","b.js":"y' } };
		expect(await bundleHash(one)).not.toBe(await bundleHash(two));
	});

	it("canonical JSON refuses what JSON cannot represent", () => {
		expect(canonicalJson({ b: [1, "x"], a: null, c: undefined })).toBe('{"a":null,"b":[1,"x"]}');
		expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
		expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
	});
});
