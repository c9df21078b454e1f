import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatDuration, parseBytes, parseDuration, zDuration } from "./units.js";

describe("parseDuration", () => {
  it("reads ms, s, m, h and d, with decimals; a bare number is milliseconds", () => {
    expect([parseDuration("500ms"), parseDuration("20s"), parseDuration("5m"), parseDuration("24h"), parseDuration("7d"), parseDuration("1.5s"), parseDuration(" 250 ")]).toEqual([
      500, 20_000, 300_000, 86_400_000, 7 * 86_400_000, 1_500, 250,
    ]);
  });

  it("refuses garbage, and a bare number where the caller requires the unit", () => {
    for (const bad of ["", "s", "-1s", "1w", "1 s", "1e3", "1,5s"]) expect(parseDuration(bad), bad).toBeUndefined();
    expect(parseDuration("5", { unit: "required" })).toBeUndefined();
    expect(parseDuration("5s", { unit: "required" })).toBe(5_000);
  });

  it("reads back what formatDuration writes", () => {
    for (const ms of [1, 999, 1_000, 1_500, 60_000, 90_000, 3_600_000, 86_400_000, 3 * 86_400_000, 30 * 86_400_000]) {
      expect(parseDuration(formatDuration(ms)), formatDuration(ms)).toBe(ms);
    }
    expect([formatDuration(86_400_000), formatDuration(30 * 86_400_000), formatDuration(1_500)]).toEqual(["24h", "30d", "1500ms"]);
  });
});

describe("parseBytes", () => {
  it("reads binary units whatever the spelling; a bare number is bytes", () => {
    expect([parseBytes("512"), parseBytes("512k"), parseBytes("1KB"), parseBytes("25MiB"), parseBytes("10GiB"), parseBytes("1.5 mb")]).toEqual([
      512, 512 * 1024, 1024, 25 * 1024 ** 2, 10 * 1024 ** 3, 1.5 * 1024 ** 2,
    ]);
    for (const bad of ["", "lots", "1TB", "-1", "1 K B"]) expect(parseBytes(bad), bad).toBeUndefined();
  });
});

describe("zDuration", () => {
  const schema = z.object({ T: zDuration("5m", { min: 10_000, max: 86_400_000 }) });
  const issue = (T: string) => schema.safeParse({ T }).error?.issues[0]?.message;

  it("parses the variable or its default to milliseconds", () => {
    expect(schema.parse({}).T).toBe(300_000);
    expect(schema.parse({ T: "90s" }).T).toBe(90_000);
    expect(schema.parse({ T: "15000" }).T).toBe(15_000);
  });

  it("names the problem: not a duration, or out of range (saying a bare number is milliseconds)", () => {
    expect(issue("soon")).toMatch(/^not a duration: soon \(use e\.g\./);
    expect(issue("300")).toBe("300 is 300ms: must be at least 10s and at most 24h (a bare number is milliseconds)");
    expect(issue("2d")).toMatch(/must be at least 10s and at most 24h/);
  });
});
