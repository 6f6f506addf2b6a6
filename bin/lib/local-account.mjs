/**
 * @module bin/lib/local-account
 * `smcp users create --local|--remote`: creates an account by writing its records straight to
 * `DIRECTORY_KV` through the repository's wrangler, without the admin API. `--local` writes to
 * `wrangler dev`'s storage (`--persist-to DIR` for a chosen state directory: how the end-to-end
 * tests seed an account before the server starts), `--remote` to the deployed namespace. The
 * records are built by `shared/accounts/records.mjs`, the same module the Worker uses.
 *
 * The password comes from stdin (`--password-stdin`) or a no-echo prompt on a terminal, never an
 * argument. Prints the new user and tenant ids, never the password or its hash.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAccountRecords, emailKey, MIN_PASSWORD_LENGTH, normalizeEmail } from "../../shared/accounts/records.mjs";
import { readStdin } from "./stdin.mjs";

/**
 * Creates the account in KV, or exits through `fail` with what to do.
 *
 * @example
 * ```js
 * await createLocalAccount({ email, remote: false, persistTo: ".wrangler/state", passwordStdin: true }, fail);
 * ```
 * @param {{ email: string, remote: boolean, env?: string, persistTo?: string, passwordStdin: boolean }} o
 * @param {(message: string, code?: number) => never} fail
 */
export async function createLocalAccount(o, fail) {
	if (o.persistTo && o.remote) fail("--persist-to applies to local storage only; drop it with --remote");
	const email = normalizeEmail(o.email);
	if (email === null) fail(`"${o.email}" is not an email address; pass one like --email ada@example.com`);
	const password = o.passwordStdin ? await readStdin() : await promptTwice(fail);
	if (password.length < MIN_PASSWORD_LENGTH) fail(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
	const where = o.remote ? "--remote" : "--local";
	const common = [
		"--binding",
		"DIRECTORY_KV",
		where,
		...(o.env ? ["--env", o.env] : []),
		// The state directory of a `wrangler dev --persist-to DIR` (default: .wrangler/state).
		...(o.persistTo ? ["--persist-to", o.persistTo] : []),
	];
	// `kv key list --prefix` rather than `kv key get`: it prints JSON both locally and remotely,
	// whereas `get` reports a missing key as text locally and as an error remotely.
	const listed = await wrangler(["kv", "key", "list", "--prefix", emailKey(email), ...common], true, fail);
	let names;
	try {
		names = JSON.parse(listed.slice(listed.indexOf("["), listed.lastIndexOf("]") + 1)).map((/** @type {{name: string}} */ k) => k.name);
	} catch {
		fail("could not read the key list from wrangler; run `npx wrangler kv key list --binding DIRECTORY_KV` to see what it prints");
	}
	if (names.includes(emailKey(email))) fail(`${email} already has an account; nothing was written`, 1);
	const built = await buildAccountRecords(email, password);
	if (!built.ok) fail(`cannot create the account: ${built.error.reason}`);
	const { account, records } = built.value;
	// Values go through files, not argv: the hash would otherwise be visible in the process list.
	const dir = await mkdtemp(join(tmpdir(), "smcp-account-"));
	try {
		for (const [i, { key, value }] of records.entries()) {
			const file = join(dir, `value-${i}`);
			await writeFile(file, value, { mode: 0o600 });
			await wrangler(["kv", "key", "put", key, "--path", file, ...common], false, fail);
		}
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
	process.stdout.write(
		`Created ${o.remote ? "remote" : "local"} account for ${email}\n  userId:   ${account.userId}\n  tenantId: ${account.tenantId}\n`,
	);
	if (!o.remote) process.stdout.write("(local storage for `wrangler dev`; pass --remote for the deployed namespace)\n");
}

/** Runs the repository's wrangler through Node itself: no shell, so no quoting, and no `npx.cmd` on Windows. */
async function wrangler(/** @type {string[]} */ args, /** @type {boolean} */ capture, /** @type {(m: string) => never} */ fail) {
	let bin;
	try {
		bin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
	} catch {
		fail("wrangler is not installed in this repository; run `npm install` first");
	}
	const cwd = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"] });
		let out = "";
		child.stdout?.setEncoding("utf8").on("data", (chunk) => (out += chunk));
		child.on("error", reject);
		child.on("close", (code) => {
			if (code === 0) resolve(out);
			else
				fail(
					`\`wrangler ${args.slice(0, 3).join(" ")}\` failed (exit ${code}); see its output above. For --remote, run \`npx wrangler login\` first`,
				);
		});
	});
}

/** Prompts twice without echo; refuses when stdin is not a terminal. */
async function promptTwice(/** @type {(m: string) => never} */ fail) {
	if (!process.stdin.isTTY) fail("no terminal to prompt for the password: pipe it in with --password-stdin");
	const first = await promptHidden("Password: ", fail);
	const second = await promptHidden("Repeat password: ", fail);
	if (first !== second) fail("the passwords did not match; nothing was written");
	return first;
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function promptHidden(/** @type {string} */ question, /** @type {(m: string) => never} */ fail) {
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
				if (ch === "\u0003") return (finish(), fail("cancelled; nothing was written"));
				if (ch === "\u007f" || ch === "\b") value = Array.from(value).slice(0, -1).join("");
				else value += ch;
			}
		};
		stdin.on("data", onData);
	});
}
