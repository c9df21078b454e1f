import { createLogger } from "@wb/authz";
import { describe, expect, it } from "vitest";
import { DatabaseStartup, retryDelay } from "./database-startup.js";

const silent = createLogger("gateway", { level: "silent" });
const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

describe("retryDelay", () => {
  it("doubles from the minimum up to the maximum", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => retryDelay(n, 250, 5_000))).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  });
});

describe("DatabaseStartup", () => {
  it("resolves while the database is unreachable, retries, and is ready once run succeeds", async () => {
    let calls = 0;
    const s = new DatabaseStartup({ log: silent, minRetryMs: 1, maxRetryMs: 5, run: async () => void (++calls < 3 && (() => { throw refused(); })()) });
    await s.start();
    expect(s.ready).toBe(false);
    expect(s.problem).toBe("unreachable (connect ECONNREFUSED 127.0.0.1:5432); retrying");
    await expect.poll(() => s.ready).toBe(true);
    expect(calls).toBe(3);
    expect(s.problem).toBeUndefined();
    await s.stop();
  });

  it("throws at start for anything but an unreachable database (a configuration to fix)", async () => {
    const s = new DatabaseStartup({ log: silent, run: async () => Promise.reject(Object.assign(new Error('password authentication failed for user "x"'), { code: "28P01" })) });
    await expect(s.start()).rejects.toThrow(/password authentication failed/);
    await s.stop();
  });

  it("stops retrying when stopped", async () => {
    let calls = 0;
    const s = new DatabaseStartup({ log: silent, minRetryMs: 20, maxRetryMs: 20, run: async () => { calls++; throw refused(); } });
    await s.start();
    await s.stop();
    const after = calls;
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(after);
  });
});
