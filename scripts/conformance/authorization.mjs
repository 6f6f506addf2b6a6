/**
 * @module scripts/conformance/authorization
 * Runs the official suite's authorization-server scenarios (`conformance authorization`) against
 * SMCP's own authorization server, headless, with the person played by a script:
 *
 * 1. a public client is registered through SMCP's dynamic registration (`POST /register`, RFC 7591)
 *    with the redirect URI the suite listens on, `http://127.0.0.1:<free port>/callback`;
 * 2. the suite runs with that client id and `--resource` = SMCP's origin (RFC 8707). Its
 *    `authorization-code-grant` scenario prints the authorization URL after the line
 *    "Access the following URL in your browser …" and waits on its callback server;
 * 3. the script opens that URL (only if it is SMCP's `/authorize`), signs in on the consent page
 *    with the development account, approves, and follows the 302 to the suite's callback (only if
 *    it is that loopback callback), as a browser would. The suite then exchanges the code itself.
 *
 * A run that does not finish within `timeoutMs` is stopped. Results are the suite's own
 * `checks.json` files under `outDir` (`authorization-server-<scenario>-<timestamp>/`), with the
 * authorization code the suite records in them redacted (spent, but codes are never kept:
 * AGENTS.md).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readResults } from "./results.mjs";

/** The line after which the suite prints the authorization URL (suite 0.2.0-alpha). */
const URL_FOLLOWS = /Access the following URL in your browser/;

/**
 * The authorization URL in the suite's output, or undefined while it has not been printed: the
 * first non-empty line after {@link URL_FOLLOWS}.
 *
 * @param {string} output everything the suite printed so far
 * @returns {string | undefined}
 */
export function authorizationUrlIn(output) {
	const lines = output.split("\n");
	const at = lines.findIndex((l) => URL_FOLLOWS.test(l));
	if (at < 0) return undefined;
	// Only a complete line counts: the last element may still be arriving.
	const line = lines.slice(at + 1, -1).find((l) => l.trim() !== "");
	return line?.trim();
}

/** Replaces every `code=` query value in the suite's `checks.json` files under `dir`. */
function redactCodes(dir) {
	if (!existsSync(dir)) return;
	for (const entry of readdirSync(dir)) {
		const file = join(dir, entry, "checks.json");
		if (!existsSync(file)) continue;
		const text = readFileSync(file, "utf8");
		const redacted = text.replace(/([?&]code=)[^&"\s]+/g, "$1[redacted]");
		if (redacted !== text) writeFileSync(file, redacted);
	}
}

/** Fetches the suite's callback, retrying briefly while its server is still starting. */
async function follow(location) {
	for (let attempt = 1; ; attempt++) {
		try {
			return await fetch(location, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
		} catch (e) {
			if (attempt >= 5) throw e;
			await new Promise((r) => setTimeout(r, 200));
		}
	}
}

/**
 * Runs the suite's authorization scenarios.
 *
 * @param {{
 *   suite: string;
 *   origin: string;
 *   person: { email: string; password: string };
 *   outDir: string;
 *   timeoutMs: number;
 *   port: number;
 *   oauth: { registerClient: Function; consentRedirect: Function };
 * }} o the suite's entry file, SMCP's origin, the account that consents, where results go, the
 *   time limit, a free loopback port for the suite's callback, and the OAuth helpers of
 *   `test/support/oauth-flow.ts`
 * @returns {Promise<{ exitCode: number | null; stopped?: string; consent: string; output: string; results: import("./results.mjs").ScenarioResult[] }>}
 *   `stopped` says why the script ended the suite early (time limit, refused URL, failed consent)
 *
 * @example
 * ```js
 * const run = await runAuthorizationSuite({ suite, origin, person, outDir, timeoutMs: 60_000, port, oauth });
 * console.log(run.consent, run.results);
 * ```
 */
export async function runAuthorizationSuite(o) {
	const callback = `http://127.0.0.1:${o.port}/callback`;
	const clientId = await o.oauth.registerClient(fetch, o.origin, callback, "MCP conformance suite (authorization)");
	const args = [
		o.suite,
		"authorization",
		"--url",
		o.origin,
		"--client-id",
		clientId,
		"--resource",
		o.origin,
		"-p",
		String(o.port),
		"-o",
		o.outDir,
	];
	return new Promise((resolve) => {
		const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
		let output = "";
		let consent = "not requested by the suite";
		let opened = false;
		/** @type {string | undefined} */
		let stopped;
		const stop = (why) => {
			stopped ??= why;
			child.kill("SIGKILL");
		};
		const timer = setTimeout(() => stop(`stopped after ${o.timeoutMs / 1000} s`), o.timeoutMs);
		const playPerson = async (url) => {
			opened = true;
			consent = "refused or failed (see the run's problems)";
			// Open nothing but SMCP's own authorization endpoint, follow nothing but the suite's callback.
			if (!url.startsWith(`${o.origin}/authorize?`)) return stop(`refused to open ${url.slice(0, 80)}: not ${o.origin}/authorize`);
			try {
				const location = await o.oauth.consentRedirect(fetch, url, { ...o.person, origin: o.origin });
				if (`${location.origin}${location.pathname}` !== callback)
					return stop(`consent redirected to ${location.origin}${location.pathname}, not the suite's callback ${callback}`);
				const answer = await follow(location);
				consent = `approved as ${o.person.email}; the suite's callback answered ${answer.status}`;
			} catch (e) {
				// The first line says what went wrong; the rest is page markup.
				stop(`consent failed: ${(e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 240)}`);
			}
		};
		child.stdout.on("data", (d) => {
			output += d;
			const url = opened ? undefined : authorizationUrlIn(output);
			if (url) void playPerson(url);
		});
		child.stderr.on("data", (d) => (output += d));
		child.on("close", (code, signal) => {
			clearTimeout(timer);
			redactCodes(o.outDir);
			resolve({
				exitCode: signal ? null : code,
				...(stopped ? { stopped } : {}),
				consent,
				output,
				results: readResults(o.outDir, "authorization-server"),
			});
		});
	});
}
