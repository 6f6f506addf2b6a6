/**
 * @module shared/apps/bundler.node
 * NODE ONLY (uses esbuild and the file system; never import it from Worker code). Builds an app
 * bundle from a source folder: reads `smcp.app.json`, bundles the entry (TypeScript or JavaScript,
 * with its dependencies) into one ES module named after the manifest's `main`, and returns
 * `{ manifest, modules }` for the deploy checks. Not minified, so refusals and stack traces point
 * at readable lines.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import type { AppBundle } from "./bundle";

/** Options for {@link bundleAppDir}. */
export interface BundleDirOptions {
	/** Entry file relative to the folder. Default: `main` with `.ts` if that file exists, else `main`. */
	entry?: string;
}

/**
 * Bundles the app in `dir`. The manifest is returned as written; run `checkBundle` on the result.
 *
 * @example
 * ```ts
 * const r = await bundleAppDir("examples/unit-converter");
 * if (r.ok) console.log(checkBundle(r.bundle));
 * ```
 */
export async function bundleAppDir(
	dir: string,
	options: BundleDirOptions = {},
): Promise<{ ok: true; bundle: AppBundle } | { ok: false; message: string }> {
	let manifest: { main?: unknown };
	try {
		manifest = JSON.parse(await readFile(join(dir, "smcp.app.json"), "utf8"));
	} catch (e) {
		return {
			ok: false,
			message: `${join(dir, "smcp.app.json")}: cannot read the manifest (${e instanceof Error ? e.message : String(e)})`,
		};
	}
	if (typeof manifest?.main !== "string" || !/\.m?js$/.test(manifest.main)) {
		return { ok: false, message: 'smcp.app.json: "main" must name the bundle\'s entry module, e.g. "index.js"' };
	}
	const main = manifest.main;
	const ts = main.replace(/\.m?js$/, ".ts");
	const entry = options.entry ?? ((await exists(join(dir, ts))) ? ts : main);
	try {
		const out = await build({
			entryPoints: [join(dir, entry)],
			bundle: true,
			write: false,
			format: "esm",
			platform: "neutral",
			target: "es2022",
			conditions: ["workerd", "worker", "browser"],
			mainFields: ["browser", "module", "main"],
			minify: false,
			legalComments: "none",
			charset: "utf8",
			logLevel: "silent",
		});
		const text = out.outputFiles[0]?.text ?? "";
		return { ok: true, bundle: { manifest, modules: { [main]: text } } };
	} catch (e) {
		const errors = (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
		const lines = errors.map((x) => (x.location ? `${x.location.file}:${x.location.line}: ${x.text}` : x.text));
		return { ok: false, message: lines.length ? lines.join("\n") : String(e) };
	}
}

/** True when a file exists. */
async function exists(path: string): Promise<boolean> {
	try {
		await access(path);
		return true;
	} catch {
		return false;
	}
}
