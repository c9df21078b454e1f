import { parseDuration } from "@wb/authz";

/** Pure numeric helpers shared by the bench phases (unit-tested in stats.test.ts). */

/**
 * The p-th percentile (0..100) of `values` by the nearest-rank method: the smallest value
 * such that at least p% of the values are <= it. NaN for an empty input. Does not mutate.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return percentileOfSorted(sorted, p);
}

/** As {@link percentile}, for input already sorted ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Count, p50/p90/p99, max and mean of a list of latencies (any unit; the same comes out). */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** The median of a list (NaN when empty); for RSS samples. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** A `--duration`-style flag in milliseconds (authz's parseDuration); a unit is required. */
export function parseBenchDuration(text: string): number {
  const ms = parseDuration(text, { unit: "required" });
  if (ms === undefined) throw new Error(`not a duration: ${text} (use e.g. 30s, 2m, 1500ms; give the unit)`);
  return ms;
}

/** `--gateway-env`: `KEY=VALUE,KEY=VALUE` as an environment; a pair without `=` or a bad name is refused. */
export function parseEnvPairs(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    if (eq <= 0 || !/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`not KEY=VALUE: ${pair}`);
    env[key] = pair.slice(eq + 1);
  }
  return env;
}
