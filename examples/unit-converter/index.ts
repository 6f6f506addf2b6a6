/**
 * Unit converter: an SMCP app with two pure tools. Bundle it with the platform's bundler (esbuild)
 * into `index.js`; the manifest is `smcp.app.json` beside this file.
 */
import { AppError, defineApp } from "../../shared/apps/sdk";

type Quantity = "length" | "mass" | "temperature";

/** Linear units: factor to the base unit (metre, kilogram). */
const LINEAR: Record<Exclude<Quantity, "temperature">, Record<string, number>> = {
	length: { mm: 0.001, cm: 0.01, m: 1, km: 1000, in: 0.0254, ft: 0.3048, yd: 0.9144, mi: 1609.344 },
	mass: { mg: 1e-6, g: 0.001, kg: 1, t: 1000, oz: 0.028349523125, lb: 0.45359237 },
};
/** Temperatures: to and from kelvin. */
const TEMPERATURE: Record<string, { toK: (v: number) => number; fromK: (k: number) => number }> = {
	C: { toK: (v) => v + 273.15, fromK: (k) => k - 273.15 },
	F: { toK: (v) => ((v - 32) * 5) / 9 + 273.15, fromK: (k) => ((k - 273.15) * 9) / 5 + 32 },
	K: { toK: (v) => v, fromK: (k) => k },
};

/** Which quantity a unit measures, or undefined. */
function quantityOf(unit: string): Quantity | undefined {
	if (unit in TEMPERATURE) return "temperature";
	for (const [q, units] of Object.entries(LINEAR)) if (unit in units) return q as Quantity;
	return undefined;
}

/** Rounds away binary noise (0.30000000000000004) without hiding real precision. */
const tidy = (n: number) => Number.parseFloat(n.toPrecision(12));

export default defineApp({
	tools: {
		convert: ({ value, from, to }: { value: number; from: string; to: string }) => {
			const qFrom = quantityOf(from);
			const qTo = quantityOf(to);
			if (!qFrom) throw new AppError(`Unknown unit "${from}". Call list_units for the units known.`);
			if (!qTo) throw new AppError(`Unknown unit "${to}". Call list_units for the units known.`);
			if (qFrom !== qTo) throw new AppError(`Cannot convert ${qFrom} (${from}) to ${qTo} (${to}).`);
			if (!Number.isFinite(value)) throw new AppError("value must be a finite number.");
			let result: number;
			if (qFrom === "temperature") {
				const kelvin = TEMPERATURE[from]!.toK(value);
				if (kelvin < 0) throw new AppError(`${value} ${from} is below absolute zero.`);
				result = TEMPERATURE[to]!.fromK(kelvin);
			} else {
				const units = LINEAR[qFrom];
				result = (value * units[from]!) / units[to]!;
			}
			return { quantity: qFrom, value: tidy(result), unit: to };
		},
		list_units: () => ({
			length: Object.keys(LINEAR.length),
			mass: Object.keys(LINEAR.mass),
			temperature: Object.keys(TEMPERATURE),
		}),
	},
});
