import { describe, expect, it } from "vitest";
import { parseStat } from "./proc.js";
import { summarizeProfile } from "./profile.js";
import { evaluateTargets, formatTable, ROW, type BenchReport, type Row } from "./report.js";
import { parseBenchDuration, parseEnvPairs, percentile, summarize } from "./stats.js";
import { luaString, parseWrkOutput } from "./wrk.js";

describe("percentile (nearest rank)", () => {
  it("picks the smallest value covering p% of the values", () => {
    const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(v, 50)).toBe(5);
    expect(percentile(v, 90)).toBe(9);
    expect(percentile(v, 99)).toBe(10);
    expect(percentile(v, 100)).toBe(10);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("does not mutate its input and rejects nonsense", () => {
    const v = [3, 1, 2];
    percentile(v, 50);
    expect(v).toEqual([3, 1, 2]);
    expect(() => percentile(v, 101)).toThrow(RangeError);
    expect(() => percentile(v, Number.NaN)).toThrow(RangeError);
  });

  it("summarizes count, percentiles, max and mean", () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(s).toMatchObject({ count: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
  });
});

describe("parseBenchDuration", () => {
  it("reads s, m and ms, and refuses a number without its unit", () => {
    expect(parseBenchDuration("30s")).toBe(30_000);
    expect(parseBenchDuration("2m")).toBe(120_000);
    expect(parseBenchDuration("1500ms")).toBe(1_500);
    // A bare number is refused: everywhere else it means milliseconds, here it meant seconds.
    expect(() => parseBenchDuration("5")).toThrow(/give the unit/);
    expect(() => parseBenchDuration("soon")).toThrow();
  });
});

const row = (name: string, rate: number, p50?: number, p99?: number, unit: Row["unit"] = "req/s"): Row => ({ name, unit, rate, p50Ms: p50, p99Ms: p99 });

function report(rows: Row[], extra: Partial<BenchReport> = {}): BenchReport {
  return { rows, skipped: {}, ...extra };
}

describe("evaluateTargets", () => {
  const passing = report(
    [
      row(ROW.jetstream, 1000, 10, 20),
      row(ROW.postgres, 500, 20, 40),
      row(ROW.ingest, 950, 11, 30),
      row(ROW.httpDrain, 6000, undefined, undefined, "msgs/s"),
      row(ROW.httpDrainTokens, 5000, undefined, undefined, "msgs/s"),
      row(ROW.rawDrain, 10000, undefined, undefined, "msgs/s"),
      row(ROW.e2e, 475, 4, 20),
      row(ROW.sse, 475, 5, 25),
      row(ROW.callout, 150, 5, 20, "conn/s"),
    ],
    { rss: { underLoadMiB: 150, soakStartMiB: 200, soakEndMiB: 215, soakSeconds: 120 } },
  );

  it("passes every target at the boundaries' good side", () => {
    const t = evaluateTargets(passing);
    expect(t.map((x) => x.status)).toEqual(Array(13).fill("PASS"));
  });

  it("misses each target on the wrong side of its ratio", () => {
    const byName = (r: BenchReport) => Object.fromEntries(evaluateTargets(r).map((x) => [x.target, x.status]));
    const worse = report(
      [
        row(ROW.jetstream, 1000, 10, 20),
        row(ROW.postgres, 800, 20, 40),
        row(ROW.ingest, 899, 11, 31),
        row(ROW.httpDrain, 4999, undefined, undefined, "msgs/s"),
        row(ROW.httpDrainTokens, 4990, undefined, undefined, "msgs/s"),
        row(ROW.rawDrain, 10000, undefined, undefined, "msgs/s"),
        row(ROW.e2e, 475, 5.1, 25.1),
        row(ROW.sse, 475, 5.1, 25.1),
        row(ROW.callout, 99, 5, 26, "conn/s"),
      ],
      { rss: { underLoadMiB: 150, soakStartMiB: 200, soakEndMiB: 221, soakSeconds: 120 } },
    );
    const s = byName(worse);
    expect(s["ingest req/s vs jetstream-publish"]).toBe("MISS");
    expect(s["ingest p99 vs jetstream-publish p99"]).toBe("MISS"); // 31 / 20 = 1.55
    expect(s["ingest req/s vs postgres-insert"]).toBe("MISS");
    expect(s["HTTP pull drain (ack by id) vs raw JetStream drain"]).toBe("MISS");
    expect(s["HTTP pull drain (ack by token) vs raw JetStream drain"]).toBe("MISS");
    expect(s["HTTP pull drain, one consumer"]).toBe("MISS"); // 4999 < 5000
    // The largest page counts toward the goal too, and the result names the row that met it.
    const bigPage = evaluateTargets({ ...worse, rows: [...worse.rows, row(ROW.httpDrainBigPage, 5200, undefined, undefined, "msgs/s")] });
    expect(bigPage.find((t) => t.target === "HTTP pull drain, one consumer")).toMatchObject({ status: "PASS", got: `5200 msgs/s (${ROW.httpDrainBigPage})` });
    expect(s["end-to-end p50"]).toBe("MISS");
    expect(s["end-to-end p99"]).toBe("MISS");
    expect(s["SSE latency p50 (202 → event)"]).toBe("MISS");
    expect(s["SSE latency p99 (202 → event)"]).toBe("MISS");
    expect(s["callout connections/s"]).toBe("MISS");
    expect(s["callout p99"]).toBe("MISS");
    expect(s["gateway RSS across 120 s soak"]).toBe("MISS"); // +21 MiB > max(16, 20)
  });

  it("judges each durability mode against the baselines of the same durability, only when it ran", () => {
    const base = [row(ROW.jetstream, 1000), row(ROW.postgres, 500), row(ROW.jetstreamR3, 400)];
    const names = (r: BenchReport) => evaluateTargets(r).map((x) => x.target);
    expect(names(report(base)).some((n) => /group-commit|R3/.test(n))).toBe(false);
    const t = Object.fromEntries(
      evaluateTargets(report([...base, row(ROW.ingestGroup, 900), row(ROW.ingestR3, 359), row(ROW.ingestR3Group, 360)])).map((x) => [x.target, x.status]),
    );
    expect(t["group-commit ingest vs jetstream-publish"]).toBe("PASS"); // 0.90
    expect(t["group-commit ingest vs postgres-insert"]).toBe("PASS"); // 1.80
    expect(t["ingest (R3) vs jetstream-publish (R3)"]).toBe("MISS"); // 0.8975
    expect(t["ingest (R3, group commit) vs jetstream-publish (R3)"]).toBe("PASS"); // 0.90
  });

  it("skips what was not measured, with the reason when one is known", () => {
    const t = evaluateTargets(report([row(ROW.ingest, 900, 1, 2)], { skipped: { [ROW.callout]: "callout.ts missing" } }));
    expect(t.every((x) => x.status === "SKIP")).toBe(true);
    expect(t.find((x) => x.target === "callout connections/s")?.got).toBe("callout.ts missing");
  });
});

describe("formatTable", () => {
  it("aligns columns and right-aligns numeric ones", () => {
    const text = formatTable(["name", "rate"], [["a", "5"], ["long name", "1234"]]);
    expect(text.split("\n")).toEqual(["name       rate", "---------  ----", "a             5", "long name  1234"]);
  });

  it("renders Markdown with right-aligned numeric columns", () => {
    const text = formatTable(["name", "rate"], [["a", "5"]], { markdown: true });
    expect(text.split("\n")).toEqual(["| name | rate |", "|------|-----:|", "| a    |    5 |"]);
  });
});

describe("wrk glue", () => {
  it("parses the summary line and bash's times", () => {
    const out = [
      "Running 5s test @ http://127.0.0.1:1/",
      'WRK_JSON {"requests":1000,"duration_us":2000000,"p50":1500,"p90":2500,"p99":9000,"max":12000,"connect":0,"read":0,"write":0,"timeout":0,"status":3}',
      "0m0.003s 0m0.001s",
      "0m1.250s 0m0.750s",
    ].join("\n");
    const r = parseWrkOutput(out);
    expect(r).toMatchObject({ requests: 1000, durationSeconds: 2, rate: 500, p50Ms: 1.5, p99Ms: 9, cpuSeconds: 2 });
    expect(r.errors.status).toBe(3);
  });

  it("quotes Lua strings", () => {
    expect(luaString('a"b\\c\r\n')).toBe('"a\\"b\\\\c\\r\\n"');
  });
});

describe("/proc parsing", () => {
  it("reads ppid and CPU ticks even when the command has spaces and parentheses", () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    const stat = "42 (node (x) y) S 7 42 42 0 -1 4194304 100 0 0 0 250 50 10 5 20 0 11";
    expect(parseStat(stat)).toEqual({ ppid: 7, own: 300, reaped: 15 });
  });
});

describe("summarizeProfile", () => {
  it("splits self and inclusive time and leaves idle out", () => {
    const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });
    const s = summarizeProfile({
      startTime: 0,
      endTime: 40,
      nodes: [
        { id: 1, callFrame: frame("(root)"), children: [2, 4] },
        { id: 2, callFrame: frame("handler", "file:///w/gateway/src/routes/ingest.ts"), children: [3] },
        { id: 3, callFrame: frame("hmac", "file:///w/gateway/src/webhooks/digest.ts") },
        { id: 4, callFrame: frame("(idle)") },
      ],
      // Each sample lasts until the next one (timeDeltas[i + 1]).
      samples: [2, 3, 3, 4, 4],
      timeDeltas: [0, 1000, 1000, 1000, 1000],
    });
    expect(s.idleMs).toBe(1);
    expect(s.totalMs).toBe(3);
    expect(s.functions.find((e) => e.key.startsWith("handler"))).toMatchObject({ selfMs: 1, totalMs: 3 });
    expect(s.functions.find((e) => e.key.startsWith("hmac"))).toMatchObject({ selfMs: 2, totalMs: 2 });
  });
});

describe("parseEnvPairs (--gateway-env)", () => {
  it("reads KEY=VALUE pairs and refuses anything else", () => {
    expect(parseEnvPairs("GROUP_COMMIT=on, GROUP_COMMIT_MIN_BATCH=8")).toEqual({ GROUP_COMMIT: "on", GROUP_COMMIT_MIN_BATCH: "8" });
    expect(parseEnvPairs("")).toEqual({});
    expect(parseEnvPairs("A=x=y")).toEqual({ A: "x=y" });
    expect(() => parseEnvPairs("GROUP_COMMIT")).toThrow(/KEY=VALUE/);
    expect(() => parseEnvPairs("=on")).toThrow(/KEY=VALUE/);
    expect(() => parseEnvPairs("lower=1")).toThrow(/KEY=VALUE/);
  });
});
