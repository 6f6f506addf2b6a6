#!/usr/bin/env node
/**
 * @module scripts/create-account
 * The operator command that creates a local SMCP account in `DIRECTORY_KV`:
 *
 *   node scripts/create-account.mjs --email ada@example.com [--password-stdin] [--local [--persist-to DIR]|--remote] [--env NAME]
 *
 * The password is read from stdin with `--password-stdin` (e.g. `printf %s "$PW" | node … --password-stdin`),
 * or prompted for without echo when stdin is a terminal; it is never accepted as an argument, which
 * would leave it in shell history and the process list. `--local` (the default) writes to
 * `wrangler dev`'s local storage, `--remote` to the deployed namespace. Prints the new user and
 * tenant IDs, never the password or its hash.
 *
 * This file can't import `worker/identity/accounts.ts` (plain Node runs no TypeScript), so it repeats
 * exactly two small pieces of it: the password hash format and the KV record layout. Keep them in
 * step with `hashPassword()` and `accountRecords()` there; `worker/identity/accounts.test.ts` checks that a
 * hash made here verifies with `verifyPasswordHash()` and that the records match.
 *
 * Node modules are imported inside the CLI functions, not at the top, so the pure exports can be
 * imported by a test in any runtime.
 */

/** Same as `worker/identity/accounts.ts`: workerd's WebCrypto accepts at most 100 000 PBKDF2 iterations. */
export const PBKDF2_ITERATIONS = 100_000;
/** Same as `MIN_PASSWORD_LENGTH` in `worker/identity/accounts.ts`. */
export const MIN_PASSWORD_LENGTH = 10;

const USAGE =
	"Usage: node scripts/create-account.mjs --email ADDRESS [--password-stdin] [--local [--persist-to DIR]|--remote] [--env NAME]";

/**
 * `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`: PBKDF2-HMAC-SHA256, 16-byte random
 * salt, 32-byte output. Mirrors `hashPassword()` in `worker/identity/accounts.ts`.
 *
 * @param {string} password
 * @returns {Promise<string>}
 */
export async function hashPassword(password) {
	const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
	const key = await globalThis.crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
	const bits = await globalThis.crypto.subtle.deriveBits(
		{ name: "PBKDF2", hash: "SHA-256", salt, iterations: PBKDF2_ITERATIONS },
		key,
		256,
	);
	return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${base64url(salt)}$${base64url(new Uint8Array(bits))}`;
}

/**
 * The two KV records for an account, user record first. Mirrors `accountRecords()` in
 * `worker/identity/accounts.ts`.
 *
 * @param {{ userId: string, email: string, tenantId: string, tenants: string[], createdAt: number }} account
 * @param {string} passwordHash
 * @returns {{ key: string, value: string }[]}
 */
export function accountRecords(account, passwordHash) {
	return [
		{ key: `account:user:${account.userId}`, value: JSON.stringify(account) },
		{ key: `account:email:${account.email}`, value: JSON.stringify({ userId: account.userId, passwordHash }) },
	];
}

/**
 * Trimmed, lower-cased email, or `null`. Mirrors `normalizeEmail()` in `worker/identity/accounts.ts`.
 *
 * @param {string} email
 * @returns {string | null}
 */
export function normalizeEmail(email) {
	const e = email.trim().toLowerCase();
	if (e.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) return null;
	if (/[\u0000-\u001f\u007f]/.test(e)) return null;
	return e;
}

/** `prefix` + 32 random hex characters, like `newId()` in `worker/identity/accounts.ts`. */
function newId(/** @type {string} */ prefix) {
	const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
	return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64url(/** @type {Uint8Array} */ bytes) {
	let s = "";
	for (const b of bytes) s += String.fromCharCode(b);
	return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Runs the command. Exits non-zero with a message saying what to do on any failure. */
async function main(/** @type {string[]} */ argv) {
	const { parseArgs } = await import("node:util");
	let args;
	try {
		args = parseArgs({
			args: argv,
			strict: true,
			options: {
				email: { type: "string" },
				"password-stdin": { type: "boolean" },
				local: { type: "boolean" },
				remote: { type: "boolean" },
				env: { type: "string" },
				"persist-to": { type: "string" },
				help: { type: "boolean", short: "h" },
			},
		}).values;
	} catch (e) {
		return fail(`${e instanceof Error ? e.message : e}\n${USAGE}`);
	}
	if (args.help) return void console.log(USAGE);
	if (!args.email) return fail(`--email is required.\n${USAGE}`);
	if (args.local && args.remote) return fail("Pass either --local or --remote, not both.");
	const email = normalizeEmail(args.email);
	if (email === null) return fail(`"${args.email}" is not an email address; pass one like --email ada@example.com.`);

	const password = args["password-stdin"] ? await readStdin() : await promptTwice();
	if (password.length < MIN_PASSWORD_LENGTH) return fail(`The password must be at least ${MIN_PASSWORD_LENGTH} characters.`);

	const where = args.remote ? "--remote" : "--local";
	if (args["persist-to"] && args.remote) return fail("--persist-to applies to local storage only; drop it with --remote.");
	const common = [
		"--binding",
		"DIRECTORY_KV",
		where,
		...(args.env ? ["--env", args.env] : []),
		// The state directory of a `wrangler dev --persist-to DIR` (default: .wrangler/state).
		...(args["persist-to"] ? ["--persist-to", args["persist-to"]] : []),
	];
	const emailKey = `account:email:${email}`;
	// `kv key list --prefix` rather than `kv key get`: it prints JSON both locally and remotely,
	// whereas `get` reports a missing key as text locally and as an error remotely.
	const listed = await wrangler(["kv", "key", "list", "--prefix", emailKey, ...common], { capture: true });
	let names;
	try {
		names = JSON.parse(listed.slice(listed.indexOf("["), listed.lastIndexOf("]") + 1)).map((/** @type {{name: string}} */ k) => k.name);
	} catch {
		return fail("Could not read the key list from wrangler; run `npx wrangler kv key list --binding DIRECTORY_KV` to see what it prints.");
	}
	if (names.includes(emailKey)) return fail(`${email} already has an account; nothing was written.`);

	const tenantId = newId("t_");
	const account = { userId: newId("u_"), email, tenantId, tenants: [tenantId], createdAt: Date.now() };
	const records = accountRecords(account, await hashPassword(password));
	// Values go through files, not argv: the hash would otherwise be visible in the process list.
	const [{ mkdtemp, writeFile, rm }, { tmpdir }, { join }] = await Promise.all([
		import("node:fs/promises"),
		import("node:os"),
		import("node:path"),
	]);
	const dir = await mkdtemp(join(tmpdir(), "smcp-account-"));
	try {
		for (const [i, { key, value }] of records.entries()) {
			const file = join(dir, `value-${i}`);
			await writeFile(file, value, { mode: 0o600 });
			await wrangler(["kv", "key", "put", key, "--path", file, ...common], { capture: false });
		}
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
	console.log(
		`Created ${where === "--remote" ? "remote" : "local"} account for ${email}\n  userId:   ${account.userId}\n  tenantId: ${account.tenantId}`,
	);
	if (where === "--local") console.log("(local storage for `wrangler dev`; pass --remote for the deployed namespace)");
}

/**
 * Runs the repository's wrangler with an argument array through Node itself: no shell, so no
 * quoting of keys or emails, and no `npx.cmd` on Windows.
 *
 * @param {string[]} args
 * @param {{ capture: boolean }} opts
 * @returns {Promise<string>} stdout when captured
 */
async function wrangler(args, opts) {
	const [{ spawn }, { createRequire }, { dirname, join }, { fileURLToPath }] = await Promise.all([
		import("node:child_process"),
		import("node:module"),
		import("node:path"),
		import("node:url"),
	]);
	let bin;
	try {
		bin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
	} catch {
		return fail("wrangler is not installed in this repository; run `npm install` first.");
	}
	const cwd = join(dirname(fileURLToPath(import.meta.url)), "..");
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ["ignore", opts.capture ? "pipe" : "inherit", "inherit"] });
		let out = "";
		child.stdout?.setEncoding("utf8").on("data", (chunk) => (out += chunk));
		child.on("error", reject);
		child.on("close", (code) => {
			if (code === 0) resolve(out);
			else
				fail(
					`\`wrangler ${args.slice(0, 3).join(" ")}\` failed (exit ${code}); see its output above. For --remote, run \`npx wrangler login\` first.`,
				);
		});
	});
}

/** The whole of stdin, minus one trailing newline (what `echo` or a here-string adds). */
async function readStdin() {
	let data = "";
	process.stdin.setEncoding("utf8");
	for await (const chunk of process.stdin) data += chunk;
	return data.replace(/\r?\n$/, "");
}

/** Prompts twice without echo; refuses when stdin is not a terminal. */
async function promptTwice() {
	if (!process.stdin.isTTY) {
		return fail("No terminal to prompt for the password: pipe it in with --password-stdin.");
	}
	const first = await promptHidden("Password: ");
	const second = await promptHidden("Repeat password: ");
	if (first !== second) return fail("The passwords did not match; nothing was written.");
	return first;
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function promptHidden(/** @type {string} */ question) {
	const { stdin, stderr } = process;
	stderr.write(question);
	stdin.setRawMode(true);
	stdin.setEncoding("utf8");
	stdin.resume();
	return new Promise((resolve) => {
		let value = "";
		const finish = () => {
			stdin.off("data", onData);
			stdin.setRawMode(false);
			stdin.pause();
			stderr.write("\n");
		};
		const onData = (/** @type {string} */ chunk) => {
			for (const ch of chunk) {
				if (ch === "\r" || ch === "\n" || ch === "\u0004") return (finish(), resolve(value));
				if (ch === "\u0003") return (finish(), fail("Cancelled; nothing was written."));
				if (ch === "\u007f" || ch === "\b") value = Array.from(value).slice(0, -1).join("");
				else value += ch;
			}
		};
		stdin.on("data", onData);
	});
}

/** @returns {never} */
function fail(/** @type {string} */ message) {
	console.error(`create-account: ${message}`);
	process.exit(1);
}

const entry = globalThis.process?.argv?.[1];
if (entry) {
	const [{ pathToFileURL }, { realpathSync }] = await Promise.all([import("node:url"), import("node:fs")]);
	let isMain = false;
	try {
		isMain = import.meta.url === pathToFileURL(realpathSync(entry)).href;
	} catch {
		// argv[1] is not a file (e.g. `node -e`): imported, not run.
	}
	if (isMain) await main(process.argv.slice(2));
}
