#!/usr/bin/env node
/**
 * @module scripts/dev-vars
 * Creates `.dev.vars` from `.dev.vars.example` on a fresh clone so that `wrangler dev`
 * (and the test suite, which reads the same file) has its development secrets.
 * An existing `.dev.vars` is never overwritten.
 */
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (!existsSync(`${root}.dev.vars`)) {
	copyFileSync(`${root}.dev.vars.example`, `${root}.dev.vars`);
	console.error("smcp: created .dev.vars from .dev.vars.example (development secrets only)");
} else {
	// A .dev.vars made by an earlier version lacks the settings added since: append those only.
	const have = readFileSync(`${root}.dev.vars`, "utf8");
	const missing = readFileSync(`${root}.dev.vars.example`, "utf8")
		.split("\n")
		.filter((line) => /^[A-Z_]+=/.test(line) && !new RegExp(`^\\s*${line.split("=")[0]}\\s*=`, "m").test(have));
	if (missing.length > 0) {
		appendFileSync(`${root}.dev.vars`, `${have.endsWith("\n") ? "" : "\n"}${missing.join("\n")}\n`);
		console.error(`smcp: added ${missing.map((l) => l.split("=")[0]).join(", ")} to .dev.vars from .dev.vars.example`);
	}
}

// `npm run dev` passes --hint: say how to sign in (the account is seeded on the first sign-in page).
if (process.argv.includes("--hint")) {
	const vars = readFileSync(`${root}.dev.vars`, "utf8");
	const read = (k) => new RegExp(`^\\s*${k}\\s*=\\s*"?([^"\\n]*)"?`, "m").exec(vars)?.[1];
	console.error(
		`smcp: development sign-in: ${read("SMCP_DEV_EMAIL") ?? "(SMCP_DEV_EMAIL unset)"} / ${read("SMCP_DEV_PASSWORD") ?? "(SMCP_DEV_PASSWORD unset)"} ` +
			"(from .dev.vars) — on your MCP client's sign-in page or at http://127.0.0.1:8787/account",
	);
}
