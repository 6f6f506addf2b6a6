/**
 * @module shared/apps/checks
 * Pre-deploy checks: everything a bundle must pass before it is stored as a version. Each refusal
 * says what is wrong, where (file, line, column) and how to fix it; none quotes a secret.
 *
 * The code rules exist to make the loop guard's coverage provable: the guard instruments the code
 * it is given, so the code must not create more code at run time (`eval`, `Function`, Wasm
 * compilation) or load code from outside the bundle (dynamic `import()`, bare specifiers). The
 * Workers runtime refuses code generation from strings anyway; refusing it here turns a run-time
 * failure into a deploy-time message, and keeps the guard's names (`__smcp_*`) out of the tenant's
 * reach.
 */
import { isReference, parseModule, walk } from "./ast";
import { checkBundleShape, type AppBundle } from "./bundle";
import { validateManifest, type AppManifest, type ManifestOptions } from "./manifest";
import { ALLOW_COMMENT, scanSecrets } from "./secret-scan";

/** What a refusal is about. */
export type RefusalKind = "manifest" | "bundle" | "syntax" | "secret" | "forbidden" | "import";

/** One reason a bundle cannot be deployed. */
export interface Refusal {
	kind: RefusalKind;
	/** Module path, or `smcp.app.json` for the manifest. */
	file?: string;
	/** 1-based. */
	line?: number;
	/** 1-based. */
	column?: number;
	message: string;
}

/** Identifiers whose use means code generation or Wasm compilation at run time. */
const FORBIDDEN_GLOBALS: Record<string, string> = {
	eval: "eval() compiles code at run time, which apps cannot do: parse data with JSON.parse instead",
	Function: "the Function constructor compiles code at run time, which apps cannot do " + '(for a type test use typeof x === "function")',
	WebAssembly: "WebAssembly compile/instantiate is not available to apps: ship JavaScript modules only",
};
const GLOBAL_OBJECTS = new Set(["globalThis", "self", "window", "global"]);

/**
 * Runs every check on a bundle. On success returns the validated manifest (default limits filled
 * in), which is what the deploy stores and hashes.
 *
 * @example
 * ```ts
 * const r = checkBundle(bundle);
 * if (!r.ok) return r.refusals.map(formatRefusal).join("\n");
 * const version = await bundleHash({ manifest: r.manifest, modules: bundle.modules });
 * ```
 */
export function checkBundle(
	bundle: unknown,
	options: ManifestOptions = {},
): { ok: true; manifest: AppManifest } | { ok: false; refusals: Refusal[] } {
	const refusals: Refusal[] = checkBundleShape(bundle).map((p) => ({ kind: "bundle", ...p }));
	const { manifest, modules } = (bundle ?? {}) as Partial<AppBundle>;
	const m = validateManifest(manifest, options);
	if (!m.ok) for (const e of m.errors) refusals.push({ kind: "manifest", file: "smcp.app.json", message: `${e.path}: ${e.message}` });
	for (const f of scanSecrets(JSON.stringify(manifest ?? {}, null, 1))) {
		refusals.push({ kind: "secret", file: "smcp.app.json", message: `hard-coded ${f.kind}: ${SECRET_FIX}` });
	}
	if (modules && typeof modules === "object") {
		for (const [file, source] of Object.entries(modules))
			if (typeof source === "string") refusals.push(...checkModule(file, source, modules));
	}
	return refusals.length === 0 && m.ok ? { ok: true, manifest: m.manifest } : { ok: false, refusals };
}

const SECRET_FIX =
	"remove it, store it with the platform's secrets command, " + 'declare its name in "secrets" and inject it with "secretHeaders"';

/**
 * Checks one module: it parses as an ES module, holds no hard-coded credential, generates no code,
 * uses no `__smcp_*` name, and imports only other modules of the bundle.
 */
export function checkModule(file: string, source: string, modules: Record<string, unknown>): Refusal[] {
	const refusals: Refusal[] = [];
	for (const f of scanSecrets(source)) {
		const hint = f.kind.startsWith("credential-like") ? ` (if it is not a secret, add a // ${ALLOW_COMMENT} comment on the line)` : "";
		refusals.push({ kind: "secret", file, line: f.line, message: `hard-coded ${f.kind}: ${SECRET_FIX}${hint}` });
	}
	const parsed = parseModule(source);
	if (!parsed.ok) {
		const { line, column, message } = parsed.error;
		return [
			...refusals,
			{
				kind: "syntax",
				file,
				line,
				column,
				message: `${message}: the file must be a JavaScript ES module (bundle TypeScript first)`,
			},
		];
	}
	const at = (node: { loc?: { start: { line: number; column: number } } | null }) => ({
		file,
		line: node.loc?.start.line ?? 1,
		column: (node.loc?.start.column ?? 0) + 1,
	});
	walk(parsed.program, (node, parent, key) => {
		switch (node.type) {
			case "Identifier": {
				const name = (node as unknown as { name: string }).name;
				if (name.startsWith("__smcp")) {
					refusals.push({
						kind: "forbidden",
						...at(node),
						message: `"${name}": names starting with __smcp are reserved for the platform's loop guard; rename it`,
					});
				} else if (name in FORBIDDEN_GLOBALS && isReference(node, parent, key)) {
					refusals.push({ kind: "forbidden", ...at(node), message: FORBIDDEN_GLOBALS[name]! });
				}
				break;
			}
			case "MemberExpression": {
				const me = node as unknown as {
					object: { type: string; name?: string };
					property: { type: string; name?: string; value?: unknown };
					computed: boolean;
				};
				const prop = me.computed ? (me.property.type === "Literal" ? me.property.value : undefined) : me.property.name;
				if (
					me.object.type === "Identifier" &&
					GLOBAL_OBJECTS.has(me.object.name!) &&
					typeof prop === "string" &&
					prop in FORBIDDEN_GLOBALS
				) {
					refusals.push({ kind: "forbidden", ...at(node), message: FORBIDDEN_GLOBALS[prop]! });
				}
				break;
			}
			case "ImportExpression":
				refusals.push({
					kind: "forbidden",
					...at(node),
					message: 'dynamic import() is not allowed: import modules statically (import … from "./x.js") so the bundle is complete',
				});
				break;
			case "ImportDeclaration":
			case "ExportNamedDeclaration":
			case "ExportAllDeclaration": {
				const decl = node as unknown as { source?: { value: unknown } | null; attributes?: unknown[] };
				if (!decl.source) break;
				const problem = importProblem(file, String(decl.source.value), modules);
				if (problem) refusals.push({ kind: "import", ...at(node), message: problem });
				if (decl.attributes?.length) {
					refusals.push({
						kind: "import",
						...at(node),
						message: "import attributes (with { type: … }) are not supported: bundles hold JavaScript modules only",
					});
				}
				break;
			}
		}
	});
	return refusals;
}

/** Why an import specifier is refused, or null when it names a module of the bundle. */
function importProblem(from: string, specifier: string, modules: Record<string, unknown>): string | null {
	if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
		return (
			`"${specifier}" is a bare or absolute specifier: the bundle must be self-contained, ` +
			"so bundle your dependencies (e.g. with esbuild --bundle) and import only relative paths"
		);
	}
	const target = resolveModule(from, specifier);
	if (target === null) return `"${specifier}" points outside the bundle`;
	if (target in modules) return null;
	const withJs = `${target}.js`;
	return withJs in modules
		? `"${specifier}" has no extension: write "${specifier}.js"`
		: `"${specifier}" is not in the bundle (resolved to "${target}")`;
}

/**
 * Resolves a relative specifier against the importing module's path, or returns null when it
 * climbs above the bundle root.
 *
 * @example
 * ```ts
 * resolveModule("lib/a.js", "../index.js"); // "index.js"
 * ```
 */
export function resolveModule(from: string, specifier: string): string | null {
	const parts = from.split("/").slice(0, -1);
	for (const seg of specifier.split("/")) {
		if (seg === "." || seg === "") continue;
		if (seg === "..") {
			if (parts.length === 0) return null;
			parts.pop();
		} else parts.push(seg);
	}
	return parts.join("/");
}

/**
 * Checks a loaded app (the dry load's default export) against its manifest: every declared tool
 * has a handler and every handler is declared.
 */
export function checkHandlers(exported: unknown, manifest: Pick<AppManifest, "main" | "tools">): Refusal[] {
	const tools = (exported as { tools?: unknown } | null)?.tools;
	if (typeof tools !== "object" || tools === null) {
		return [
			{
				kind: "bundle",
				file: manifest.main,
				message: 'the default export must be defineApp({ tools: { … } }) (an object with a "tools" map)',
			},
		];
	}
	const refusals: Refusal[] = [];
	const declared = new Set(manifest.tools.map((t) => t.name));
	for (const name of declared) {
		if (typeof (tools as Record<string, unknown>)[name] !== "function") {
			refusals.push({
				kind: "bundle",
				file: manifest.main,
				message: `tool "${name}" is declared in the manifest but has no handler in tools`,
			});
		}
	}
	for (const name of Object.keys(tools)) {
		if (!declared.has(name))
			refusals.push({
				kind: "bundle",
				file: manifest.main,
				message: `handler "${name}" is not declared in the manifest's tools`,
			});
	}
	return refusals;
}

/** Writes a refusal as `file:line:column: message`, the form editors link to. */
export function formatRefusal(r: Refusal): string {
	const where = r.file ? `${r.file}${r.line ? `:${r.line}${r.column ? `:${r.column}` : ""}` : ""}: ` : "";
	return `${where}${r.message}`;
}
