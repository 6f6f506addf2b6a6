/**
 * The two example apps under examples/, end to end in Node: handlers called directly, manifests
 * validated, then bundled with esbuild, checked, guarded, loaded from disk and called the way a
 * runner would (`__smcp_begin`, `tools[name](args, ctx)`, `normaliseResult`).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import converter from "../../examples/unit-converter/index";
import weather from "../../examples/weather-proxy/index";
import { bundleAppDir } from "./bundler.node";
import { checkBundle, checkHandlers, formatRefusal } from "./checks";
import { decideEgress } from "./egress";
import { GUARD_MODULE, guardBundle } from "./guard";
import { validateManifest, type AppManifest } from "./manifest";
import { normaliseResult } from "./result";
import type { JsonValue, ToolContext, ToolHandler } from "./sdk";

const root = join(__dirname, "..", "..", "examples");
const manifestOf = (app: string): AppManifest => {
	const r = validateManifest(JSON.parse(readFileSync(join(root, app, "smcp.app.json"), "utf8")));
	if (!r.ok) throw new Error(JSON.stringify(r.errors));
	return r.manifest;
};

/** A context like the host's: in-memory storage, secrets by name, a fetch the test provides. */
function fakeContext(
	fetchImpl: typeof fetch = () => Promise.reject(new Error("no network")),
	secrets: string[] = [],
): ToolContext & { logs: unknown[] } {
	const store = new Map<string, JsonValue>();
	const logs: unknown[] = [];
	return {
		logs,
		storage: {
			get: async (k) => structuredClone(store.get(k)) as never,
			put: async (k, v) => void store.set(k, structuredClone(v)),
			delete: async (k) => store.delete(k),
			list: async (p = "") => [...store.keys()].filter((k) => k.startsWith(p)).sort(),
		},
		secrets: { has: (n) => secrets.includes(n), get: () => undefined },
		log: (level, message, fields) => void logs.push({ level, message, fields }),
		fetch: fetchImpl,
	};
}

describe("examples/unit-converter", () => {
	const ctx = fakeContext();
	// The runner's view: every handler is a ToolHandler.
	const tools: Record<string, ToolHandler> = converter.tools;
	const convert = (value: number, from: string, to: string) => tools.convert!({ value, from, to }, ctx);

	it("converts length, mass and temperature", () => {
		expect(convert(1, "km", "m")).toEqual({ quantity: "length", value: 1000, unit: "m" });
		expect(convert(1, "mi", "km")).toEqual({ quantity: "length", value: 1.609344, unit: "km" });
		expect(convert(1, "lb", "kg")).toEqual({ quantity: "mass", value: 0.45359237, unit: "kg" });
		expect(convert(100, "C", "F")).toEqual({ quantity: "temperature", value: 212, unit: "F" });
		expect(convert(-40, "F", "C")).toMatchObject({ value: -40 });
		expect(convert(0, "K", "C")).toMatchObject({ value: -273.15 });
	});

	it("refuses unknown units, mixed quantities and temperatures below absolute zero with AppError", () => {
		expect(() => convert(1, "parsec", "m")).toThrow(/Unknown unit "parsec"/);
		expect(() => convert(1, "kg", "m")).toThrow(/Cannot convert mass \(kg\) to length \(m\)/);
		expect(() => convert(-300, "C", "K")).toThrow(/below absolute zero/);
		try {
			convert(1, "kg", "m");
		} catch (e) {
			expect((e as Error).name).toBe("AppError");
		}
	});

	it("lists its units; its manifest is valid and declares exactly its handlers", () => {
		expect(tools.list_units!({}, ctx)).toMatchObject({ temperature: ["C", "F", "K"] });
		expect(checkHandlers(converter, manifestOf("unit-converter"))).toEqual([]);
	});
});

describe("examples/weather-proxy", () => {
	const reply = { daily: [{ date: "2026-12-03", min_c: 2, max_c: 7.5, summary: "Showers" }] };

	it("calls only its allowed host, never sets the Authorization header itself, and caches", async () => {
		const manifest = manifestOf("weather-proxy");
		const seen: { url: string; auth: string | null }[] = [];
		const gateway: typeof fetch = async (input, init) => {
			const url = String(input);
			expect(decideEgress(manifest.egress, url)).toEqual({ allow: true, host: "api.example-weather.test" });
			seen.push({ url, auth: new Headers(init?.headers).get("authorization") });
			return Response.json(reply);
		};
		const ctx = fakeContext(gateway, ["WEATHER_API_KEY"]);
		const first = await weather.tools.forecast({ city: "Zürich", days: 1 }, ctx);
		expect(first).toEqual({
			city: "Zürich",
			days: [{ date: "2026-12-03", minC: 2, maxC: 7.5, summary: "Showers" }],
			cached: false,
		});
		expect(await weather.tools.forecast({ city: "zürich", days: 1 }, ctx)).toMatchObject({ cached: true });
		expect(seen).toEqual([{ url: "https://api.example-weather.test/v1/forecast?city=Z%C3%BCrich&days=1", auth: null }]);
		expect(checkHandlers(weather, manifest)).toEqual([]);
	});

	it("says what to do when the key is not set or the service fails", async () => {
		await expect(weather.tools.forecast({ city: "Oslo" }, fakeContext())).rejects.toThrow(/WEATHER_API_KEY is not set/);
		const down = fakeContext(async () => new Response("upstream detail", { status: 503 }), ["WEATHER_API_KEY"]);
		await expect(weather.tools.forecast({ city: "Oslo" }, down)).rejects.toThrow(/answered 503/);
		expect(down.logs).toEqual([{ level: "warn", message: "weather service error", fields: { status: 503 } }]);
	});
});

describe("examples bundled, checked, guarded and loaded", () => {
	it.each(["unit-converter", "weather-proxy"])("%s passes the deploy checks and runs guarded", async (app) => {
		const built = await bundleAppDir(join(root, app));
		if (!built.ok) throw new Error(built.message);
		const checked = checkBundle(built.bundle);
		if (!checked.ok) throw new Error(checked.refusals.map(formatRefusal).join("\n"));
		const guarded = guardBundle(built.bundle.modules);
		if (!guarded.ok) throw new Error(guarded.error.message);
		const dir = mkdtempSync(join(tmpdir(), `smcp-${app}-`));
		for (const [path, code] of Object.entries(guarded.modules)) writeFileSync(join(dir, path), code);
		const guard = await import(/* @vite-ignore */ pathToFileURL(join(dir, GUARD_MODULE)).href);
		const mod = await import(/* @vite-ignore */ pathToFileURL(join(dir, checked.manifest.main)).href);
		expect(checkHandlers(mod.default, checked.manifest)).toEqual([]);
		if (app === "unit-converter") {
			guard.__smcp_begin(Date.now() + checked.manifest.limits.timeoutMs);
			const value = await mod.default.tools.convert({ value: 5, from: "km", to: "m" }, fakeContext());
			const r = normaliseResult(value, checked.manifest.limits.maxResultBytes);
			expect(r).toMatchObject({ ok: true, result: { structuredContent: { value: 5000, unit: "m" } } });
		}
	});
});
