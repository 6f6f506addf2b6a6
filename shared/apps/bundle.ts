/**
 * @module shared/apps/bundle
 * The deployable unit: a manifest plus ES module source text, content-addressed. A version's id is
 * the SHA-256 of the bundle's canonical encoding, so a version is immutable by construction: the
 * same bytes always get the same id, and a stored bundle can be checked against its id before it
 * is loaded ({@link verifyBundleHash}).
 *
 * The hash covers the manifest exactly as stored in the bundle. Deploy validates the manifest first
 * (`validateManifest` fills in default limits) and stores and hashes the validated form, so two
 * manifests that mean the same limits hash the same.
 */
import { utf8Length } from "../utf8";

export { utf8Length };

/** Most modules in a bundle. */
export const MAX_MODULES = 64;
/** Largest module, in bytes of UTF-8 source. */
export const MAX_MODULE_BYTES = 512 * 1024;
/** Largest bundle: all modules' UTF-8 source together. */
export const MAX_BUNDLE_BYTES = 1024 * 1024;
/** Longest module path. */
export const MAX_MODULE_PATH = 128;
/** Module names the platform adds (the loop guard's prelude); a bundle cannot use them. */
export const RESERVED_MODULE_PREFIX = "__smcp";

/** An app bundle: `modules` maps a relative path (`index.js`, `lib/units.js`) to JS source text. */
export interface AppBundle<M = unknown> {
	manifest: M;
	modules: Record<string, string>;
}

/** One bundle problem; `file` names the module when there is one. */
export interface BundleProblem {
	file?: string;
	message: string;
}

/** Path segments: start with a letter, digit or `_`, so `.` and `..` (and dotfiles) cannot occur. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * True for a module path a bundle may use: relative, `/`-separated, no `.` or `..` segments, no
 * backslashes, ending in `.js` or `.mjs`, and not reserved.
 *
 * @example
 * ```ts
 * isModulePath("lib/units.js"); // true
 * isModulePath("../secrets.js"); // false
 * ```
 */
export function isModulePath(path: string): boolean {
	if (path.length === 0 || path.length > MAX_MODULE_PATH || !/\.m?js$/.test(path)) return false;
	if (path.startsWith(RESERVED_MODULE_PREFIX)) return false;
	return path.split("/").every((s) => SEGMENT.test(s));
}

/**
 * Checks a bundle's shape and sizes (not its manifest or code: see `checks.ts`).
 *
 * @example
 * ```ts
 * const problems = checkBundleShape(body);
 * if (problems.length) return refuse(problems);
 * ```
 */
export function checkBundleShape(bundle: unknown): BundleProblem[] {
	if (typeof bundle !== "object" || bundle === null) return [{ message: "a bundle must be an object { manifest, modules }" }];
	const { manifest, modules } = bundle as Partial<AppBundle>;
	const problems: BundleProblem[] = [];
	if (typeof manifest !== "object" || manifest === null) problems.push({ message: "the bundle has no manifest object" });
	if (typeof modules !== "object" || modules === null || Array.isArray(modules)) {
		return [...problems, { message: '"modules" must be an object mapping file names to JS source text' }];
	}
	const names = Object.keys(modules);
	if (names.length === 0) problems.push({ message: "the bundle has no modules" });
	if (names.length > MAX_MODULES)
		problems.push({
			message: `the bundle has ${names.length} modules; the limit is ${MAX_MODULES}: bundle them into fewer files`,
		});
	let total = 0;
	for (const name of names) {
		const source = modules[name];
		if (!isModulePath(name)) {
			problems.push({
				file: name,
				message:
					'is not an allowed module path: use a relative path like "index.js" or "lib/util.js" ' +
					'(no "..", no leading "/", .js or .mjs, not __smcp*)',
			});
		}
		if (typeof source !== "string") {
			problems.push({ file: name, message: "must be JavaScript source text (a string)" });
			continue;
		}
		const bytes = utf8Length(source);
		total += bytes;
		if (bytes > MAX_MODULE_BYTES)
			problems.push({ file: name, message: `is ${bytes} bytes; a module may have at most ${MAX_MODULE_BYTES}` });
	}
	if (total > MAX_BUNDLE_BYTES)
		problems.push({
			message: `the modules total ${total} bytes; a bundle may have at most ${MAX_BUNDLE_BYTES}: ` + "minify or drop dependencies",
		});
	const main = (manifest as { main?: unknown } | undefined)?.main;
	if (typeof main === "string" && !(main in modules))
		problems.push({ file: main, message: 'is the manifest\'s "main" but is not in the bundle' });
	return problems;
}

/**
 * The bundle's content hash: lower-case hex SHA-256 of `smcp-bundle:v1\n` followed by the
 * canonical JSON of `{ manifest, modules }` (keys sorted at every level, so module order and
 * manifest key order do not matter). Used as the version id.
 *
 * @example
 * ```ts
 * const version = await bundleHash(bundle); // "3f2a…" (64 hex characters)
 * ```
 */
export async function bundleHash(bundle: AppBundle): Promise<string> {
	const text = `smcp-bundle:v1\n${canonicalJson({ manifest: bundle.manifest, modules: bundle.modules })}`;
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
	return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * True when `hash` is the bundle's content hash. Call before loading a stored bundle.
 *
 * @example
 * ```ts
 * if (!(await verifyBundleHash(stored, versionId))) throw new Error("bundle does not match its version id");
 * ```
 */
export async function verifyBundleHash(bundle: AppBundle, hash: string): Promise<boolean> {
	if (!/^[0-9a-f]{64}$/.test(hash)) return false;
	return (await bundleHash(bundle)) === hash;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units at every level, no whitespace. Refuses
 * values JSON cannot represent faithfully (undefined in arrays, non-finite numbers, functions,
 * BigInt), so two different bundles cannot share an encoding.
 */
export function canonicalJson(value: unknown): string {
	if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
	if (typeof value === "number") {
		if (!Number.isFinite(value)) throw new TypeError("canonicalJson: non-finite number");
		return JSON.stringify(value);
	}
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
	if (typeof value === "object") {
		const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
		entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
	}
	throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}
