/**
 * @module bench/lib/stats
 * Aggregation across rounds: medians of each metric, and ratios taken pair by pair (the two
 * servers' measurements of the same round, then the median of those per-round ratios), so that
 * drift on a shared machine affects both sides of every ratio alike.
 */

/**
 * @typedef {import("./load.mjs").Measurement} Measurement
 * @typedef {Record<string, Measurement[]>} Results  keyed by `${mode}|${group}|${server}`
 */

/**
 * Median of finite numbers (NaN when there are none).
 * @param {number[]} xs
 */
export function median(xs) {
	const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
	if (s.length === 0) return Number.NaN;
	const mid = Math.floor(s.length / 2);
	return s.length % 2 ? /** @type {number} */ (s[mid]) : /** @type {number} */ (s[mid - 1] + /** @type {number} */ (s[mid])) / 2;
}

/**
 * The median measurement of a cell, metric by metric; errors are summed and the peak RSS is the max.
 * @param {Measurement[] | undefined} rounds
 * @returns {(Measurement & { rounds: number }) | null}
 */
export function summarize(rounds) {
	if (!rounds || rounds.length === 0) return null;
	/** @param {keyof Measurement} k */
	const med = (k) => median(rounds.map((r) => /** @type {number} */ (r[k])));
	const firstError = rounds.find((r) => r.firstError)?.firstError;
	return {
		rounds: rounds.length,
		ops: rounds.reduce((a, r) => a + r.ops, 0),
		seconds: rounds.reduce((a, r) => a + r.seconds, 0),
		rate: med("rate"),
		errors: rounds.reduce((a, r) => a + r.errors, 0),
		...(firstError ? { firstError } : {}),
		p50: med("p50"),
		p90: med("p90"),
		p99: med("p99"),
		cpuMsPerOp: med("cpuMsPerOp"),
		cpuUtil: med("cpuUtil"),
		rssPeakMiB: Math.max(...rounds.map((r) => r.rssPeakMiB).filter(Number.isFinite)),
		clientCpuUtil: med("clientCpuUtil"),
		otherCpuUtil: med("otherCpuUtil"),
		runtimeCpuMsPerOp: med("runtimeCpuMsPerOp"),
	};
}

/**
 * Median over rounds of `metric(a) / metric(b)`, pairing the two cells round by round.
 * @param {Measurement[] | undefined} a
 * @param {Measurement[] | undefined} b
 * @param {keyof Measurement} metric
 */
export function pairedRatio(a, b, metric) {
	if (!a || !b) return Number.NaN;
	const n = Math.min(a.length, b.length);
	const ratios = [];
	for (let i = 0; i < n; i++) ratios.push(/** @type {number} */ (a[i]?.[metric]) / /** @type {number} */ (b[i]?.[metric]));
	return median(ratios);
}
