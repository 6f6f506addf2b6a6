#!/usr/bin/env node
/**
 * @module bin/smcp
 * The SMCP operator CLI. Talks to a deployment's admin API (local `wrangler dev` or deployed) with
 * the admin secret from the environment (`SMCP_ADMIN_TOKEN`), never from an argument; passwords
 * come from stdin. `smcp help` lists the commands.
 *
 * `audit verify` re-computes the hash chain here, with the same chain code the Worker uses
 * (`shared/audit/chain.mjs`), so a compromised server cannot simply answer "ok".
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { verifyChain } from "../shared/audit/chain.mjs";
import { apps, secrets } from "./lib/apps.mjs";
import { doctor } from "./lib/doctor.mjs";
import { createLocalAccount } from "./lib/local-account.mjs";
import { readStdin } from "./lib/stdin.mjs";

const USAGE = `Usage: smcp <command> [options]   (SMCP_URL, default http://127.0.0.1:8787, or --url)
  tenants list [--cursor C | --all] | create --name N --owner USER | suspend --tenant T | reactivate --tenant T
  tenants add-member --tenant T --user USER [--role owner|member]
  tenants remove-member --tenant T --user USER   (revokes their apps and keys in T)
  tenants delete --tenant T [--yes]             deletes a team tenant: all its data, keys and grants (asks first)
  users create --email E --password-stdin [--local [--persist-to DIR] | --remote] [--env NAME]
  users find --email E | reset-password --user USER --password-stdin
  users delete --user USER [--yes]              deletes the account, its personal tenant, memberships, grants, keys (asks first)
  keys list --tenant T | create --tenant T --user USER --name N [--scopes mcp:read,mcp:write] [--days 90] | revoke --tenant T --key ID
  grants list --user USER | revoke --user USER --grant ID
  audit export --tenant T [--out FILE] | verify (--tenant T | --file FILE)
  doctor [URL]                       checks a deployment from outside (SMCP_TOKEN: an API key, optional)
  apps deploy DIR | list | versions APP | rollback APP [--to HASH] | remove APP --yes | logs APP [--limit N]   [--tenant T]
  secrets set NAME (value on stdin) | delete NAME | list                                                    [--tenant T]
Environment: SMCP_ADMIN_TOKEN (the deployment's admin secret) for everything but doctor; apps and secrets
  also take SMCP_API_KEY instead (an owner's API key with the apps:deploy scope; names the tenant itself).`;

/** @param {string} message @returns {never} */
function fail(message, code = 2) {
	process.stderr.write(`smcp: ${message}\n`);
	process.exit(code);
}

const OPTIONS = {
	url: { type: "string" },
	tenant: { type: "string" },
	user: { type: "string" },
	name: { type: "string" },
	owner: { type: "string" },
	role: { type: "string" },
	email: { type: "string" },
	scopes: { type: "string" },
	days: { type: "string" },
	key: { type: "string" },
	grant: { type: "string" },
	out: { type: "string" },
	file: { type: "string" },
	"password-stdin": { type: "boolean" },
	to: { type: "string" },
	limit: { type: "string" },
	yes: { type: "boolean" },
	json: { type: "boolean" },
	cursor: { type: "string" },
	all: { type: "boolean" },
	local: { type: "boolean" },
	remote: { type: "boolean" },
	"persist-to": { type: "string" },
	env: { type: "string" },
};

/** Calls the admin API; exits with an actionable message on failure. */
async function api(base, method, path, body) {
	const token = process.env.SMCP_ADMIN_TOKEN;
	if (!token) fail("SMCP_ADMIN_TOKEN is not set: export the deployment's admin secret first");
	const target = new URL(base);
	if (target.protocol !== "https:" && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(target.hostname)) {
		fail(`refusing to send the admin secret to ${target.origin} over plain http: use https (http only for a local server)`);
	}
	let res;
	try {
		res = await fetch(`${base}/admin${path}`, {
			method,
			headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
			...(body ? { body: JSON.stringify(body) } : {}),
		});
	} catch (e) {
		fail(`cannot reach ${base} (${e instanceof Error ? e.message : e}); is the server running, and is --url right?`);
	}
	if (res.status === 401) fail("the admin API refused the token: check SMCP_ADMIN_TOKEN against the deployment's secret");
	if (res.status === 404 && path.startsWith("/tenants") && method === "GET" && !path.includes("/", 1))
		fail(
			target.protocol === "http:"
				? `no admin API at ${base}: add SMCP_ADMIN_TOKEN="<32+ random characters>" to .dev.vars, restart npm run dev, and export the same value here`
				: `no admin API at ${base}: set the SMCP_ADMIN_TOKEN secret on the deployment (npx wrangler secret put SMCP_ADMIN_TOKEN --env <staging|production>)`,
		);
	const text = await res.text();
	if (!res.ok) {
		let why = text;
		try {
			const j = JSON.parse(text);
			why = j.error_description ?? j.error ?? text;
		} catch {}
		fail(`${method} ${path} failed: HTTP ${res.status} ${why}`.slice(0, 500));
	}
	return res.headers.get("Content-Type")?.startsWith("application/json") ? JSON.parse(text) : text;
}

/** The whole trail, page by page: anchor line, then rows oldest first. */
async function exportTrail(base, tenant) {
	const lines = [];
	let after = 0;
	for (let page = 0; ; page++) {
		const [anchor, ...rows] = (await api(base, "GET", `/tenants/${tenant}/audit?after=${after}&limit=1000`))
			.trim()
			.split("\n")
			.filter(Boolean);
		if (page === 0) lines.push(anchor);
		lines.push(...rows);
		if (rows.length < 1000) return lines;
		after = JSON.parse(rows[rows.length - 1]).seq;
		process.stderr.write(`smcp: ${lines.length - 1} rows…\n`);
	}
}

/**
 * Asks before an irreversible command: `--yes` answers for scripts; on a terminal the operator
 * types the id again; anything else (no terminal, another answer) stops here.
 */
async function confirm(args, what, id) {
	if (args.yes) return;
	if (!process.stdin.isTTY) fail(`${what} cannot be undone: pass --yes to confirm (no terminal to ask on)`);
	const { createInterface } = await import("node:readline/promises");
	const rl = createInterface({ input: process.stdin, output: process.stderr });
	const answer = (await rl.question(`${what} cannot be undone. Type ${id} to confirm: `)).trim();
	rl.close();
	if (answer !== id) fail("not confirmed; nothing was deleted", 1);
}

const need = (args, ...names) => {
	for (const n of names) if (!args[n]) fail(`--${n} is required\n${USAGE}`);
};
const print = (v) => process.stdout.write(`${typeof v === "string" ? v : JSON.stringify(v, null, 2)}\n`);

async function main() {
	const [group, command, ...argv] = process.argv.slice(2);
	if (!group || group === "help" || group === "--help") return print(USAGE);
	let args;
	let positionals = [];
	try {
		({ values: args, positionals } = parseArgs({
			args: argv,
			options: OPTIONS,
			strict: true,
			allowPositionals: group === "doctor" || group === "apps" || group === "secrets",
		}));
	} catch (e) {
		fail(`${e instanceof Error ? e.message : e}\n${USAGE}`);
	}
	const base = (args.url ?? process.env.SMCP_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
	const tenantCmd = (t) => need({ tenant: t }, "tenant");

	switch (`${group} ${command ?? ""}`.trim()) {
		case "tenants list": {
			// One page (100 tenants) and the cursor of the next, or --all pages.
			if (!args.all) return print(await api(base, "GET", `/tenants${args.cursor ? `?cursor=${encodeURIComponent(args.cursor)}` : ""}`));
			const tenants = [];
			let cursor;
			do {
				const page = await api(base, "GET", `/tenants${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
				tenants.push(...page.tenants);
				cursor = page.cursor;
			} while (cursor);
			return print({ tenants });
		}
		case "tenants create":
			need(args, "name", "owner");
			return print(await api(base, "POST", "/tenants", { name: args.name, ownerUserId: args.owner }));
		case "tenants suspend":
		case "tenants reactivate":
			tenantCmd(args.tenant);
			return print(await api(base, "POST", `/tenants/${args.tenant}/${command}`));
		case "tenants remove-member":
			need(args, "tenant", "user");
			return print(await api(base, "DELETE", `/tenants/${args.tenant}/members/${args.user}`));
		case "tenants delete":
			tenantCmd(args.tenant);
			await confirm(args, `Deleting tenant ${args.tenant} (its memory, audit trail, apps, secrets, keys and grants)`, args.tenant);
			return print(await api(base, "DELETE", `/tenants/${args.tenant}?confirm=${args.tenant}`));
		case "users delete":
			need(args, "user");
			await confirm(args, `Deleting user ${args.user} (account, personal tenant and its data, memberships, grants, keys)`, args.user);
			return print(await api(base, "DELETE", `/users/${args.user}?confirm=${args.user}`));
		case "tenants add-member":
			need(args, "tenant", "user");
			return print(await api(base, "POST", `/tenants/${args.tenant}/members`, { userId: args.user, role: args.role ?? "member" }));
		case "users create":
			need(args, "email");
			// Straight to KV through wrangler (no admin API needed; e.g. before `wrangler dev` starts).
			if (args.local || args.remote || args["persist-to"]) {
				if (args.local && args.remote) fail("pass either --local or --remote, not both");
				return createLocalAccount(
					{
						email: args.email,
						remote: !!args.remote,
						env: args.env,
						persistTo: args["persist-to"],
						passwordStdin: !!args["password-stdin"],
					},
					fail,
				);
			}
			if (!args["password-stdin"]) fail("pass the password on stdin with --password-stdin (never as an argument)");
			return print(await api(base, "POST", "/users", { email: args.email, password: await readStdin() }));
		case "users find":
			need(args, "email");
			return print(await api(base, "GET", `/users?email=${encodeURIComponent(args.email)}`));
		case "users reset-password":
			need(args, "user");
			if (!args["password-stdin"]) fail("pass the password on stdin with --password-stdin (never as an argument)");
			return print(await api(base, "POST", `/users/${args.user}/password`, { password: await readStdin() }));
		case "keys list":
			tenantCmd(args.tenant);
			return print(await api(base, "GET", `/tenants/${args.tenant}/keys`));
		case "keys create": {
			need(args, "tenant", "user", "name");
			const r = await api(base, "POST", `/tenants/${args.tenant}/keys`, {
				userId: args.user,
				name: args.name,
				scopes: (args.scopes ?? "mcp:read").split(","),
				days: Number(args.days ?? 90),
			});
			process.stderr.write("smcp: the key is shown once; store it now.\n");
			return print(r);
		}
		case "keys revoke":
			need(args, "tenant", "key");
			return print(await api(base, "DELETE", `/tenants/${args.tenant}/keys/${args.key}`));
		case "grants list":
			need(args, "user");
			return print(await api(base, "GET", `/users/${args.user}/grants`));
		case "grants revoke":
			need(args, "user", "grant");
			return print(await api(base, "DELETE", `/users/${args.user}/grants/${args.grant}`));
		case "audit export": {
			tenantCmd(args.tenant);
			const text = `${(await exportTrail(base, args.tenant)).join("\n")}\n`;
			if (!args.out) return process.stdout.write(text);
			writeFileSync(args.out, text);
			return process.stderr.write(`smcp: wrote the trail to ${args.out}\n`);
		}
		case "audit verify": {
			const lines = args.file
				? readFileSync(args.file, "utf8").trim().split("\n").filter(Boolean)
				: (tenantCmd(args.tenant), await exportTrail(base, args.tenant));
			const [first, ...rest] = lines;
			const sha = (t) => createHash("sha256").update(t, "utf8").digest("hex");
			const verdict = verifyChain(
				sha,
				first ? (JSON.parse(first).anchor ?? null) : null,
				rest.map((l) => JSON.parse(l)),
			);
			if (verdict.ok) return print(`ok: ${verdict.checked} rows, hash chain intact`);
			print(`BROKEN at seq ${verdict.seq}: ${verdict.reason} (${verdict.checked} rows verified before it)`);
			return process.exit(1);
		}
		default:
			if (group === "apps") return apps(command ?? "", positionals, args, base);
			if (group === "secrets") return secrets(command ?? "", positionals, args, base);
			if (group === "doctor") {
				const target = command ?? base;
				const checks = await doctor(target, { token: process.env.SMCP_TOKEN });
				for (const c of checks) print(`${c.ok === null ? "SKIP" : c.ok ? "PASS" : "FAIL"}  ${c.name}${c.detail ? ` — ${c.detail}` : ""}`);
				const failed = checks.filter((c) => c.ok === false).length;
				print(`${checks.filter((c) => c.ok).length} passed, ${failed} failed`);
				if (failed) process.exit(1);
				return;
			}
			fail(`unknown command "${group} ${command ?? ""}"\n${USAGE}`);
	}
}

await main();
