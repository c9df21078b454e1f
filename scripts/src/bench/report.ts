/**
 * The bench's results model, the targets of issue 6 as ratios within one run, and the text
 * table. Pure: no I/O, so it is unit-tested (report.test.ts) without timing anything.
 */

/** CPU used by one process (tree) over a measured window, in % of one core. */
export type CpuShare = Record<string, number>;

export interface Row {
  /** e.g. `node-http`, `broker ingest`. */
  name: string;
  /** What `rate` counts. */
  unit: "req/s" | "msgs/s" | "conn/s";
  rate: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Requests that failed (socket errors, timeouts, non-2xx answers). */
  errors?: number;
  cpu?: CpuShare;
  note?: string;
}

export interface RssReport {
  /** Highest gateway RSS seen during the ingest measurement. */
  underLoadMiB: number;
  /** Median of the samples in the first and the last window of the soak. */
  soakStartMiB: number;
  soakEndMiB: number;
  soakSeconds: number;
}

export interface BenchReport {
  rows: Row[];
  rss?: RssReport;
  /** Why a phase produced no row (e.g. the callout measurement is not there yet). */
  skipped: Record<string, string>;
}

export type Status = "PASS" | "MISS" | "SKIP";

export interface TargetResult {
  target: string;
  want: string;
  got: string;
  status: Status;
}

/** Names of the rows the targets compare; the bench produces rows with exactly these names. */
export const ROW = {
  nodeHttp: "node-http",
  hono: "hono",
  jetstream: "jetstream-publish",
  postgres: "postgres-insert",
  ingest: "broker ingest",
  httpDrain: "broker pull drain (HTTP, ack by id)",
  httpDrainTokens: "broker pull drain (HTTP, ack by token)",
  /** The same with the largest page (DRAIN_BIG_PAGE): how a reader catching up on a backlog reads. */
  httpDrainBigPage: "broker pull drain (HTTP, ack by token, pages of 1000)",
  rawDrain: "raw JetStream drain",
  e2e: "broker end-to-end",
  sse: "broker SSE latency (202 → event)",
  callout: "auth callout",
  // Durability modes (see the README, "Durability modes and their cost").
  ingestGroup: "broker ingest (group commit)",
  jetstreamR3: "jetstream-publish (R3)",
  ingestR3: "broker ingest (R3)",
  ingestR3Group: "broker ingest (R3, group commit)",
  drainR3: "broker pull drain (R3, HTTP, ack by token)",
  publisherDirect: "publisher alone, single publishes",
  publisherGroup: "publisher alone, group commit",
} as const;

/** A single consumer's HTTP drain must reach this (issue 15), with any page size a reader may ask for. */
export const DRAIN_GOAL_MSGS = 5_000;

/** The largest page a pull returns (`limit` ≤ 1000, as many as one ack settles). */
export const DRAIN_BIG_PAGE = 1_000;

/** RSS may grow by this much across the soak and still count as noise. */
export const RSS_NOISE = { mib: 16, fraction: 0.1 } as const;

const fmtX = (x: number) => `${x.toFixed(2)}×`;
const fmtMs = (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`;

function ratioTarget(target: string, a: Row | undefined, b: Row | undefined, min: number): TargetResult {
  if (!a || !b || !(b.rate > 0)) return { target, want: `≥ ${fmtX(min)}`, got: "not measured", status: "SKIP" };
  const r = a.rate / b.rate;
  return { target, want: `≥ ${fmtX(min)}`, got: `${fmtX(r)} (${Math.round(a.rate)} / ${Math.round(b.rate)} ${a.unit})`, status: r >= min ? "PASS" : "MISS" };
}

function maxTarget(target: string, value: number | undefined, max: number, want: string, got: (v: number) => string): TargetResult {
  if (value === undefined || Number.isNaN(value)) return { target, want, got: "not measured", status: "SKIP" };
  return { target, want, got: got(value), status: value <= max ? "PASS" : "MISS" };
}

/** Evaluates every target of issue 6 against the rows of one run. */
export function evaluateTargets(report: BenchReport): TargetResult[] {
  const row = (name: string) => report.rows.find((r) => r.name === name);
  const ingest = row(ROW.ingest);
  const js = row(ROW.jetstream);
  const e2e = row(ROW.e2e);
  const callout = row(ROW.callout);
  const out: TargetResult[] = [
    ratioTarget("ingest req/s vs jetstream-publish", ingest, js, 0.9),
  ];
  if (ingest?.p99Ms !== undefined && js?.p99Ms !== undefined && js.p99Ms > 0) {
    const r = ingest.p99Ms / js.p99Ms;
    out.push({
      target: "ingest p99 vs jetstream-publish p99",
      want: "≤ 1.50×",
      got: `${fmtX(r)} (${fmtMs(ingest.p99Ms)} / ${fmtMs(js.p99Ms)})`,
      status: r <= 1.5 ? "PASS" : "MISS",
    });
  } else {
    out.push({ target: "ingest p99 vs jetstream-publish p99", want: "≤ 1.50×", got: "not measured", status: "SKIP" });
  }
  out.push(ratioTarget("ingest req/s vs postgres-insert", ingest, row(ROW.postgres), 1.4));
  out.push(ratioTarget("HTTP pull drain (ack by id) vs raw JetStream drain", row(ROW.httpDrain), row(ROW.rawDrain), 0.5));
  out.push(ratioTarget("HTTP pull drain (ack by token) vs raw JetStream drain", row(ROW.httpDrainTokens), row(ROW.rawDrain), 0.5));
  const fastestDrain = [row(ROW.httpDrain), row(ROW.httpDrainTokens), row(ROW.httpDrainBigPage)].filter((r): r is Row => r !== undefined).sort((a, b) => b.rate - a.rate)[0];
  out.push(
    fastestDrain
      ? {
          target: "HTTP pull drain, one consumer",
          want: `≥ ${DRAIN_GOAL_MSGS} msgs/s`,
          got: `${fastestDrain.rate.toFixed(0)} msgs/s (${fastestDrain.name})`,
          status: fastestDrain.rate >= DRAIN_GOAL_MSGS ? "PASS" : "MISS",
        }
      : { target: "HTTP pull drain, one consumer", want: `≥ ${DRAIN_GOAL_MSGS} msgs/s`, got: "not measured", status: "SKIP" },
  );
  // Each durability mode against the baselines of the same durability, when it was measured.
  const group = row(ROW.ingestGroup);
  if (group) {
    out.push(ratioTarget("group-commit ingest vs jetstream-publish", group, js, 0.9));
    out.push(ratioTarget("group-commit ingest vs postgres-insert", group, row(ROW.postgres), 1.4));
  }
  for (const r3 of [row(ROW.ingestR3), row(ROW.ingestR3Group)]) {
    if (r3) out.push(ratioTarget(`${r3.name.replace("broker ", "")} vs jetstream-publish (R3)`, r3, row(ROW.jetstreamR3), 0.9));
  }
  out.push(maxTarget("end-to-end p50", e2e?.p50Ms, 5, "≤ 5 ms", fmtMs));
  out.push(maxTarget("end-to-end p99", e2e?.p99Ms, 25, "≤ 25 ms", fmtMs));
  out.push(maxTarget("SSE latency p50 (202 → event)", row(ROW.sse)?.p50Ms, 5, "≤ 5 ms", fmtMs));
  out.push(maxTarget("SSE latency p99 (202 → event)", row(ROW.sse)?.p99Ms, 25, "≤ 25 ms", fmtMs));
  if (callout) {
    out.push({
      target: "callout connections/s",
      want: "≥ 100 conn/s",
      got: `${callout.rate.toFixed(0)} conn/s`,
      status: callout.rate >= 100 ? "PASS" : "MISS",
    });
    out.push(maxTarget("callout p99", callout.p99Ms, 25, "≤ 25 ms", fmtMs));
  } else {
    const why = report.skipped[ROW.callout] ?? "not measured";
    out.push({ target: "callout connections/s", want: "≥ 100 conn/s", got: why, status: "SKIP" });
    out.push({ target: "callout p99", want: "≤ 25 ms", got: why, status: "SKIP" });
  }
  const rss = report.rss;
  const rssWant = `growth ≤ max(${RSS_NOISE.mib} MiB, ${RSS_NOISE.fraction * 100}%)`;
  if (rss) {
    const growth = rss.soakEndMiB - rss.soakStartMiB;
    const allowed = Math.max(RSS_NOISE.mib, rss.soakStartMiB * RSS_NOISE.fraction);
    out.push({
      target: `gateway RSS across ${Math.round(rss.soakSeconds)} s soak`,
      want: rssWant,
      got: `${rss.soakStartMiB.toFixed(0)} → ${rss.soakEndMiB.toFixed(0)} MiB (${growth >= 0 ? "+" : ""}${growth.toFixed(1)})`,
      status: growth <= allowed ? "PASS" : "MISS",
    });
  } else {
    out.push({ target: "gateway RSS across soak", want: rssWant, got: "not measured", status: "SKIP" });
  }
  return out;
}

/** Aligned text columns (plain or Markdown); numeric columns are right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], opts: { markdown?: boolean } = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  // A column is right-aligned when every cell is a number (or "–" for not measured).
  const numeric = header.map((_, i) => i > 0 && rows.length > 0 && rows.every((r) => /^[-+]?\d[\d.,]*$|^–$/.test(r[i] ?? "")));
  const cell = (text: string, i: number) => (numeric[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const line = (cells: readonly string[]) =>
    opts.markdown ? `| ${cells.map(cell).join(" | ")} |` : cells.map(cell).join("  ").trimEnd();
  const sep = opts.markdown
    ? `|${widths.map((w, i) => (numeric[i] ? `${"-".repeat(w + 1)}:` : `${"-".repeat(w + 2)}`)).join("|")}|`
    : widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), sep, ...rows.map(line)].join("\n");
}

const num = (x: number | undefined, digits = 0) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(digits));

/** The CPU column: each process's share of one core, in a fixed order. */
export function formatCpu(cpu: CpuShare | undefined): string {
  if (!cpu) return "–";
  return Object.entries(cpu)
    .filter(([, v]) => v >= 0.5)
    .map(([k, v]) => `${k} ${v.toFixed(0)}%`)
    .join(", ");
}

/** The results table (one line per row). */
export function formatResults(report: BenchReport, opts: { markdown?: boolean } = {}): string {
  return formatTable(
    ["target", "rate", "unit", "p50 ms", "p99 ms", "errors", "CPU (% of one core)"],
    report.rows.map((r) => [
      r.note ? `${r.name} (${r.note})` : r.name,
      num(r.rate),
      r.unit,
      num(r.p50Ms, 2),
      num(r.p99Ms, 2),
      num(r.errors),
      formatCpu(r.cpu),
    ]),
    opts,
  );
}

/** The targets table with PASS/MISS/SKIP. */
export function formatTargets(targets: readonly TargetResult[], opts: { markdown?: boolean } = {}): string {
  return formatTable(["target", "want", "got", "result"], targets.map((t) => [t.target, t.want, t.got, t.status]), opts);
}
