/**
 * @module bench/lib/report
 * Turns a run into Markdown tables (printed, and written into docs/performance.md between the
 * `bench:*` markers) and a hand-rolled SVG chart of calls/s and p99 latency against concurrency.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { median, pairedRatio, summarize } from "./stats.mjs";

/**
 * @typedef {import("./stats.mjs").Results} Results
 * @typedef {{
 *   date: string, quick: boolean, minutes: number,
 *   params: { rounds: number, warmupMs: number, durationMs: number, slices: number, leadInMs: number, concurrencies: number[], entities: number, wranglerRounds: number, idleSettleMs: number, idleMs: number, idleRounds?: number, coldRounds?: number },
 *   machine: { nproc: number, model: string, memGiB: number, kernel: string, loadavg: string },
 *   versions: Record<string, string>, results: Results, idleRss: Record<string, number>,
 *   idle?: Record<string, { sessions: number, cpuMsPerSecond: number, rssMiB: number, rounds?: number[] }>,
 *   seed: { entities: number, seconds: number } | null, notes: string[],
 *   bundle?: { bytes: number, gzipBytes: number, groups: { name: string, bytes: number }[] },
 *   cold?: Record<string, number> | null,
 *   startup?: { cpuMs: number, byGroup: { name: string, ms: number }[] } | null,
 *   capacity?: import("./capacity.mjs").Capacity | null
 * }} Run
 */

export const SERVERS = /** @type {const} */ ({
	open: "Static JSON-RPC Worker, no OAuth (calibration)",
	static: "Static JSON-RPC Worker + OAuth (ceiling)",
	agent: "`agents` McpAgent + OAuth (peer)",
	smcp: "SMCP, full path",
});
const TOOL = { open: "`add`", static: "`add`", agent: "`add`", smcp: "`read_graph` (empty graph)" };

const fmtRate = (/** @type {number} */ x) => (!Number.isFinite(x) ? "–" : x >= 100 ? String(Math.round(x)) : x.toFixed(1));
const fmtMs = (/** @type {number} */ x) => (!Number.isFinite(x) ? "–" : x >= 100 ? String(Math.round(x)) : x.toFixed(1));
const fmtCpu = (/** @type {number} */ x) => (!Number.isFinite(x) ? "–" : x.toFixed(2));
const fmtX = (/** @type {number} */ x) => (!Number.isFinite(x) ? "–" : `${x.toFixed(2)}×`);
const fmtPct = (/** @type {number} */ x) => (!Number.isFinite(x) ? "–" : `${(x * 100).toFixed(1)} %`);
const fmtKiB = (/** @type {number} */ x) => (!Number.isFinite(x) ? "–" : (x / 1024).toFixed(0));
const fmtMiB = (/** @type {number} */ x) => (!Number.isFinite(x) ? "–" : String(Math.round(x)));

/**
 * @param {string[]} head
 * @param {string[][]} rows
 */
function table(head, rows) {
	return [
		`| ${head.join(" | ")} |`,
		`|${head.map((h) => (h === "server" || h === "workload" || h === "target" || h === "package or folder" ? "---" : "---:")).join("|")}|`,
		...rows.map((r) => `| ${r.join(" | ")} |`),
	].join("\n");
}

/**
 * Results of one run, as Markdown (the `results` block of docs/performance.md).
 * @param {Run} run
 */
export function resultsMarkdown(run) {
	const R = run.results;
	const k = (/** @type {string} */ mode, /** @type {string} */ group, /** @type {string} */ server) => R[`${mode}|${group}|${server}`];
	const s = (/** @type {string} */ mode, /** @type {string} */ group, /** @type {string} */ server) => summarize(k(mode, group, server));
	const errs = (/** @type {ReturnType<typeof summarize>} */ m) => (m ? String(m.errors) : "–");
	const out = [];
	const p = run.params;

	out.push(
		`Run of ${run.date}${run.quick ? " (**--quick smoke run**: short windows, one round; not for quoting)" : ""}: ${p.rounds} round(s); per cell ${p.warmupMs / 1000} s warm-up, then ${p.durationMs / 1000} s measured (the servers of a steady cell alternating in ${p.slices} slices each); medians across rounds; ratios are medians of per-round ratios. Whole run: ${run.minutes.toFixed(1)} min.`,
		"",
		`Machine: ${run.machine.nproc} cores (\`nproc\`), ${run.machine.model}, ${run.machine.memGiB} GiB RAM, Linux ${run.machine.kernel}; load average at start ${run.machine.loadavg}. ` +
			`Versions: ${Object.entries(run.versions)
				.map(([name, v]) => `${name} ${v}`)
				.join(", ")}.`,
		"",
	);

	// Headline.
	const c8 = "trivial-mcp-c8";
	out.push("### Runtime direct (workerd through Miniflare's API), trivial tool on `/mcp`, 8 concurrent sessions", "");
	out.push(
		table(
			[
				"server",
				"tool",
				"calls/s",
				"p50 ms",
				"p90 ms",
				"p99 ms",
				"CPU ms/call",
				"setups/s",
				"setup p99 ms",
				"peak RSS MiB",
				"calls/s ÷ ceiling",
				"calls/s ÷ McpAgent",
				"setups ÷ McpAgent",
				"errors",
			],
			Object.entries(SERVERS).map(([key, label]) => {
				const m = s("runtime", c8, key);
				const st = s("runtime", "setup-mcp-c8", key);
				return [
					label,
					TOOL[/** @type {keyof typeof TOOL} */ (key)],
					fmtRate(m?.rate ?? NaN),
					fmtMs(m?.p50 ?? NaN),
					fmtMs(m?.p90 ?? NaN),
					fmtMs(m?.p99 ?? NaN),
					fmtCpu(m?.cpuMsPerOp ?? NaN),
					fmtRate(st?.rate ?? NaN),
					fmtMs(st?.p99 ?? NaN),
					fmtMiB(
						Math.max(
							...Object.entries(R)
								.filter(([id]) => id.startsWith("runtime|") && id.endsWith(`|${key}`))
								.flatMap(([, rs]) => rs.map((r) => r.rssPeakMiB)),
						),
					),
					fmtX(pairedRatio(k("runtime", c8, key), k("runtime", c8, "static"), "rate")),
					fmtX(pairedRatio(k("runtime", c8, key), k("runtime", c8, "agent"), "rate")),
					fmtX(pairedRatio(k("runtime", "setup-mcp-c8", key), k("runtime", "setup-mcp-c8", "agent"), "rate")),
					String((m?.errors ?? 0) + (st?.errors ?? 0)),
				];
			}),
		),
		"",
		`A setup is \`initialize\` + \`notifications/initialized\` + the first \`tools/call\` on a new session. Peak RSS is the workerd process's resident memory sampled during the server's measured windows (idle after start: ${Object.entries(
			run.idleRss,
		)
			.map(([key, v]) => `${key} ${fmtMiB(v)} MiB`)
			.join(", ")}).`,
		"",
	);

	// Concurrency sweep.
	out.push("### Runtime direct: concurrency sweep (trivial tool)", "");
	/** @type {string[][]} */
	const sweep = [];
	for (const [key, label, lane] of /** @type {const} */ ([
		["open", SERVERS.open, "mcp"],
		["static", SERVERS.static, "mcp"],
		["agent", SERVERS.agent, "mcp"],
		["smcp", `${SERVERS.smcp}, \`/mcp\` 2025-11-25`, "mcp"],
		["smcp", `${SERVERS.smcp}, 2026-07-28 lane`, "modern"],
	])) {
		for (const c of p.concurrencies) {
			const g = `trivial-${lane}-c${c}`;
			const m = s("runtime", g, key);
			if (!m) continue;
			sweep.push([
				label,
				String(c),
				fmtRate(m.rate),
				fmtMs(m.p50),
				fmtMs(m.p90),
				fmtMs(m.p99),
				fmtCpu(m.cpuMsPerOp),
				fmtX(pairedRatio(k("runtime", g, key), k("runtime", `trivial-mcp-c${c}`, "static"), "rate")),
				fmtX(pairedRatio(k("runtime", g, key), k("runtime", `trivial-mcp-c${c}`, "agent"), "rate")),
				fmtX(pairedRatio(k("runtime", g, key), k("runtime", `trivial-mcp-c${c}`, "agent"), "p99")),
				errs(m),
			]);
		}
	}
	out.push(
		table(
			[
				"server",
				"sessions",
				"calls/s",
				"p50 ms",
				"p90 ms",
				"p99 ms",
				"CPU ms/call",
				"calls/s ÷ ceiling",
				"calls/s ÷ McpAgent",
				"p99 ÷ McpAgent",
				"errors",
			],
			sweep,
		),
		"",
	);

	// SMCP workloads and transports.
	out.push("### Runtime direct: SMCP's tools and transports, 8 concurrent sessions", "");
	const entities = run.seed ? `${run.seed.entities.toLocaleString("en-US")} entities` : "the seeded graph";
	/** @type {[string, string, string, string][]} */
	const rows = [
		["smcp", "trivial-mcp-c8", "`read_graph`, empty graph (trivial)", "`/mcp` 2025-11-25"],
		["smcp", "trivial-modern-c8", "`read_graph`, empty graph (trivial)", "2026-07-28 (stateless)"],
		["smcp", "lanes-c8", "`read_graph`, trivial, the lanes cell: 2025 lane …", "`/mcp` 2025-11-25"],
		["smcp-modern", "lanes-c8", "… and the 2026-07-28 lane, interleaved with it", "2026-07-28 (stateless)"],
		["smcp", "trivial-sse-c8", "`read_graph`, empty graph (trivial)", "`/sse` 2024-11-05"],
		["agent", "trivial-sse-c8", "McpAgent `add` (peer, for the `/sse` ratio)", "`/sse` 2024-11-05"],
		["smcp", "read-mcp-c8", `\`search_nodes\` on ${entities} (read)`, "`/mcp` 2025-11-25"],
		["smcp", "write-mcp-c8", `\`add_observations\` on ${entities} (write)`, "`/mcp` 2025-11-25"],
		["smcp", "audit-mcp-c8", "`read_graph`, trivial, audit row on (the audit cell)", "`/mcp` 2025-11-25"],
		[
			"smcpna",
			"audit-mcp-c8",
			"`read_graph`, trivial, **no audit row** (`SMCP_BENCH_NO_AUDIT`, a tenant of the same process)",
			"`/mcp` 2025-11-25",
		],
		["smcp", "audit-aa-c8", "`read_graph`, trivial, the A/A cell: the audited tenant …", "`/mcp` 2025-11-25"],
		["smcpaa", "audit-aa-c8", "… and another audited tenant of the same process", "`/mcp` 2025-11-25"],
	];
	out.push(
		table(
			[
				"workload",
				"lane",
				"calls/s",
				"p50 ms",
				"p90 ms",
				"p99 ms",
				"CPU ms/call",
				"÷ trivial `/mcp` calls/s",
				"p50 ÷ trivial p50",
				"errors",
			],
			rows
				.map(([key, g, what, lane]) => {
					const m = s("runtime", g, key);
					if (!m) return null;
					const base =
						g === "lanes-c8"
							? k("runtime", g, "smcp")
							: k("runtime", "trivial-mcp-c8", key === "smcpna" || key === "smcpaa" ? "smcp" : key);
					return [
						what,
						lane,
						fmtRate(m.rate),
						fmtMs(m.p50),
						fmtMs(m.p90),
						fmtMs(m.p99),
						fmtCpu(m.cpuMsPerOp),
						fmtX(pairedRatio(k("runtime", g, key), base, "rate")),
						fmtX(pairedRatio(k("runtime", g, key), base, "p50")),
						errs(m),
					];
				})
				.filter((r) => r !== null),
		),
		"",
	);
	const sseRatio = pairedRatio(k("runtime", "trivial-sse-c8", "smcp"), k("runtime", "trivial-sse-c8", "agent"), "rate");
	if (Number.isFinite(sseRatio)) out.push(`On \`/sse\`, SMCP's trivial calls/s ÷ McpAgent's: ${fmtX(sseRatio)}.`, "");
	if (run.seed)
		out.push(
			`The graph was seeded with \`create_entities\` in batches of 1,000: ${run.seed.entities.toLocaleString("en-US")} entities in ${run.seed.seconds.toFixed(1)} s.`,
			"",
		);

	// Idle sessions.
	if (run.idle && Object.keys(run.idle).length) {
		out.push("### Runtime direct: idle cost", "");
		const idleRow = (/** @type {string} */ key, /** @type {string} */ lane, /** @type {string} */ what) => {
			const m = run.idle?.[`${key}|${lane}`];
			if (!m) return null;
			const floor = run.idle?.[`${key}|none`];
			const rs = m.rounds ?? [m.cpuMsPerSecond];
			const diffs = floor?.rounds && lane !== "none" ? rs.map((v, i) => v - (floor.rounds?.[i] ?? NaN)) : [];
			return [
				SERVERS[/** @type {keyof typeof SERVERS} */ (key)],
				what,
				String(m.sessions),
				m.cpuMsPerSecond.toFixed(2),
				rs.map((v) => v.toFixed(2)).join(", "),
				diffs.length ? median(diffs).toFixed(2) : "–",
				fmtMiB(m.rssMiB),
			];
		};
		const idleRows = [];
		for (const key of ["agent", "smcp"])
			for (const [lane, what] of [
				["none", "no session (the process's floor)"],
				["mcp", "Streamable HTTP, no stream open"],
				["sse", "2024-11-05, each holding its SSE stream"],
			])
				idleRows.push(idleRow(key, lane, what));
		out.push(
			table(
				[
					"server",
					"sessions held",
					"count",
					"CPU ms per second idle (median)",
					"each round",
					"above the floor (median of per-round differences)",
					"RSS MiB",
				],
				/** @type {string[][]} */ (idleRows.filter((r) => r !== null)),
			),
			"",
		);
		out.push(
			`Per round and server: the process with no session, then 32 sessions opened (initialize + one call) and left alone, each window ${run.params.idleMs / 1000} s of silence after a ${run.params.idleSettleMs / 1000} s pause; ${run.params.idleRounds ?? 1} round(s), servers alternating; whole workerd process, CPU from /proc in 10 ms ticks (one tick in a ${run.params.idleMs / 1000} s window reads as ${(10_000 / run.params.idleMs).toFixed(1)} ms per second). A 2024-11-05 stream gets a keep-alive comment every 15 s by design (proxies close silent connections).`,
			"",
		);
	}

	// A tenant's capacity.
	if (run.capacity) out.push(capacityMarkdown(run.capacity), "");

	// Size and cold start.
	if (run.bundle) {
		const b = run.bundle;
		out.push("### Size and cold start (SMCP's Worker)", "");
		const top = b.groups.slice(0, 10);
		const rest = b.groups.slice(10).reduce((a, g) => a + g.bytes, 0);
		const sum = b.groups.reduce((a, g) => a + g.bytes, 0) || 1;
		out.push(
			`Bundle as \`wrangler deploy\` uploads it: ${fmtKiB(b.bytes)} KiB, **${fmtKiB(b.gzipBytes)} KiB gzip** (one module, front Worker and both Durable Object classes). What takes it (esbuild's metafile, bytes in the output):`,
			"",
			table(
				["package or folder", "KiB", "share"],
				[...top.map((g) => [`\`${g.name}\``, fmtKiB(g.bytes), fmtPct(g.bytes / sum)]), ["the rest", fmtKiB(rest), fmtPct(rest / sum)]],
			),
			"",
		);
		if (run.startup) {
			const st = run.startup;
			out.push(
				`Script start-up (top-level evaluation of the bundle, which a cold request pays in production unless the isolate was warmed during the TLS handshake; \`wrangler check startup\`'s CPU profile, median of ${run.params.coldRounds ?? 1}): **${st.cpuMs.toFixed(1)} ms** of CPU on this machine; by package: ${st.byGroup
					.slice(0, 6)
					.map((g) => `${g.name} ${g.ms.toFixed(1)} ms`)
					.join(", ")}.`,
				"",
			);
		}
		const c = run.cold;
		if (c)
			out.push(
				table(
					["workload", "first ms", "warm ms", "first ÷ warm"],
					[
						[
							"**the first MCP call** (2026-07-28 `read_graph`) on a fresh workerd process: front Worker isolate and TenantObject both new",
							fmtMs(c.firstCall ?? NaN),
							fmtMs(c.warm ?? NaN),
							fmtX((c.firstCall ?? NaN) / (c.warm ?? NaN)),
						],
						[
							`the front Worker's first authenticated request on a fresh process, alone (\`server/discover\`: bearer check, routing, the answer; no Durable Object), with Miniflare's KV simulator warmed first (its own first read: ${fmtMs(c.kvWarmUp ?? NaN)} ms)`,
							fmtMs(c.isolateFirst ?? NaN),
							fmtMs(c.isolateWarm ?? NaN),
							fmtX((c.isolateFirst ?? NaN) / (c.isolateWarm ?? NaN)),
						],
						[
							"then the tenant's first call on that warm isolate: a new TenantObject (constructor, migration check, SQLite opened, first statements)",
							fmtMs(c.tenantFirst ?? NaN),
							fmtMs(c.warm ?? NaN),
							fmtX((c.tenantFirst ?? NaN) / (c.warm ?? NaN)),
						],
						[
							"then a second tenant's first call: another new TenantObject, its code already compiled",
							fmtMs(c.tenant2First ?? NaN),
							fmtMs(c.tenant2Warm ?? NaN),
							fmtX((c.tenant2First ?? NaN) / (c.tenant2Warm ?? NaN)),
						],
						[
							"the process's first 2024-11-05 session (`GET /sse`, `initialize`, one call): the first SessionObject, its SDK server built",
							fmtMs(c.sessionFirst ?? NaN),
							fmtMs(c.sessionNext ?? NaN),
							fmtX((c.sessionFirst ?? NaN) / (c.sessionNext ?? NaN)),
						],
					],
				),
				"",
				`Medians of ${run.params.coldRounds ?? 1} round(s) of two restarts of workerd on the same storage (tokens stay valid): the first row after one restart, the others in order after the other; warm is the median of the next 20 requests of the kind (10 for the second tenant), and for sessions of the next 5 sessions, each with its own new SessionObject. Loopback, sequential, one client. workerd evaluates the bundle's top level when it starts, before the first request: the script start-up above is not in these times.`,
				"",
			);
	}

	// wrangler dev.
	const wd = Object.keys(SERVERS)
		.map((key) => [key, s("wrangler", c8, key), s("wrangler", "setup-mcp-c8", key)])
		.filter(([, m]) => m);
	if (wd.some(([, m]) => m)) {
		out.push("### Under `wrangler dev`, trivial tool on `/mcp`, 8 concurrent sessions", "");
		out.push(
			table(
				[
					"server",
					"calls/s",
					"p50 ms",
					"p99 ms",
					"CPU ms/call (process tree)",
					"of which workerd",
					"of which wrangler's Node (proxy)",
					"setups/s",
					"calls/s ÷ ceiling",
					"calls/s ÷ McpAgent",
					"setups ÷ McpAgent",
					"errors",
				],
				wd.map(([key, m, st]) => {
					const label = SERVERS[/** @type {keyof typeof SERVERS} */ (key)];
					const mm = /** @type {ReturnType<typeof summarize>} */ (m);
					const ss = /** @type {ReturnType<typeof summarize>} */ (st);
					return [
						label,
						fmtRate(mm?.rate ?? NaN),
						fmtMs(mm?.p50 ?? NaN),
						fmtMs(mm?.p99 ?? NaN),
						fmtCpu(mm?.cpuMsPerOp ?? NaN),
						fmtCpu(mm?.runtimeCpuMsPerOp ?? NaN),
						fmtCpu((mm?.cpuMsPerOp ?? NaN) - (mm?.runtimeCpuMsPerOp ?? NaN)),
						fmtRate(ss?.rate ?? NaN),
						fmtX(pairedRatio(k("wrangler", c8, String(key)), k("wrangler", c8, "static"), "rate")),
						fmtX(pairedRatio(k("wrangler", c8, String(key)), k("wrangler", c8, "agent"), "rate")),
						fmtX(pairedRatio(k("wrangler", "setup-mcp-c8", String(key)), k("wrangler", "setup-mcp-c8", "agent"), "rate")),
						String((mm?.errors ?? 0) + (ss?.errors ?? 0)),
					];
				}),
			),
			"",
		);
	}

	// Targets.
	out.push("### The issue's targets in this run", "");
	out.push(
		table(
			["target", "measured", "holds"],
			targets(run).map((t) => [t.name, t.value, t.holds]),
		),
		"",
	);
	for (const n of run.notes) out.push(`- ${n}`);
	if (run.notes.length) out.push("");
	out.push("![calls/s and p99 latency against concurrent sessions](performance.svg)", "");
	return out.join("\n");
}

/**
 * The issue's targets, evaluated on this run.
 * @param {Run} run
 */
export function targets(run) {
	const R = run.results;
	const k = (/** @type {string} */ id) => R[id];
	const yes = (/** @type {boolean} */ ok, /** @type {number} */ x) => (!Number.isFinite(x) ? "not measured" : ok ? "yes" : "**no**");
	const r1 = pairedRatio(k("runtime|trivial-mcp-c8|smcp"), k("runtime|trivial-mcp-c8|agent"), "rate");
	const r2 = pairedRatio(k("runtime|trivial-mcp-c8|smcp"), k("runtime|trivial-mcp-c8|static"), "rate");
	const r3 = pairedRatio(k("runtime|trivial-mcp-c8|smcp"), k("runtime|trivial-mcp-c8|agent"), "p99");
	const r4 = pairedRatio(k("runtime|setup-mcp-c8|smcp"), k("runtime|setup-mcp-c8|agent"), "rate");
	const r5 = pairedRatio(k("wrangler|trivial-mcp-c8|smcp"), k("wrangler|trivial-mcp-c8|agent"), "rate");
	const r6 = pairedRatio(k("runtime|read-mcp-c8|smcp"), k("runtime|trivial-mcp-c8|smcp"), "p50");
	const r6b = pairedRatio(k("runtime|read-mcp-c8|smcp"), k("runtime|trivial-mcp-c8|smcp"), "p99");
	const auditCost = 1 - pairedRatio(k("runtime|audit-mcp-c8|smcp"), k("runtime|audit-mcp-c8|smcpna"), "rate");
	// Per round, and the A/A cell's (two audited tenants, the same method): the method's own spread.
	const perRound = (/** @type {string} */ other, /** @type {string} */ group) =>
		(k(`runtime|${group}|smcp`) ?? [])
			.map(
				(/** @type {{ rate: number }} */ m, /** @type {number} */ i) =>
					1 - m.rate / (k(`runtime|${group}|${other}`)?.[i]?.rate ?? Number.NaN),
			)
			.map(fmtPct)
			.join(", ");
	const aaCost = 1 - pairedRatio(k("runtime|audit-aa-c8|smcp"), k("runtime|audit-aa-c8|smcpaa"), "rate");
	const auditDetail = `${fmtPct(auditCost)} (rounds ${perRound("smcpna", "audit-mcp-c8")}; A/A ${fmtPct(aaCost)}: ${perRound("smcpaa", "audit-aa-c8")})`;
	// The 2026-07-28 lane against the 2025 lane: both measured in one interleaved cell (lanes-c8).
	const modernRate = pairedRatio(k("runtime|lanes-c8|smcp-modern"), k("runtime|lanes-c8|smcp"), "rate");
	const modernCpu = pairedRatio(k("runtime|lanes-c8|smcp-modern"), k("runtime|lanes-c8|smcp"), "cpuMsPerOp");
	const wdCeiling = pairedRatio(k("wrangler|trivial-mcp-c8|smcp"), k("wrangler|trivial-mcp-c8|static"), "rate");
	const coldRatio = (run.cold?.firstCall ?? NaN) / (run.cold?.warm ?? NaN);
	return [
		{ name: "trivial tool calls/s ≥ 2.5× McpAgent (runtime direct, 8 sessions)", value: fmtX(r1), holds: yes(r1 >= 2.5, r1) },
		{ name: "trivial tool calls/s ≥ 0.8× static Worker behind OAuth", value: fmtX(r2), holds: yes(r2 >= 0.8, r2) },
		{ name: "p99 ≤ 0.5× McpAgent's", value: fmtX(r3), holds: yes(r3 <= 0.5, r3) },
		{ name: "session setups/s ≥ 5× McpAgent", value: fmtX(r4), holds: yes(r4 >= 5, r4) },
		{ name: "under `wrangler dev`: calls/s ≥ 2× McpAgent", value: fmtX(r5), holds: yes(r5 >= 2, r5) },
		{
			name: "`search_nodes` on the 10k graph within 2× the trivial tool's latency (p50; p99 in brackets)",
			value: `${fmtX(r6)} (${fmtX(r6b)})`,
			holds: yes(r6 <= 2, r6),
		},
		{
			name: "the audit row costs ≤ 10% of throughput (SMCP with ÷ without the row of allowed calls, trivial tool, 8 sessions)",
			value: fmtPct(auditCost),
			holds: yes(auditCost <= 0.1, auditCost),
		},
		{ name: "stretch: match the OAuth ceiling (≥ 1.0× static)", value: fmtX(r2), holds: yes(r2 >= 1, r2) },
		{
			name: "the 2026-07-28 lane at ≥ 0.95× the 2025 lane's calls/s (trivial, 8 sessions)",
			value: fmtX(modernRate),
			holds: yes(modernRate >= 0.95, modernRate),
		},
		{
			name: "the 2026-07-28 lane's CPU per call within 1.05× the 2025 lane's",
			value: fmtX(modernCpu),
			holds: yes(modernCpu <= 1.05, modernCpu),
		},
		{
			name: "under `wrangler dev`: SMCP ≥ 0.9× the static+OAuth ceiling",
			value: fmtX(wdCeiling),
			holds: yes(wdCeiling >= 0.9, wdCeiling),
		},
		{
			name: "the audit row costs < 5 % of throughput (per round; the A/A cell: two audited tenants measured alike)",
			value: auditDetail,
			holds: yes(auditCost < 0.05, auditCost),
		},
		{
			name: "the first MCP call on a fresh isolate within 2× a warm one",
			value: fmtX(coldRatio),
			holds: yes(coldRatio <= 2, coldRatio),
		},
	];
}

/**
 * Cost per million tool calls on Workers Paid, from SMCP's measured CPU per call. The price list
 * is an assumption stated in the output; check https://developers.cloudflare.com/workers/platform/pricing/.
 * @param {Run} run
 */
export function costMarkdown(run) {
	const m = summarize(run.results["runtime|trivial-mcp-c8|smcp"]);
	const mm = summarize(run.results["runtime|trivial-modern-c8|smcp"]);
	const a = summarize(run.results["runtime|trivial-mcp-c8|agent"]);
	const cpu = m?.cpuMsPerOp ?? NaN;
	const PRICE = { request: 0.3, cpuMs: 0.02, doRequest: 0.15, kvRead: 0.5, rowWritten: 1.0, gbS: 12.5 };
	const usd = (/** @type {number} */ x) => (Number.isFinite(x) ? `$${x.toFixed(2)}` : "–");
	// Per million calls, counted from the code: a plain tool call of SMCP's Streamable HTTP lane is
	// the front Worker (1 request) and TenantObject.callTool (1 DO request: worker/mcp/one-hop.ts),
	// and so is its 2026-07-28 lane; McpAgent's `serve()` makes three calls into the session object
	// per POST (`__unsafe_ensureInitialized`, `getInitializeRequest`, the WebSocket `fetch`).
	// The ceiling and McpAgent read the bearer token from KV on every request. SMCP reads it, and
	// the tenant's status, at most once per token (tenant) and isolate every 10 s
	// (worker/edge/token-cache.ts, TenantDirectory.isActive): for steady traffic, ~0 reads per call.
	const lines = (/** @type {number} */ cpuMs, /** @type {number} */ doRequests, /** @type {number} */ kvReads) => {
		const workers = PRICE.request + cpuMs * PRICE.cpuMs;
		const dos = doRequests * PRICE.doRequest;
		const kv = kvReads * PRICE.kvRead;
		// Duration: objects billed at 128 MB while active; at most the server time of the call.
		const duration = doRequests * (cpuMs / 1000) * 0.125 * PRICE.gbS;
		return { workers, dos, kv, duration, total: workers + dos + kv + duration };
	};
	const legacy = lines(cpu, 1, 0);
	const modern = lines(mm?.cpuMsPerOp ?? NaN, 1, 0);
	const agent = lines(a?.cpuMsPerOp ?? NaN, 3, 1);
	return [
		`Measured CPU per trivial tool call in this run (runtime direct, 8 sessions, the whole workerd process: front Worker and Durable Objects): SMCP \`/mcp\` ${fmtCpu(cpu)} ms, SMCP 2026-07-28 ${fmtCpu(mm?.cpuMsPerOp ?? NaN)} ms, McpAgent ${fmtCpu(a?.cpuMsPerOp ?? NaN)} ms. ` +
			"Local workerd CPU is a proxy for billed CPU: production machines differ, and billed CPU excludes time waiting on I/O, as here.",
		"",
		`Assumed Workers Paid prices (beyond the amounts included in the $5/month plan): Workers $${PRICE.request}/million requests and $${PRICE.cpuMs}/million CPU ms; Durable Objects $${PRICE.doRequest}/million requests (an RPC call is a request) and $${PRICE.gbS}/million GB-s of duration (128 MB per active object); Workers KV $${PRICE.kvRead}/million reads; SQLite-backed Durable Object storage $${PRICE.rowWritten.toFixed(2)}/million rows written.`,
		"",
		table(
			[
				"server",
				"Workers (requests + CPU)",
				"Durable Object requests",
				"DO duration (≈ CPU time × 128 MB)",
				"KV reads",
				"total, before SQLite rows written",
			],
			[
				[
					`SMCP \`/mcp\` (Worker → TenantObject for a plain call; KV reads cached per isolate: ~0 per call)`,
					usd(legacy.workers),
					usd(legacy.dos),
					usd(legacy.duration),
					usd(legacy.kv),
					usd(legacy.total),
				],
				[
					`SMCP 2026-07-28 (Worker → TenantObject; ~0 KV reads per call)`,
					usd(modern.workers),
					usd(modern.dos),
					usd(modern.duration),
					usd(modern.kv),
					usd(modern.total),
				],
				[
					`McpAgent (3 calls into the session object; 1 KV read)`,
					usd(agent.workers),
					usd(agent.dos),
					usd(agent.duration),
					usd(agent.kv),
					usd(agent.total),
				],
			],
		),
	].join("\n");
}

const WORKLOAD_LABEL = /** @type {Record<string, string>} */ ({
	read: "`open_nodes` (point read)",
	write: "`add_observations` (write)",
	search: "`search_nodes`",
});

/**
 * The capacity curves as a table: calls/s of one tenant as its sessions grow, and of N tenants
 * (four sessions each) at the same total concurrency.
 * @param {import("./capacity.mjs").Capacity} cap
 */
export function capacityMarkdown(cap) {
	const out = [`### A tenant's capacity (runtime direct, ${cap.entities.toLocaleString("en-US")} entities per tenant)`, ""];
	const rows = [];
	for (const workload of ["read", "write", "search"]) {
		const pts = cap.points.filter((p) => p.workload === workload);
		const totals = [...new Set(pts.map((p) => p.sessions))].sort((a, b) => a - b);
		for (const n of totals) {
			const one = pts.find((p) => p.curve === "sessions" && p.sessions === n);
			const many = pts.find((p) => p.curve === "tenants" && p.sessions === n);
			rows.push([
				WORKLOAD_LABEL[workload] ?? workload,
				String(n),
				fmtRate(one?.rate ?? NaN),
				fmtMs(one?.p99 ?? NaN),
				many ? `${many.x}` : "–",
				fmtRate(many?.rate ?? NaN),
				fmtMs(many?.p99 ?? NaN),
				fmtX((one?.rate ?? NaN) / (many?.rate ?? NaN)),
				fmtCpu(one?.cpuMsPerOp ?? NaN),
				String((one?.errors ?? 0) + (many?.errors ?? 0)),
			]);
		}
	}
	out.push(
		table(
			[
				"workload",
				"sessions in all",
				"1 tenant: calls/s",
				"1 tenant: p99 ms",
				"N tenants (4 sessions each)",
				"N tenants: calls/s",
				"N tenants: p99 ms",
				"1 tenant ÷ N tenants",
				"1 tenant: CPU ms/call",
				"errors",
			],
			rows,
		),
		"",
		`One round, ${cap.tenants} tenants seeded alike (${cap.seedSeconds.toFixed(0)} s). Every object runs in the same workerd process here, whose JavaScript runs on one thread: the N-tenant column is this process's ceiling, the one-tenant column whether one TenantObject serialises below it. Chart: performance-capacity.svg.`,
	);
	return out.join("\n");
}

/**
 * The capacity chart: calls/s against sessions in all, one tenant (solid) and N tenants (dashed), per workload.
 * @param {import("./capacity.mjs").Capacity} cap
 * @param {string} title
 */
export function capacitySvg(cap, title) {
	const W = 960;
	const H = 400;
	const panel = { left: 80, top: 60, w: 820, h: 260 };
	const colors = /** @type {Record<string, string>} */ ({ read: "#2563eb", write: "#dc2626", search: "#059669" });
	const xs = [...new Set(cap.points.map((p) => p.sessions))].sort((a, b) => a - b);
	const maxRate = niceCeil(Math.max(1, ...cap.points.map((p) => p.rate).filter(Number.isFinite)) * 1.08);
	const lx = (/** @type {number} */ n) =>
		panel.left +
		(xs.length > 1 ? ((Math.log2(n) - Math.log2(xs[0] ?? 1)) / (Math.log2(xs.at(-1) ?? 2) - Math.log2(xs[0] ?? 1))) * panel.w : 0);
	const y = (/** @type {number} */ v) => panel.top + panel.h - (v / maxRate) * panel.h;
	const esc = (/** @type {string} */ s) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
	const parts = [
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
		`<rect width="${W}" height="${H}" fill="#ffffff"/>`,
		`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`,
		`<rect x="${panel.left}" y="${panel.top}" width="${panel.w}" height="${panel.h}" fill="none" stroke="#d1d5db"/>`,
	];
	for (const f of [0, 0.25, 0.5, 0.75, 1]) {
		const v = f * maxRate;
		parts.push(`<line x1="${panel.left}" x2="${panel.left + panel.w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#f3f4f6"/>`);
		parts.push(`<text x="${panel.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#4b5563">${Math.round(v)}</text>`);
	}
	for (const n of xs)
		parts.push(`<text x="${lx(n).toFixed(1)}" y="${panel.top + panel.h + 18}" text-anchor="middle" fill="#4b5563">${n}</text>`);
	parts.push(
		`<text x="${panel.left + panel.w / 2}" y="${panel.top + panel.h + 36}" text-anchor="middle" fill="#374151">concurrent sessions in all (log scale)</text>`,
		`<text x="20" y="${panel.top + panel.h / 2}" text-anchor="middle" fill="#374151" transform="rotate(-90 20 ${panel.top + panel.h / 2})">tool calls per second</text>`,
	);
	for (const workload of ["read", "write", "search"])
		for (const curve of /** @type {const} */ (["sessions", "tenants"])) {
			const pts = cap.points
				.filter((p) => p.workload === workload && p.curve === curve && Number.isFinite(p.rate))
				.sort((a, b) => a.sessions - b.sessions)
				.map((p) => /** @type {[number, number]} */ ([lx(p.sessions), y(p.rate)]));
			if (!pts.length) continue;
			const dash = curve === "tenants" ? ` stroke-dasharray="6 4"` : "";
			parts.push(
				`<polyline fill="none" stroke="${colors[workload]}" stroke-width="2.2"${dash} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}"/>`,
			);
			for (const [a, b] of pts) parts.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3" fill="${colors[workload]}"/>`);
		}
	let lxPos = 80;
	for (const workload of ["read", "write", "search"]) {
		parts.push(`<line x1="${lxPos}" x2="${lxPos + 26}" y1="${H - 22}" y2="${H - 22}" stroke="${colors[workload]}" stroke-width="2.2"/>`);
		parts.push(`<text x="${lxPos + 32}" y="${H - 18}">${esc((WORKLOAD_LABEL[workload] ?? workload).replaceAll("`", ""))}</text>`);
		lxPos += 230;
	}
	parts.push(`<text x="${lxPos}" y="${H - 18}" fill="#374151">solid: 1 tenant; dashed: N tenants × 4 sessions</text>`);
	parts.push("</svg>");
	return `${parts.join("\n")}\n`;
}

/**
 * Writes `block` between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->` in `file`.
 * @param {string} file
 * @param {string} name
 * @param {string} block
 */
export function replaceBlock(file, name, block) {
	const start = `<!-- bench:${name}:start -->`;
	const end = `<!-- bench:${name}:end -->`;
	const text = existsSync(file) ? readFileSync(file, "utf8") : "";
	const i = text.indexOf(start);
	const j = text.indexOf(end);
	if (i < 0 || j < i) throw new Error(`${file} has no ${start} … ${end} block; restore the markers (see bench/run.mjs)`);
	writeFileSync(file, `${text.slice(0, i + start.length)}\n${block}\n${text.slice(j)}`);
}

/**
 * The chart: calls/s (linear) and p99 latency (log) against concurrent sessions.
 * @param {Run} run
 */
export function chartSvg(run) {
	const W = 960;
	const H = 420;
	const panel = { w: 400, h: 280, top: 70 };
	const lefts = [70, 550];
	const cs = run.params.concurrencies;
	const series = [
		{ label: "Static + OAuth (ceiling)", key: "static", lane: "mcp", color: "#6b7280", dash: "" },
		{ label: "McpAgent + OAuth (peer)", key: "agent", lane: "mcp", color: "#ea580c", dash: "" },
		{ label: "SMCP /mcp (2025-11-25)", key: "smcp", lane: "mcp", color: "#2563eb", dash: "" },
		{ label: "SMCP 2026-07-28 lane", key: "smcp", lane: "modern", color: "#2563eb", dash: "6 4" },
	].map((s) => ({ ...s, points: cs.map((c) => summarize(run.results[`runtime|trivial-${s.lane}-c${c}|${s.key}`])) }));
	const rates = series.flatMap((s) => s.points.map((p) => p?.rate ?? NaN)).filter(Number.isFinite);
	const p99s = series.flatMap((s) => s.points.map((p) => p?.p99 ?? NaN)).filter((x) => Number.isFinite(x) && x > 0);
	const maxRate = niceCeil(Math.max(1, ...rates) * 1.08);
	const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...p99s, 1))));
	const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...p99s, 10))));
	const x = (/** @type {number} */ left, /** @type {number} */ i) => left + 30 + (i * (panel.w - 60)) / Math.max(1, cs.length - 1);
	const yRate = (/** @type {number} */ v) => panel.top + panel.h - (v / maxRate) * panel.h;
	const yLat = (/** @type {number} */ v) =>
		panel.top + panel.h - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * panel.h;
	const esc = (/** @type {string} */ s) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
	const parts = [
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
		`<rect width="${W}" height="${H}" fill="#ffffff"/>`,
		`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(`Trivial tool, runtime direct (workerd via Miniflare), ${run.machine.nproc} cores — ${run.date}${run.quick ? " (quick run)" : ""}`)}</text>`,
	];
	for (const [pi, left] of lefts.entries()) {
		const isRate = pi === 0;
		parts.push(
			`<text x="${left + panel.w / 2}" y="${panel.top - 14}" text-anchor="middle" font-size="13" font-weight="600">${isRate ? "Tool calls per second (higher is better)" : "p99 latency, ms, log scale (lower is better)"}</text>`,
		);
		parts.push(`<rect x="${left}" y="${panel.top}" width="${panel.w}" height="${panel.h}" fill="none" stroke="#d1d5db"/>`);
		const ticks = isRate ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * maxRate) : logTicks(lo, hi);
		for (const t of ticks) {
			const y = isRate ? yRate(t) : yLat(t);
			parts.push(`<line x1="${left}" x2="${left + panel.w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#f3f4f6"/>`);
			parts.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#4b5563">${isRate ? Math.round(t) : t}</text>`);
		}
		cs.forEach((c, i) => {
			parts.push(`<text x="${x(left, i).toFixed(1)}" y="${panel.top + panel.h + 18}" text-anchor="middle" fill="#4b5563">${c}</text>`);
		});
		parts.push(
			`<text x="${left + panel.w / 2}" y="${panel.top + panel.h + 36}" text-anchor="middle" fill="#374151">concurrent sessions</text>`,
		);
		for (const s of series) {
			const pts = s.points
				.map((p, i) => {
					const v = isRate ? p?.rate : p?.p99;
					return v !== undefined && Number.isFinite(v) && (isRate || v > 0)
						? /** @type {[number, number]} */ ([x(left, i), isRate ? yRate(v) : yLat(v)])
						: null;
				})
				.filter((p) => p !== null);
			if (pts.length === 0) continue;
			parts.push(
				`<polyline fill="none" stroke="${s.color}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} points="${pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ")}"/>`,
			);
			for (const [px, py] of pts) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3.2" fill="${s.color}"/>`);
		}
	}
	series.forEach((s, i) => {
		const lx = 70 + i * 225;
		const ly = H - 18;
		parts.push(
			`<line x1="${lx}" x2="${lx + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
		);
		parts.push(`<text x="${lx + 32}" y="${ly}" fill="#111827">${esc(s.label)}</text>`);
	});
	parts.push("</svg>");
	return parts.join("\n") + "\n";
}

/** @param {number} v */
function niceCeil(v) {
	const mag = Math.pow(10, Math.floor(Math.log10(v)));
	for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * mag >= v) return m * mag;
	return 10 * mag;
}

/**
 * 1-2-5 ticks between lo and hi.
 * @param {number} lo
 * @param {number} hi
 */
function logTicks(lo, hi) {
	const out = [];
	for (let d = lo; d <= hi; d *= 10) for (const m of [1, 2, 5]) if (d * m >= lo && d * m <= hi) out.push(Math.round(d * m * 1000) / 1000);
	return out;
}
