import { describe, expect, it } from "vitest";
import { checkBundle, checkHandlers, checkModule, formatRefusal, resolveModule } from "./checks";
import { scanSecrets } from "./secret-scan";

const manifest = {
	name: "demo",
	version: "1.0.0",
	main: "index.js",
	tools: [{ name: "echo", description: "Echo", inputSchema: { type: "object" }, scope: "mcp:read" }],
};
const ok = {
	manifest,
	modules: {
		"index.js": 'import { x } from "./lib/x.js";\nexport default { tools: { echo: async (a) => a } };',
		"lib/x.js": "export const x = 1;",
	},
};
const one = (source: string, modules: Record<string, unknown> = {}) => checkModule("index.js", source, { "index.js": source, ...modules });

// Fake credentials, assembled so that this file itself does not hold one.
const fake = {
	aws: "AKIA" + "ABCDEFGHIJKLMNOP",
	github: "ghp" + "_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
	githubPat: "github" + "_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop",
	slack: "xox" + "b-123456789012-abcdefghij",
	stripe: "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
	openai: "sk" + "-proj-" + "Abc123Def456Ghi789Jkl012Mno345Pqr678",
	google: "AI" + "za" + "SyA1234567890abcdefghijklmnopqrstuv",
	pem: "-----BEGIN " + "RSA PRIVATE KEY-----",
	jwt: "ey" + "JhbGciOiJIUzI1NiJ9.ey" + "JzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
	generic: "Zx8" + "pQ2mK9vL4tR7wN1",
};

describe("checkBundle", () => {
	it("passes a clean bundle and returns the manifest with default limits", () => {
		const r = checkBundle(ok);
		expect(r).toMatchObject({ ok: true, manifest: { limits: { cpuMs: 50 } } });
	});

	it("reports manifest, shape and code problems together, each located", () => {
		const r = checkBundle({
			manifest: { ...manifest, version: "x" },
			modules: { "index.js": "export default {", "../x.js": "" },
		});
		expect(r.ok).toBe(false);
		if (r.ok) return;
		const lines = r.refusals.map(formatRefusal);
		expect(lines).toEqual(
			expect.arrayContaining([
				expect.stringMatching(/^smcp\.app\.json: version: must be a semantic version/),
				expect.stringMatching(/^\.\.\/x\.js: is not an allowed module path/),
				expect.stringMatching(/^index\.js:1:\d+: Unexpected token.*ES module/),
			]),
		);
	});

	it("refuses a credential in the manifest without quoting it", () => {
		const r = checkBundle({ ...ok, manifest: { ...manifest, description: `key ${fake.aws}` } });
		expect(r.ok).toBe(false);
		expect(JSON.stringify(r)).not.toContain(fake.aws);
	});
});

describe("secret scan", () => {
	it.each(Object.entries(fake))("refuses a hard-coded %s, naming the line but never the value", (kind, value) => {
		const source = kind === "generic" ? `const x = 1;\nconst apiKey = "${value}";\n` : `const x = 1;\nconst v = "${value}";\n`;
		const refusals = one(source).filter((r) => r.kind === "secret");
		expect(refusals).toHaveLength(1);
		expect(refusals[0]).toMatchObject({ file: "index.js", line: 2 });
		expect(JSON.stringify(refusals)).not.toContain(value);
	});

	it("leaves ordinary code alone: names of secrets, URLs, short or low-entropy literals", () => {
		const source = [
			'const header = "Authorization";',
			'const secretName = "WEATHER_API_KEY";',
			'const tokenUrl = "https://auth.example.com/oauth2/token123456";',
			'const password = "correcthorsebatterystaple";',
			"const token = `${prefix}${value}abcdef0123`;",
			'const skip = "sk-short";',
		].join("\n");
		expect(scanSecrets(source)).toEqual([]);
	});

	it("the allow comment waives only the heuristic rule", () => {
		expect(scanSecrets(`const apiKey = "${fake.generic}"; // smcp:allow-secret`)).toEqual([]);
		expect(scanSecrets(`const v = "${fake.aws}"; // smcp:allow-secret`)).toHaveLength(1);
	});
});

describe("code rules", () => {
	const forbidden = [
		["eval", 'eval("1")'],
		["indirect eval", '(0, eval)("1")'],
		["globalThis.eval", 'globalThis.eval("1")'],
		["globalThis['eval']", 'globalThis["eval"]("1")'],
		["new Function", 'new Function("return 1")'],
		["Function()", 'Function("return 1")()'],
		["WebAssembly.compile", "await WebAssembly.compile(bytes)"],
		["WebAssembly.instantiate", "await WebAssembly.instantiate(bytes)"],
		["dynamic import", 'await import("./index.js")'],
		["reserved name", "let __smcp_tick = () => {}"],
		["reserved import", 'import { __smcp_begin } from "./index.js"'],
	] as const;
	it.each(forbidden)("refuses %s with its location", (_label, code) => {
		const refusals = one(`const bytes = 0;\n${code};`);
		expect(refusals.length).toBeGreaterThan(0);
		expect(refusals[0]).toMatchObject({ kind: "forbidden", line: 2 });
	});

	it("allows the same words where they are not code generation", () => {
		const source =
			"const o = { eval: 1, Function: 2 };\nconst a = o.eval + o.Function;\n" + "class K { eval() { return 1; } }\nexport { a };";
		expect(one(source)).toEqual([]);
	});

	it("imports only modules of the bundle, by relative path", () => {
		const cases: [string, RegExp][] = [
			['import z from "zod";', /bare or absolute specifier.*esbuild/],
			['import x from "/abs.js";', /bare or absolute/],
			['import x from "../outside.js";', /outside the bundle/],
			['import x from "./missing.js";', /not in the bundle/],
			['import x from "./lib/x";', /write "\.\/lib\/x\.js"/],
			['export * from "node:fs";', /bare/],
			['import d from "./lib/x.js" with { type: "json" };', /import attributes/],
		];
		for (const [code, message] of cases) {
			const refusals = one(code, { "lib/x.js": "" });
			expect(refusals.map((r) => r.message).join("\n"), code).toMatch(message);
		}
		expect(one('import { x } from "./lib/x.js"; export { x };', { "lib/x.js": "" })).toEqual([]);
	});

	it("resolves relative specifiers like a module loader", () => {
		expect(resolveModule("lib/a.js", "../index.js")).toBe("index.js");
		expect(resolveModule("lib/a.js", "./b/c.js")).toBe("lib/b/c.js");
		expect(resolveModule("index.js", "../x.js")).toBeNull();
	});
});

describe("checkHandlers (dry load)", () => {
	const m = { main: "index.js", tools: [{ name: "echo" }, { name: "add" }] } as Parameters<typeof checkHandlers>[1];
	it("matches handlers to declared tools both ways", () => {
		expect(checkHandlers({ tools: { echo() {}, add() {} } }, m)).toEqual([]);
		const r = checkHandlers({ tools: { echo() {}, extra() {} } }, m).map((x) => x.message);
		expect(r).toEqual([expect.stringMatching(/"add" is declared.*no handler/), expect.stringMatching(/"extra" is not declared/)]);
		expect(checkHandlers(undefined, m)[0]!.message).toMatch(/defineApp/);
	});
});
