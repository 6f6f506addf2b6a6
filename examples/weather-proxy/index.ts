/**
 * Weather proxy: an SMCP app that calls an HTTP API on its one allowed host. The API key is a
 * tenant secret the platform adds as `Authorization: Bearer …` to requests to that host
 * (`secretHeaders` in the manifest); the code checks that it is set but never reads it.
 * Forecasts are cached in the app's storage for ten minutes.
 */
import { AppError, defineApp, type ToolContext } from "../../shared/apps/sdk";

const API = "https://api.example-weather.test/v1/forecast";
const CACHE_MS = 10 * 60 * 1000;

/** A type alias, not an interface, so it is assignable to the storage's JSON type. */
type Day = { date: string; minC: number; maxC: number; summary: string };

/** Reads the upstream reply defensively: only the fields the tool returns, typed. */
function parseDays(body: unknown): Day[] {
	const days = (body as { daily?: unknown } | null)?.daily;
	if (!Array.isArray(days)) throw new AppError("The weather service sent an unexpected reply.");
	return days.map((d: Record<string, unknown>) => ({
		date: String(d.date ?? ""),
		minC: Number(d.min_c),
		maxC: Number(d.max_c),
		summary: String(d.summary ?? ""),
	}));
}

async function forecast({ city, days = 3 }: { city: string; days?: number }, ctx: ToolContext) {
	if (!ctx.secrets.has("WEATHER_API_KEY")) {
		throw new AppError("WEATHER_API_KEY is not set for this app: ask a tenant admin to set it.");
	}
	const key = `forecast:${city.toLowerCase()}:${days}`;
	const hit = await ctx.storage.get<{ at: number; days: Day[] }>(key);
	if (hit && Date.now() - hit.at < CACHE_MS) return { city, days: hit.days, cached: true };

	const url = `${API}?city=${encodeURIComponent(city)}&days=${days}`;
	const res = await ctx.fetch(url, { headers: { accept: "application/json" } });
	if (res.status === 404) throw new AppError(`No forecast for "${city}".`);
	if (!res.ok) {
		ctx.log("warn", "weather service error", { status: res.status });
		throw new AppError(`The weather service answered ${res.status}; try again later.`);
	}
	const result = parseDays(await res.json());
	await ctx.storage.put(key, { at: Date.now(), days: result });
	return { city, days: result, cached: false };
}

export default defineApp({ tools: { forecast } });
