import { describe, expect, it } from "vitest";
import { coalesce } from "./coalesce.js";

/** A run whose end the test decides, recording when each run started. */
function controlledRun() {
  const started: number[] = [];
  const finishers: Array<() => void> = [];
  const run = () =>
    new Promise<void>((resolve) => {
      started.push(started.length + 1);
      finishers.push(resolve);
    });
  const finish = async (n: number) => {
    finishers[n - 1]?.();
    await new Promise((r) => setImmediate(r));
  };
  return { run, started, finish };
}

describe("coalesce", () => {
  it("gives calls made during a run one follow-up run that starts after it", async () => {
    const { run, started, finish } = controlledRun();
    const reload = coalesce(run);
    const first = reload();
    let laterDone = 0;
    const later = [reload(), reload(), reload()].map((p) => p.then(() => laterDone++));
    expect(started).toEqual([1]);

    await finish(1);
    await first;
    // The change behind the later calls may not be in run 1: they wait for run 2.
    expect(started).toEqual([1, 2]);
    expect(laterDone).toBe(0);

    await finish(2);
    await Promise.all(later);
    expect(laterDone).toBe(3);
    expect(started).toEqual([1, 2]);
  });

  it("starts at once when idle, and again after a failed run", async () => {
    let calls = 0;
    const reload = coalesce(async () => {
      calls++;
      if (calls === 1) throw new Error("database down");
    });
    await expect(reload()).rejects.toThrow("database down");
    await reload();
    expect(calls).toBe(2);
  });
});
