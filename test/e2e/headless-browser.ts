/**
 * @module test/e2e/headless-browser
 * The browser half of a desktop client's sign-in, for third-party clients that run as child
 * processes (`mcp-remote`, the MCP Inspector CLI).
 *
 * Such a client prints an authorization URL, asks the operating system to open it, and waits for
 * the browser to arrive at its loopback callback. Here the operating system's opener is replaced
 * by a recorder (so no real browser can start, with or without a display), and
 * {@link signInAndFollowRedirect} plays the person: it signs in on SMCP's consent page, approves,
 * and follows the 302 to the client's callback so the client itself receives the code.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { consentRedirect, type Fetch, type Person } from "../support/oauth-flow";

/** Commands a browser opener may run, on Linux (`open`'s xdg-open and mcp-remote's fallbacks) and macOS (`open`). */
const OPENERS = ["open", "xdg-open", "gio", "x-www-browser", "sensible-browser", "www-browser"];

/** Variables that make xdg-open pick a desktop environment's opener instead of `$BROWSER`. */
const DESKTOP_VARS = [
	"DISPLAY",
	"WAYLAND_DISPLAY",
	"XDG_CURRENT_DESKTOP",
	"XDG_SESSION_DESKTOP",
	"DESKTOP_SESSION",
	"KDE_FULL_SESSION",
	"GNOME_DESKTOP_SESSION_ID",
	"MATE_DESKTOP_SESSION_ID",
	"DBUS_SESSION_BUS_ADDRESS",
	"XDG_RUNTIME_DIR",
];

export interface Browserless {
	/** Environment for the child: `$BROWSER` and every opener on `PATH` record their argument and exit 0. */
	env(extra?: Record<string, string>): Record<string, string>;
	/** URLs the child asked the operating system to open, in order. */
	launches(): string[];
}

/**
 * Prepares a directory of stand-in browser openers. A child started with `env()` that tries to
 * open a URL runs one of them, which appends the URL to a log and exits successfully, so the
 * client believes a browser opened and waits for the callback.
 *
 * @example
 * ```ts
 * const browser = browserless(mkdtempSync(join(tmpdir(), "x-")));
 * spawn(cmd, args, { env: browser.env({ HOME: dir }) });
 * expect(browser.launches()).toHaveLength(1);
 * ```
 */
export function browserless(dir: string): Browserless {
	const bin = join(dir, "bin");
	const log = join(dir, "browser-launches.log");
	mkdirSync(bin, { recursive: true });
	// printf, not echo: a URL is data, never options or escapes.
	const script = `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexit 0\n`;
	for (const name of [...OPENERS, "fake-browser"]) {
		writeFileSync(join(bin, name), script);
		chmodSync(join(bin, name), 0o755);
	}
	return {
		env(extra = {}) {
			const env: Record<string, string> = { PATH: [bin, process.env.PATH ?? ""].join(delimiter), BROWSER: join(bin, "fake-browser") };
			for (const k of DESKTOP_VARS) env[k] = "";
			return { ...env, ...extra };
		},
		launches: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []),
	};
}

export interface Redirected {
	/** Where the consent POST redirected the browser (the client's callback, with `code` and `state`). */
	location: URL;
	/** The client's answer to the browser at that callback. */
	callback: Response;
	callbackBody: string;
}

/**
 * Signs in on SMCP's consent page, approves every offered scope (or `grant`), and follows the
 * redirect to the client's loopback callback, as a browser would. Refuses to follow a redirect off
 * loopback: a test must never send a code anywhere else.
 *
 * @example
 * ```ts
 * const { location, callback } = await signInAndFollowRedirect(fetch, url, { origin, email, password });
 * expect(callback.status).toBe(200);
 * ```
 */
export async function signInAndFollowRedirect(fetch: Fetch, authorizeUrl: string, o: Person): Promise<Redirected> {
	const location = await consentRedirect(fetch, authorizeUrl, o);
	if (location.protocol !== "http:" || !["127.0.0.1", "localhost", "[::1]"].includes(location.hostname)) {
		throw new Error(`consent redirected to ${location.origin}, not a loopback callback; refusing to follow`);
	}
	const callback = await fetch(location.toString(), { redirect: "manual" });
	return { location, callback, callbackBody: await callback.text() };
}
