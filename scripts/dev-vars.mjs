#!/usr/bin/env node
/**
 * @module scripts/dev-vars
 * Creates `.dev.vars` from `.dev.vars.example` on a fresh clone so that `wrangler dev`
 * (and the test suite, which reads the same file) has its development secrets.
 * An existing `.dev.vars` is never overwritten.
 */
import { copyFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (!existsSync(`${root}.dev.vars`)) {
	copyFileSync(`${root}.dev.vars.example`, `${root}.dev.vars`);
	console.error("smcp: created .dev.vars from .dev.vars.example (development secrets only)");
}
