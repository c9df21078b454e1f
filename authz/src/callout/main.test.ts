import { describe, expect, it } from "vitest";
import { generateCalloutKeys } from "./keys.js";
import { loadCalloutConfig } from "./main.js";

const keys = generateCalloutKeys();
const base = { NATS_URL: "nats://127.0.0.1:4222", CALLOUT_NATS_PASSWORD: "p", DATABASE_URL: "postgres://x", CALLOUT_ISSUER_SEED: keys.issuerSeed, CALLOUT_XKEY_SEED: keys.xkeySeed };

describe("loadCalloutConfig durations", () => {
  it("reads durations like every other setting (units.ts), in milliseconds", () => {
    expect(loadCalloutConfig(base)).toMatchObject({ CALLOUT_JWT_TTL: 300_000, CALLOUT_DB_TIMEOUT: 1_500, CALLOUT_SWEEP_INTERVAL: 15_000 });
    const c = loadCalloutConfig({ ...base, CALLOUT_JWT_TTL: "1h", CALLOUT_DB_TIMEOUT: "800ms", CALLOUT_SWEEP_INTERVAL: "1m" });
    expect(c).toMatchObject({ CALLOUT_JWT_TTL: 3_600_000, CALLOUT_DB_TIMEOUT: 800, CALLOUT_SWEEP_INTERVAL: 60_000 });
    // A bare number is milliseconds, as everywhere.
    expect(loadCalloutConfig({ ...base, CALLOUT_SWEEP_INTERVAL: "2000" }).CALLOUT_SWEEP_INTERVAL).toBe(2_000);
  });

  it("refuses a TTL written as bare seconds (it was, before durations were one rule) and says why", () => {
    expect(() => loadCalloutConfig({ ...base, CALLOUT_JWT_TTL: "300" })).toThrow(
      "auth callout config: CALLOUT_JWT_TTL: 300 is 300ms: must be at least 10s and at most 24h (a bare number is milliseconds)",
    );
  });
});

describe("loadCalloutConfig metrics", () => {
  it("serves /metrics on 9465 unless told another port or off; empty (compose's unset) is the default", () => {
    expect(loadCalloutConfig(base)).toMatchObject({ CALLOUT_METRICS_PORT: 9465, CALLOUT_METRICS_HOST: "0.0.0.0" });
    expect(loadCalloutConfig(base).METRICS_TOKEN).toBeUndefined();
    expect(loadCalloutConfig({ ...base, CALLOUT_METRICS_PORT: "" }).CALLOUT_METRICS_PORT).toBe(9465);
    expect(loadCalloutConfig({ ...base, CALLOUT_METRICS_PORT: "0" }).CALLOUT_METRICS_PORT).toBe(0);
    expect(loadCalloutConfig({ ...base, CALLOUT_METRICS_PORT: "off" }).CALLOUT_METRICS_PORT).toBe("off");
    expect(loadCalloutConfig({ ...base, METRICS_TOKEN: "" }).METRICS_TOKEN).toBeUndefined();
  });

  it("refuses a port that is not one, and a short METRICS_TOKEN, naming the variable and never the value", () => {
    expect(() => loadCalloutConfig({ ...base, CALLOUT_METRICS_PORT: "70000" })).toThrow(/CALLOUT_METRICS_PORT: must be a port number \(0-65535\) or off/);
    expect(() => loadCalloutConfig({ ...base, CALLOUT_METRICS_PORT: "nine" })).toThrow(/CALLOUT_METRICS_PORT/);
    const short = "s3cr3t-short";
    expect(() => loadCalloutConfig({ ...base, METRICS_TOKEN: short })).toThrow(/METRICS_TOKEN: METRICS_TOKEN must be at least 16 characters/);
    expect(() => loadCalloutConfig({ ...base, METRICS_TOKEN: short })).not.toThrow(short);
  });
});
