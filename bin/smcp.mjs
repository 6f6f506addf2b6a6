#!/usr/bin/env node
/**
 * @module bin/smcp
 * The SMCP operator CLI. Talks to a deployment's admin API (local `wrangler dev` or deployed) with
 * the admin secret from the environment (`SMCP_ADMIN_TOKEN`), never from an argument.
 *
 *   smcp audit export --tenant t_… [--url URL] [--out FILE]    NDJSON: anchor line, then rows
 *   smcp audit verify --tenant t_… [--url URL] | --file FILE   re-computes the hash chain here;
 *                                                              exit 1 and the first broken link
 *
 * Verification runs locally on the exported rows with the same chain code the Worker uses
 * (`shared/audit/chain.mjs`), so a compromised server cannot simply answer "ok".
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { verifyChain } from "../shared/audit/chain.mjs";

const USAGE = `Usage:
  smcp audit export --tenant TENANT_ID [--url URL] [--out FILE]
  smcp audit verify (--tenant TENANT_ID [--url URL] | --file FILE)
Environment: SMCP_ADMIN_TOKEN (the deployment's admin secret), SMCP_URL (default http://127.0.0.1:8787)`;

/** @param {string} text */
const sha256Hex = (text) => createHash("sha256").update(text, "utf8").digest("hex");

/** @param {string} message */
function fail(message, code = 2) {
	process.stderr.write(`smcp: ${message}\n`);
	process.exit(code);
}

/**
 * Downloads a tenant's whole trail, page by page.
 * @param {string} url @param {string} tenant @param {string} token
 * @returns {Promise<string[]>} NDJSON lines: the anchor, then every row oldest first
 */
async function exportTrail(url, tenant, token) {
	if (!/^t_[0-9a-f]{32}$/.test(tenant)) fail(`"${tenant}" is not a tenant id (t_ followed by 32 hex characters)`);
	const lines = [];
	let after = 0;
	for (let page = 0; ; page++) {
		let res;
		try {
			res = await fetch(`${url}/admin/tenants/${tenant}/audit?after=${after}&limit=1000`, { headers: { Authorization: `Bearer ${token}` } });
		} catch (e) {
			fail(`cannot reach ${url} (${e instanceof Error ? e.message : e}); is the server running, and is --url right?`);
		}
		if (res.status === 401) fail("the admin API refused the token: check SMCP_ADMIN_TOKEN against the deployment's secret");
		if (res.status === 404) fail(`no admin API at ${url}: set the SMCP_ADMIN_TOKEN secret on the deployment (wrangler secret put SMCP_ADMIN_TOKEN)`);
		if (!res.ok) fail(`export failed: HTTP ${res.status}`);
		const [anchorLine, ...rows] = (await res.text()).trim().split("\n").filter(Boolean);
		if (page === 0) lines.push(anchorLine);
		lines.push(...rows);
		if (rows.length < 1000) break;
		after = JSON.parse(rows[rows.length - 1]).seq;
		process.stderr.write(`smcp: ${lines.length - 1} rows…\n`);
	}
	return lines;
}

/** @param {string[]} lines */
function verifyLines(lines) {
	const [first, ...rest] = lines;
	const anchor = first ? JSON.parse(first).anchor ?? null : null;
	return verifyChain(sha256Hex, anchor, rest.map((l) => JSON.parse(l)));
}

async function main() {
	const [group, command, ...argv] = process.argv.slice(2);
	if (group !== "audit" || (command !== "export" && command !== "verify")) fail(USAGE);
	let args;
	try {
		args = parseArgs({ args: argv, strict: true, options: { tenant: { type: "string" }, url: { type: "string" }, out: { type: "string" }, file: { type: "string" } } }).values;
	} catch (e) {
		fail(`${e instanceof Error ? e.message : e}\n${USAGE}`);
	}
	const url = (args.url ?? process.env.SMCP_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
	let lines;
	if (command === "verify" && args.file) {
		lines = readFileSync(args.file, "utf8").trim().split("\n").filter(Boolean);
	} else {
		if (!args.tenant) fail(`--tenant is required\n${USAGE}`);
		const token = process.env.SMCP_ADMIN_TOKEN;
		if (!token) fail("SMCP_ADMIN_TOKEN is not set: export the deployment's admin secret first");
		lines = await exportTrail(url, args.tenant, token);
	}
	if (command === "export") {
		const text = `${lines.join("\n")}\n`;
		if (args.out) {
			writeFileSync(args.out, text);
			process.stderr.write(`smcp: wrote ${lines.length - 1} rows to ${args.out}\n`);
		} else process.stdout.write(text);
		return;
	}
	const verdict = verifyLines(lines);
	if (verdict.ok) {
		process.stdout.write(`ok: ${verdict.checked} rows, hash chain intact\n`);
		return;
	}
	process.stdout.write(`BROKEN at seq ${verdict.seq}: ${verdict.reason} (${verdict.checked} rows verified before it)\n`);
	process.exit(1);
}

await main();
