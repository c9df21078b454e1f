/**
 * Durations and sizes as people write them, for every place that reads one: the gateway's and
 * the callout's environment, API fields (`wait`, `delay`, `expires_in`, `previous_valid_for`),
 * CLI options and the benchmark's flags. One rule everywhere:
 *
 * - duration: a number and a unit `ms`, `s`, `m`, `h` or `d` (`500ms`, `1.5s`, `24h`, `7d`);
 *   a bare number is milliseconds, where the caller allows it (`{ unit: "required" }` refuses it).
 * - size: a number and a binary unit (`512KiB`, `25MiB`, `10GiB`; `k`, `KB`, `m`, `MB`, `g`, `GB`
 *   mean the same 1024-based units); a bare number is bytes.
 */
import { z } from "zod";

const DURATION_UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export interface DurationOptions {
  /** `required` refuses a bare number (for flags and fields where `5` would be a trap). */
  unit?: "optional" | "required";
}

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string, opts: DurationOptions = {}): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m || (m[2] === undefined && opts.unit === "required")) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNIT_MS[(m[2] ?? "ms") as keyof typeof DURATION_UNIT_MS]);
}

/** Bytes, or undefined when `text` is not a size. */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? "b").toLowerCase();
  const scale = unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1024 ** 2 : unit.startsWith("g") ? 1024 ** 3 : 1;
  return Math.round(Number(m[1]) * scale);
}

/** The shortest exact way to write `ms` (`30d`, `24h`, `1500ms`), as parseDuration reads it back. */
export function formatDuration(ms: number): string {
  // Days only from 3d on: a 24h window reads better as 24h than as 1d.
  for (const [unit, size, from] of [["d", 86_400_000, 3 * 86_400_000], ["h", 3_600_000, 3_600_000], ["m", 60_000, 60_000], ["s", 1_000, 1_000]] as const) {
    if (ms >= from && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const EXAMPLES = "use e.g. 500ms, 20s, 5m, 24h, 7d";

/**
 * A zod field for a duration in an environment variable: parsed to milliseconds, within
 * [min, max] when given. `fallback` is written as a duration too (`"30s"`).
 */
export function zDuration(fallback: string, bounds: { min?: number; max?: number } = {}) {
  return z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `not a duration: ${v} (${EXAMPLES}; a bare number is milliseconds)` });
        return 0;
      }
      const { min, max } = bounds;
      if ((min !== undefined && ms < min) || (max !== undefined && ms > max)) {
        const range = [min !== undefined ? `at least ${formatDuration(min)}` : "", max !== undefined ? `at most ${formatDuration(max)}` : ""].filter(Boolean).join(" and ");
        ctx.addIssue({ code: "custom", message: `${v} is ${formatDuration(ms)}: must be ${range} (a bare number is milliseconds)` });
      }
      return ms;
    });
}

/** A zod field for a size in an environment variable, parsed to bytes. */
export function zBytes(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const n = parseBytes(v);
      if (n === undefined) ctx.addIssue({ code: "custom", message: `not a size: ${v} (use e.g. 512KiB, 25MiB, 10GiB)` });
      return n ?? 0;
    });
}
