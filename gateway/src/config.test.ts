import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseRateLimit } from "./config.js";

const minimal = {
  NATS_URL: "nats://127.0.0.1:4222",
  DATABASE_URL: "postgres://wb:pw@127.0.0.1:5432/wb",
  SECRET_KEY: randomBytes(32).toString("base64"),
};

/** The ConfigError loadConfig throws for `env`, or a failure when it accepts it. */
function rejected(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("accepts the three required variables and fills in documented defaults", () => {
    const c = loadConfig(minimal);
    expect(c).toMatchObject({
      PORT: 8080,
      HOST: "0.0.0.0",
      NATS_URL: minimal.NATS_URL,
      STREAM_NAME: "WEBHOOKS",
      STREAM_MAX_AGE: 30 * 86_400_000,
      STREAM_MAX_BYTES: 10 * 1024 ** 3,
      STREAM_REPLICAS: 1,
      DUPLICATE_WINDOW: 86_400_000,
      MAX_BODY_BYTES: 25 * 1024 ** 2,
      ACK_WAIT: 30_000,
      MAX_POLL_WAIT: 30_000,
      PUBLISH_TIMEOUT: 5_000,
      ENDPOINT_REFRESH_INTERVAL: 30_000,
      RATE_LIMIT_PER_ENDPOINT: { rate: 100, perMs: 1_000, burst: 1_000 },
      RATE_LIMIT_PER_CLIENT: { rate: 200, perMs: 1_000, burst: 2_000 },
      HEADERS_TIMEOUT: 10_000,
      REQUEST_TIMEOUT: 60_000,
      ACCESS_TOKEN_TTL: 15 * 60_000,
      REFRESH_TOKEN_TTL: 30 * 86_400_000,
      SIGNING_KEY_ROTATION: 30 * 86_400_000,
      LOG_LEVEL: "info",
    });
    expect(c.SECRET_KEY).toEqual(Buffer.from(minimal.SECRET_KEY, "base64"));
  });

  it("parses units and turns rate limits off", () => {
    const c = loadConfig({
      ...minimal,
      PORT: "0",
      ACK_WAIT: "1500ms",
      STREAM_MAX_AGE: "7d",
      MAX_BODY_BYTES: "512KiB",
      RATE_LIMIT_PER_ENDPOINT: "off",
      RATE_LIMIT_PER_CLIENT: "6000/m:100",
      LOG_LEVEL: "silent",
    });
    expect(c).toMatchObject({ PORT: 0, ACK_WAIT: 1_500, STREAM_MAX_AGE: 7 * 86_400_000, MAX_BODY_BYTES: 512 * 1024, RATE_LIMIT_PER_ENDPOINT: null, LOG_LEVEL: "silent" });
    expect(c.RATE_LIMIT_PER_CLIENT).toEqual({ rate: 6000, perMs: 60_000, burst: 100 });
  });

  it("names every missing required variable (SECRET_KEY with how to make one)", () => {
    // NATS_URL and DATABASE_URL get zod's "expected string, received undefined": their own
    // "is required" messages apply only to an empty value.
    const err = rejected({});
    expect(err.issues).toHaveLength(3);
    expect(err.message).toMatch(/^invalid configuration:\n/);
    expect(err.issues.find((i) => i.startsWith("NATS_URL:"))).toBeDefined();
    expect(err.issues.find((i) => i.startsWith("DATABASE_URL:"))).toBeDefined();
    expect(err.issues.find((i) => i.startsWith("SECRET_KEY:"))).toMatch(/openssl rand -base64 32/);
  });

  // One bad variable at a time: the error names it (and only it) and says what is expected.
  const bad: [string, string, RegExp][] = [
    ["PORT", "http", /number/i],
    ["PORT", "70000", /65535/],
    ["NATS_URL", "", /NATS_URL is required/],
    ["DATABASE_URL", "mysql://x", /must be a postgres:\/\/ URL/],
    ["SECRET_KEY", randomBytes(16).toString("base64"), /must be 32 bytes, base64/],
    ["STREAM_NAME", "web hooks", /invalid/i],
    ["STREAM_NAME", "a.b", /invalid/i],
    ["STREAM_MAX_AGE", "forever", /not a duration: forever \(use e\.g\./],
    ["STREAM_MAX_BYTES", "lots", /not a size: lots/],
    ["STREAM_REPLICAS", "7", /5/],
    ["STREAM_REPLICAS", "2", /STREAM_REPLICAS must be 1, 3 or 5/],
    ["DUPLICATE_WINDOW", "-1s", /not a duration/],
    ["MAX_BODY_BYTES", "25 MB per request", /not a size/],
    ["ACK_WAIT", "30 s", /not a duration/],
    ["MAX_POLL_WAIT", "1w", /not a duration/],
    ["PUBLISH_TIMEOUT", "soon", /not a duration/],
    ["ENDPOINT_REFRESH_INTERVAL", "often", /not a duration/],
    ["RATE_LIMIT_PER_ENDPOINT", "100", /not a rate limit: 100 \(use e\.g\./],
    ["RATE_LIMIT_PER_CLIENT", "0/s", /not a rate limit/],
    ["DUPLICATE_WINDOW", "31d", /DUPLICATE_WINDOW must not be longer than STREAM_MAX_AGE/],
    ["HEADERS_TIMEOUT", "0ms", /HEADERS_TIMEOUT must be at least 1ms/],
    ["HEADERS_TIMEOUT", "90s", /not above REQUEST_TIMEOUT/],
    ["REQUEST_TIMEOUT", "tomorrow", /not a duration/],
    ["LOG_LEVEL", "verbose", /info/],
    ["ACCESS_TOKEN_TTL", "5s", /between 10s and 24h/],
    ["ACCESS_TOKEN_TTL", "2d", /between 10s and 24h/],
    ["REFRESH_TOKEN_TTL", "10m", /not be shorter than ACCESS_TOKEN_TTL/],
    ["SIGNING_KEY_ROTATION", "10m", /at least 1h/],
    ["GITHUB_URL", "github.com", /URL/i],
    ["PUBLIC_URL", "ftp://broker", /URL/i],
  ];
  it.each(bad)("%s=%j is refused with an error naming it", (name, value, message) => {
    const err = rejected({ ...minimal, [name]: value });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.startsWith(`${name}: `), err.issues[0]).toBe(true);
    expect(err.issues[0]).toMatch(message);
    expect(err.message).toContain(`  - ${name}: `);
  });

  it("GitHub sign-in: both client values and PUBLIC_URL, or nothing", () => {
    const github = { GITHUB_CLIENT_ID: "Iv1.abc", GITHUB_CLIENT_SECRET: "s3cret" };
    // The missing one is named.
    expect(rejected({ ...minimal, GITHUB_CLIENT_ID: "Iv1.abc" }).issues).toEqual([expect.stringMatching(/^GITHUB_CLIENT_SECRET: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET together/)]);
    expect(rejected({ ...minimal, ...github }).issues).toEqual([expect.stringMatching(/^PUBLIC_URL: PUBLIC_URL is required with GitHub sign-in/)]);
    const c = loadConfig({ ...minimal, ...github, PUBLIC_URL: "https://broker.example.com" });
    expect(c).toMatchObject({ GITHUB_URL: "https://github.com", GITHUB_API_URL: "https://api.github.com", GITHUB_SCOPES: "read:org", GITHUB_TIMEOUT: 10_000 });
    expect(loadConfig(minimal).GITHUB_CLIENT_ID).toBeUndefined();
    // As docker-compose passes unset optional variables: empty means off.
    expect(loadConfig({ ...minimal, GITHUB_CLIENT_ID: "", GITHUB_CLIENT_SECRET: "", PUBLIC_URL: "", GITHUB_URL: "" })).toMatchObject({ GITHUB_CLIENT_ID: undefined, GITHUB_URL: "https://github.com" });
  });

  it("metrics: no token by default (empty, as compose passes it, is none); bounded label settings", () => {
    expect(loadConfig(minimal)).toMatchObject({ METRICS_MAX_USERS: 500, METRICS_LAG_DURABLES: 20, METRICS_LAG_INTERVAL: 15_000 });
    expect(loadConfig(minimal).METRICS_TOKEN).toBeUndefined();
    expect(loadConfig({ ...minimal, METRICS_TOKEN: "", METRICS_MAX_USERS: "" })).toMatchObject({ METRICS_TOKEN: undefined, METRICS_MAX_USERS: 500 });
    expect(loadConfig({ ...minimal, METRICS_TOKEN: "a".repeat(16), METRICS_LAG_INTERVAL: "0s" })).toMatchObject({ METRICS_TOKEN: "a".repeat(16), METRICS_LAG_INTERVAL: 0 });
    const short = "tooshort-token";
    const err = rejected({ ...minimal, METRICS_TOKEN: short });
    expect(err.issues).toEqual([expect.stringMatching(/^METRICS_TOKEN: METRICS_TOKEN must be at least 16 characters/)]);
    expect(err.message).not.toContain(short);
    expect(rejected({ ...minimal, METRICS_MAX_USERS: "-1" }).issues).toEqual([expect.stringMatching(/^METRICS_MAX_USERS: /)]);
    expect(rejected({ ...minimal, METRICS_LAG_INTERVAL: "2h" }).issues).toEqual([expect.stringMatching(/^METRICS_LAG_INTERVAL: 2h is 2h: must be at most 1h/)]);
  });

  it("never echoes the secret key in its error", () => {
    const short = randomBytes(16).toString("base64");
    expect(rejected({ ...minimal, SECRET_KEY: short }).message).not.toContain(short);
  });
});

describe("parsers", () => {
  it("parseRateLimit: rate per unit, optional burst, off", () => {
    expect(parseRateLimit("100/s")).toEqual({ rate: 100, perMs: 1_000, burst: 100 });
    expect(parseRateLimit("6000/m:500")).toEqual({ rate: 6000, perMs: 60_000, burst: 500 });
    expect(parseRateLimit("1/h")).toEqual({ rate: 1, perMs: 3_600_000, burst: 1 });
    expect(parseRateLimit("OFF")).toBeNull();
    expect(parseRateLimit("0")).toBeNull();
    for (const bad of ["100", "0/s", "10/s:0", "10/d", "ten/s", "10/s:"]) expect(parseRateLimit(bad), bad).toBeUndefined();
  });
});

describe("CORS_ORIGINS", () => {
  it("unset or empty: no origin; a list: each origin exactly", () => {
    expect(loadConfig(minimal).CORS_ORIGINS).toEqual([]);
    expect(loadConfig({ ...minimal, CORS_ORIGINS: "" }).CORS_ORIGINS).toEqual([]);
    expect(loadConfig({ ...minimal, CORS_ORIGINS: "https://app.example.com, http://localhost:3000" }).CORS_ORIGINS).toEqual([
      "https://app.example.com",
      "http://localhost:3000",
    ]);
  });

  it("refuses a wildcard, a path, a trailing slash or another scheme, naming the variable", () => {
    for (const bad of ["*", "https://app.example.com/", "https://app.example.com/ui", "app.example.com", "ftp://files.example.com", "https://*.example.com"]) {
      const err = rejected({ ...minimal, CORS_ORIGINS: bad });
      expect(err.message, bad).toContain("CORS_ORIGINS: not an origin");
    }
  });
});
