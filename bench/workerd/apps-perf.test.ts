/**
 * Hosted versus built-in tool calls, measured in workerd through the whole Worker path (OAuth
 * bearer check, lane, kernel, isolate, audit row): warm calls per second of the example converter
 * next to the built-in `read_graph` on an empty graph, interleaved in rounds so both see the same
 * machine, and the first call after a deploy (a cold isolate). `npm run bench` runs this file
 * (bench/apps.mjs) and records the figures; as a test it checks the hosted path stays within the
 * target (≥ 0.7× the built-in calls/s once warm), with slack for a shared machine.
 */
import { env } from "cloudflare:test";
import { expect, it } from "vitest";
import type { AppBundle } from "../../shared/apps/bundle";
import type { AppManifestInput } from "../../shared/apps/manifest";
import { installApp } from "../../test/integration/apps-helpers";
import { connectMcp, signedIn } from "../../test/integration/helpers";

const bundles = JSON.parse((env as unknown as { TEST_APP_BUNDLES: string }).TEST_APP_BUNDLES) as Record<
	string,
	AppBundle<AppManifestInput>
>;
const ROUNDS = 5;
const CALLS = 40;

it("a warm hosted call runs at ≥ 0.7× the built-in calls/s; the first call after a deploy is reported", { timeout: 120_000 }, async () => {
	const s = await signedIn();
	const b = bundles["unit-converter"]!;
	const { client } = await connectMcp(s.tokens.access_token);
	const hosted = () => client.callTool({ name: "unit-converter__convert", arguments: { value: 1, from: "km", to: "mi" } });
	const builtIn = () => client.callTool({ name: "read_graph", arguments: {} });

	const cold: number[] = [];
	for (let i = 0; i < 3; i++) {
		// A new version (new hash, new isolate id): the first call loads, guards and starts it.
		await installApp(s.account.tenantId, { ...b.manifest, version: `1.0.${i}` }, b.modules);
		const t = performance.now();
		const r = (await hosted()) as { isError?: boolean };
		cold.push(performance.now() - t);
		expect(r.isError).toBeFalsy();
	}
	const warm = async (fn: () => Promise<unknown>) => {
		const t = performance.now();
		for (let i = 0; i < CALLS; i++) await fn();
		return CALLS / ((performance.now() - t) / 1000);
	};
	await warm(hosted);
	await warm(builtIn);
	const h: number[] = [];
	const k: number[] = [];
	for (let r = 0; r < ROUNDS; r++) {
		h.push(await warm(hosted));
		k.push(await warm(builtIn));
	}
	const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
	const figures = {
		hostedCallsPerSec: Math.round(med(h)),
		builtInCallsPerSec: Math.round(med(k)),
		ratio: Number((med(h) / med(k)).toFixed(2)),
		coldFirstCallMs: cold.map((x) => Math.round(x)),
		rounds: ROUNDS,
		callsPerRound: CALLS,
	};
	console.log(`SMCP_APPS_BENCH ${JSON.stringify(figures)}`);
	// Target 0.7; the test allows 0.5 so a busy shared machine does not fail it (the bench reports the figure).
	expect(figures.ratio).toBeGreaterThanOrEqual(0.5);
});
