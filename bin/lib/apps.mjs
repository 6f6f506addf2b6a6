/**
 * @module bin/lib/apps
 * `smcp apps …` and `smcp secrets …`: deploy and manage a tenant's apps and secrets.
 *
 * Two ways in, chosen by the environment (credentials never come from arguments, which other
 * users of the machine can read):
 *   - `SMCP_API_KEY`: an owner's API key with the `apps:deploy` scope (CI). Talks to `/api/…`; the
 *     key names the tenant.
 *   - `SMCP_ADMIN_TOKEN` with `--tenant T`: the operator. Talks to `/admin/tenants/T/…`.
 *
 * `apps deploy DIR` bundles the folder with esbuild (`shared/apps/bundler.node.ts`), runs the same
 * checks the server runs (`shared/apps/checks.ts`) so refusals show before anything is sent,
 * then uploads; the server checks again, applies the loop guard, dry-loads and stores the version.
 * The repo's TypeScript modules are compiled for Node on the fly with that same esbuild.
 */
import { fileURLToPath } from "node:url";
import { readStdin } from "./stdin.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** @param {string} message @returns {never} */
function fail(message, code = 2) {
	process.stderr.write(`smcp: ${message}\n`);
	process.exit(code);
}

/**
 * The shared TypeScript modules the CLI needs (bundler and checks), compiled with esbuild into one
 * ES module and imported from memory. esbuild itself stays external, by absolute URL.
 * @returns {Promise<{ bundleAppDir: Function, checkBundle: Function, formatRefusal: Function }>}
 */
async function sharedApps() {
	const { build } = await import("esbuild");
	const self = import.meta.resolve("esbuild");
	const out = await build({
		stdin: {
			contents:
				'export { bundleAppDir } from "./shared/apps/bundler.node.ts";\nexport { checkBundle, formatRefusal } from "./shared/apps/checks.ts";\n',
			resolveDir: ROOT,
			loader: "ts",
		},
		bundle: true,
		platform: "node",
		format: "esm",
		target: "node20",
		write: false,
		logLevel: "silent",
		plugins: [{ name: "esbuild-external", setup: (b) => b.onResolve({ filter: /^esbuild$/ }, () => ({ path: self, external: true })) }],
	});
	const code = out.outputFiles[0].text;
	return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

/** Reads stdin to the end (one trailing newline dropped). */

const isLoopback = (url) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(new URL(url).hostname);

/**
 * Where requests go and with which credential.
 * @param {string} base @param {{ tenant?: string }} args
 */
function target(base, args) {
	const key = process.env.SMCP_API_KEY;
	const admin = process.env.SMCP_ADMIN_TOKEN;
	const url = new URL(base);
	if (url.protocol !== "https:" && !isLoopback(base))
		fail(`refusing to send a credential to ${url.origin} over plain http: use https (http only for a local server)`);
	if (key) return { prefix: `${base}/api`, token: key, who: "API key" };
	if (admin) {
		if (!args.tenant) fail("--tenant is required with SMCP_ADMIN_TOKEN (or use an owner's key with apps:deploy in SMCP_API_KEY)");
		if (!/^t_[0-9a-f]{32}$/.test(args.tenant)) fail("--tenant must be a tenant id (t_ and 32 hex digits)");
		return { prefix: `${base}/admin/tenants/${args.tenant}`, token: admin, who: "admin token" };
	}
	return fail("set SMCP_API_KEY (an owner's API key with the apps:deploy scope) or SMCP_ADMIN_TOKEN with --tenant");
}

/** One request; exits with the server's explanation (and each refusal) when it fails. */
async function call(t, method, path, body) {
	let res;
	try {
		res = await fetch(`${t.prefix}${path}`, {
			method,
			headers: { Authorization: `Bearer ${t.token}`, "Content-Type": "application/json" },
			...(body === undefined ? {} : { body: JSON.stringify(body) }),
		});
	} catch (e) {
		fail(`cannot reach ${new URL(t.prefix).origin} (${e instanceof Error ? e.message : e}); is the server running, and is --url right?`);
	}
	const text = await res.text();
	let data;
	try {
		data = JSON.parse(text);
	} catch {
		data = { error_description: text.slice(0, 300) };
	}
	if (res.status === 401) fail(`the server refused the ${t.who}: check it (expired or revoked keys are refused)`);
	if (!res.ok) {
		const lines = (data.refusals ?? []).map((r) => `  ${formatLine(r)}`);
		fail([`${method} ${path}: ${data.error ?? `HTTP ${res.status}`}: ${data.error_description ?? ""}`, ...lines].join("\n"), 1);
	}
	return data;
}

/** `file:line:column: message`, as `formatRefusal` writes it. */
function formatLine(r) {
	const where = r.file ? `${r.file}${r.line ? `:${r.line}${r.column ? `:${r.column}` : ""}` : ""}: ` : "";
	return `${where}${r.message}`;
}

const when = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 16);
const print = (v) => process.stdout.write(`${typeof v === "string" ? v : JSON.stringify(v, null, 2)}\n`);

/** A version hash given in full or by a unique prefix of at least 8 hex digits. */
function pickVersion(versions, wanted) {
	if (!/^[0-9a-f]{8,64}$/.test(wanted)) fail("--to takes a version hash (at least 8 hex digits): smcp apps versions APP lists them");
	const found = versions.filter((v) => v.hash.startsWith(wanted));
	if (found.length !== 1) fail(found.length ? `"${wanted}" matches several versions: give more digits` : `no version ${wanted}`);
	return found[0];
}

/**
 * Runs `smcp apps <command>`.
 * @param {string} command @param {string[]} positionals @param {Record<string, any>} args @param {string} base
 */
export async function apps(command, positionals, args, base) {
	const [subject] = positionals;
	const needApp = () => subject ?? fail(`smcp apps ${command} APP: name the app (smcp apps list shows them)`);
	switch (command) {
		case "deploy": {
			const dir = subject ?? fail("smcp apps deploy DIR: give the app's folder (with smcp.app.json)");
			const t = target(base, args);
			const { bundleAppDir, checkBundle, formatRefusal } = await sharedApps();
			const built = await bundleAppDir(dir);
			if (!built.ok) fail(`cannot bundle ${dir}:\n${built.message}`, 1);
			const checked = checkBundle(built.bundle, { allowLoopback: isLoopback(base) });
			if (!checked.ok) fail(`${dir} cannot be deployed:\n${checked.refusals.map((r) => `  ${formatRefusal(r)}`).join("\n")}`, 1);
			const name = checked.manifest.name;
			const r = await call(t, "PUT", `/apps/${name}`, built.bundle);
			const state = r.created ? "new version" : "same version as before";
			print(`deployed ${r.app} ${r.version} ${r.hash} (${state}${r.activated ? ", now active" : ", already active"})`);
			if (r.pruned) print(`pruned ${r.pruned} old inactive version${r.pruned > 1 ? "s" : ""}`);
			return;
		}
		case "list": {
			const { apps: list } = await call(target(base, args), "GET", "/apps");
			if (args.json) return print(list);
			if (!list.length) return print("no apps deployed");
			for (const a of list) {
				const tools = a.capabilities.tools.map((x) => `${x.name}(${x.scope})`).join(" ");
				print(`${a.app}  ${a.version}  ${a.activeHash.slice(0, 12)}  ${a.versions} version(s)  tools: ${tools}`);
				if (a.capabilities.egress.length) print(`    egress: ${a.capabilities.egress.join(" ")}`);
				if (a.capabilities.secrets.length) print(`    secrets: ${a.capabilities.secrets.join(" ")}`);
			}
			return;
		}
		case "versions": {
			const { versions } = await call(target(base, args), "GET", `/apps/${needApp()}/versions`);
			if (args.json) return print(versions);
			for (const v of versions) print(`${v.active ? "*" : " "} ${v.hash}  ${v.version}  ${when(v.deployedAt)}  ${v.deployedBy}`);
			return;
		}
		case "rollback":
		case "activate": {
			const app = needApp();
			const t = target(base, args);
			const { versions } = await call(t, "GET", `/apps/${app}/versions`);
			let chosen;
			if (args.to) chosen = pickVersion(versions, args.to);
			else {
				if (command === "activate") fail("smcp apps activate APP --to HASH");
				const at = versions.findIndex((v) => v.active);
				chosen = versions[at + 1] ?? fail(`${app} has no version older than the active one: nothing to roll back to`, 1);
			}
			const r = await call(t, "POST", `/apps/${app}/activate`, { hash: chosen.hash });
			return print(r.changed ? `${app} is now ${r.version} ${r.hash}` : `${app} ${r.version} ${r.hash} was already active`);
		}
		case "remove": {
			const app = needApp();
			if (!args.yes) fail(`removing ${app} deletes every version, its storage and its log: run again with --yes`);
			const r = await call(target(base, args), "DELETE", `/apps/${app}`);
			return print(`removed ${r.app} (${r.versions} version${r.versions === 1 ? "" : "s"})`);
		}
		case "logs": {
			const limit = Number(args.limit ?? 100);
			const { lines } = await call(target(base, args), "GET", `/apps/${needApp()}/logs?limit=${limit}`);
			if (args.json) return print(lines);
			for (const l of lines) print(`${new Date(l.ts).toISOString()} ${l.level.padEnd(5)} ${l.message}`);
			return;
		}
		default:
			return fail("smcp apps deploy DIR | list | versions APP | rollback APP [--to HASH] | remove APP --yes | logs APP [--limit N]");
	}
}

/**
 * Runs `smcp secrets <command>`. Values come from stdin only and are never printed.
 * @param {string} command @param {string[]} positionals @param {Record<string, any>} args @param {string} base
 */
export async function secrets(command, positionals, args, base) {
	const [name] = positionals;
	const needName = () => name ?? fail(`smcp secrets ${command} NAME: name the secret (upper-case, e.g. WEATHER_API_KEY)`);
	switch (command) {
		case "set": {
			const n = needName();
			const t = target(base, args);
			if (process.stdin.isTTY) process.stderr.write(`smcp: type the value of ${n}, then Ctrl-D\n`);
			const value = await readStdin();
			if (!value) fail('the value is empty: pipe it on stdin, e.g. `printf %s "$TOKEN" | smcp secrets set NAME`');
			const r = await call(t, "PUT", `/secrets/${n}`, { value });
			return print(`set ${r.name} (${when(r.updatedAt)} UTC); the value is stored encrypted and never shown again`);
		}
		case "delete": {
			const r = await call(target(base, args), "DELETE", `/secrets/${needName()}`);
			return print(`deleted ${r.name}`);
		}
		case "list": {
			const { secrets: list } = await call(target(base, args), "GET", "/secrets");
			if (args.json) return print(list);
			if (!list.length) return print("no secrets");
			for (const s of list) print(`${s.name}  last changed ${when(s.updatedAt)} UTC`);
			return;
		}
		default:
			return fail("smcp secrets set NAME (value on stdin) | delete NAME | list");
	}
}
