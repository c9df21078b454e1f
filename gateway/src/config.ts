import { logEnvSchema, secretKeySchema, zBytes, zDuration } from "@wb/authz";
import { z } from "zod";
import { parseTrustedProxies } from "./middleware/client-address/index.js";

/** A token bucket: `rate` tokens per `perMs`, holding at most `burst`. */
export interface RateLimit {
  rate: number;
  perMs: number;
  burst: number;
}

/**
 * Parses `100/s`, `6000/m`, `100/s:500` (burst 500; the burst defaults to the rate) or `off`.
 * Undefined when malformed; null for `off`.
 */
export function parseRateLimit(text: string): RateLimit | null | undefined {
  const t = text.trim().toLowerCase();
  if (t === "off" || t === "0") return null;
  const m = /^(\d+)\/(s|m|h)(?::(\d+))?$/.exec(t);
  if (!m) return undefined;
  const rate = Number(m[1]);
  const burst = m[3] === undefined ? rate : Number(m[3]);
  if (rate < 1 || burst < 1) return undefined;
  return { rate, perMs: { s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as "s"], burst };
}

const rateLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const limit = parseRateLimit(v);
      if (limit === undefined) ctx.addIssue({ code: "custom", message: `not a rate limit: ${v} (use e.g. 100/s, 6000/m, 100/s:500 for a burst of 500, or off)` });
      return limit ?? null;
    });

/**
 * `https://a.example, http://localhost:3000`: origins a browser may call the API from. Each one
 * exactly (scheme, host, port; no path, no `*`): a wildcard would let any page use a token it got hold of.
 */
const origins = z
  .string()
  .default("")
  .transform((v, ctx) => {
    const list = v.split(",").map((o) => o.trim()).filter(Boolean);
    for (const o of list) {
      let origin: string | undefined;
      try {
        const url = new URL(o);
        // The URL parser takes `*` as a host character: a wildcard must not pass as a name.
        origin = /^https?:$/.test(url.protocol) && !url.host.includes("*") ? url.origin : undefined;
      } catch {}
      if (origin !== o) {
        ctx.addIssue({ code: "custom", message: `not an origin: ${o} (list each one as scheme://host[:port], e.g. https://app.example.com; no *, no path)` });
      }
    }
    return list;
  });

const duration = zDuration;
const bytes = zBytes;

/** docker-compose passes `${VAR:-}` as an empty string: for optional settings that means "not set". */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema);

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  NATS_URL: z.string().min(1, "NATS_URL is required (e.g. nats://127.0.0.1:4222)"),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// URL"),
  SECRET_KEY: secretKeySchema("SECRET_KEY is required: 32 random bytes, base64 (openssl rand -base64 32)"),
  STREAM_NAME: z.string().regex(/^[A-Za-z0-9_-]+$/).default("WEBHOOKS"),
  STREAM_MAX_AGE: duration("30d"),
  STREAM_MAX_BYTES: bytes("10GiB"),
  /**
   * Copies JetStream keeps of every delivery: 1 on a single node, 3 on a 3-node cluster (a
   * publish is acknowledged once 2 have it; one node may be lost), 5 on 5 nodes. An even count
   * survives no more lost nodes than the odd count below it, so it is refused.
   */
  STREAM_REPLICAS: z.coerce
    .number()
    .int()
    .min(1)
    .max(5)
    .default(1)
    .refine((n) => n % 2 === 1, "STREAM_REPLICAS must be 1, 3 or 5: an even count needs a larger quorum and survives no more lost nodes than the odd count below it"),
  DUPLICATE_WINDOW: duration("24h"),
  /**
   * Durable consumers the stream may hold (every reader's consumer is one). nats-server 2.15 caps
   * a stream at 1,000 unless the stream sets its own limit.
   */
  STREAM_MAX_CONSUMERS: z.coerce.number().int().min(1).default(100_000),
  /**
   * Once the stream is this full (percent of STREAM_MAX_BYTES), deliveries every reader has
   * acked are removed to make room (gateway/src/nats/purge.ts has the policy); `off` never.
   */
  STREAM_PURGE_ACKED_AT: z
    .string()
    .default("80%")
    .transform((v, ctx) => {
      if (v.trim().toLowerCase() === "off") return null;
      const m = /^(\d{1,3}(?:\.\d+)?)%?$/.exec(v.trim());
      if (!m || Number(m[1]) > 100) ctx.addIssue({ code: "custom", message: `${v}: use a percentage of STREAM_MAX_BYTES from 0% to 100%, or off` });
      return m ? Number(m[1]) : null;
    }),
  /** How often each gateway checks for acked deliveries to remove (also at once when a publish is refused as full). */
  STREAM_PURGE_INTERVAL: duration("1m"),
  MAX_BODY_BYTES: bytes("25MiB"),
  ACK_WAIT: duration("30s"),
  MAX_POLL_WAIT: duration("30s"),
  PUBLISH_TIMEOUT: duration("5s"),
  /**
   * Group commit: deliveries that arrive while a write is in flight are stored together as one
   * atomic batch, synced once (needs nats-server >= 2.15). Each 202 still waits for its batch's
   * acknowledgement. See the README, "Durability modes and their cost".
   */
  GROUP_COMMIT: z.enum(["on", "off"]).default("off"),
  /**
   * The settlement journal: an ack or term is answered 200 only once it is also journaled, and
   * what nats-server loses of a consumer's state in a crash is settled again when it comes back.
   * `auto`: on for one node (STREAM_REPLICAS=1), off for R3 (acks are answered only after Raft
   * committed them). See the README, "Settling messages".
   */
  SETTLE_JOURNAL: z.enum(["auto", "on", "off"]).default("auto"),
  /** Group commit: single publishes in flight before deliveries wait for a batch. */
  GROUP_COMMIT_MAX_SINGLES: z.coerce.number().int().min(1).max(1000).default(4),
  /** Group commit: a batch goes out once this many deliveries wait (2 to 1000). */
  GROUP_COMMIT_MIN_BATCH: z.coerce.number().int().min(2).max(1000).default(16),
  ENDPOINT_REFRESH_INTERVAL: duration("30s"),
  /**
   * Token buckets per endpoint and per client address, held in memory by each gateway process:
   * N gateways behind a balancer admit up to N times these rates (README, "Scaling out").
   */
  RATE_LIMIT_PER_ENDPOINT: rateLimit("100/s:1000"),
  RATE_LIMIT_PER_CLIENT: rateLimit("200/s:2000"),
  /**
   * Proxies (addresses and CIDR ranges, comma-separated) whose X-Forwarded-For names the client.
   * Unset: the header is ignored and the client address is the TCP peer.
   */
  TRUSTED_PROXIES: unsetIfEmpty(
    z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        try {
          parseTrustedProxies(v);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      }),
  ),
  /** Slow clients: the whole header block, and the whole request, must arrive within these. */
  HEADERS_TIMEOUT: duration("10s"),
  REQUEST_TIMEOUT: duration("60s"),
  /** Lifetime of the broker's access JWTs (also bounds a session's NATS connection). */
  ACCESS_TOKEN_TTL: duration("15m"),
  /** A refresh token not used within this is dead; each refresh hands out a new one. */
  REFRESH_TOKEN_TTL: duration("30d"),
  /** The JWT signing key is replaced when older than this (the previous one verifies until its tokens expire). */
  SIGNING_KEY_ROTATION: duration("30d"),
  /**
   * Sign in with GitHub (an OAuth app or a GitHub App): both or neither. Without them the
   * /auth/github routes answer 404 github_not_configured and API tokens work as before.
   */
  GITHUB_CLIENT_ID: unsetIfEmpty(z.string().min(1).optional()),
  GITHUB_CLIENT_SECRET: unsetIfEmpty(z.string().min(1).optional()),
  GITHUB_URL: unsetIfEmpty(z.url({ protocol: /^https?$/ }).default("https://github.com")),
  GITHUB_API_URL: unsetIfEmpty(z.url({ protocol: /^https?$/ }).default("https://api.github.com")),
  /** Asked at sign-in; read:org lets the broker see the person's organization memberships (see the README). */
  GITHUB_SCOPES: unsetIfEmpty(z.string().default("read:org")),
  GITHUB_TIMEOUT: duration("10s"),
  /**
   * How long one GitHub answer (organization memberships, repository access) counts. Each user is
   * asked again after half of it; if GitHub cannot answer before it runs out, access granted
   * through GitHub ends (fails closed).
   */
  GITHUB_CACHE_TTL: duration("5m"),
  /** Where people reach the broker; GitHub sends them back to PUBLIC_URL/auth/github/callback. */
  PUBLIC_URL: unsetIfEmpty(z.url({ protocol: /^https?$/ }).optional()),
  /** Browser origins allowed to call the API; none (the default): no CORS headers at all. */
  CORS_ORIGINS: origins,
  ...logEnvSchema.shape,
  /** When set, GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). */
  METRICS_TOKEN: unsetIfEmpty(z.string().min(16, "METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -base64 24)").optional()),
  /** Users with their own series in per-user metrics (pulls, settlements); later ones count as `_other`. */
  METRICS_MAX_USERS: unsetIfEmpty(z.coerce.number().int().min(0).max(100_000).default(500)),
  /** Durables with their own consumer-lag series: the top N by pending + ack pending. */
  METRICS_LAG_DURABLES: unsetIfEmpty(z.coerce.number().int().min(0).max(1_000).default(20)),
  /** Consumer lag is sampled on scrape, at most this often (0: on every scrape). */
  METRICS_LAG_INTERVAL: zDuration("15s", { max: 3_600_000 }),
}).superRefine((c, ctx) => {
  // node:http refuses to start otherwise; say so in our words.
  if (c.ACCESS_TOKEN_TTL < 10_000 || c.ACCESS_TOKEN_TTL > 86_400_000) {
    ctx.addIssue({ code: "custom", path: ["ACCESS_TOKEN_TTL"], message: "ACCESS_TOKEN_TTL must be between 10s and 24h" });
  }
  if (c.REFRESH_TOKEN_TTL < c.ACCESS_TOKEN_TTL) {
    ctx.addIssue({ code: "custom", path: ["REFRESH_TOKEN_TTL"], message: "REFRESH_TOKEN_TTL must not be shorter than ACCESS_TOKEN_TTL" });
  }
  if (c.SIGNING_KEY_ROTATION < 3_600_000) {
    ctx.addIssue({ code: "custom", path: ["SIGNING_KEY_ROTATION"], message: "SIGNING_KEY_ROTATION must be at least 1h" });
  }
  if ((c.GITHUB_CLIENT_ID === undefined) !== (c.GITHUB_CLIENT_SECRET === undefined)) {
    ctx.addIssue({ code: "custom", path: [c.GITHUB_CLIENT_ID ? "GITHUB_CLIENT_SECRET" : "GITHUB_CLIENT_ID"], message: "set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET together (or neither)" });
  }
  if (c.GITHUB_CLIENT_ID && c.GITHUB_CLIENT_SECRET && !c.PUBLIC_URL) {
    ctx.addIssue({ code: "custom", path: ["PUBLIC_URL"], message: "PUBLIC_URL is required with GitHub sign-in: GitHub sends people back to PUBLIC_URL/auth/github/callback" });
  }
  if (c.GITHUB_CACHE_TTL < 1_000 || c.GITHUB_CACHE_TTL > 86_400_000) {
    ctx.addIssue({ code: "custom", path: ["GITHUB_CACHE_TTL"], message: "GITHUB_CACHE_TTL must be between 1s and 24h" });
  }
  // JetStream refuses the stream otherwise (a raw API error at start); 0 means no age limit.
  if (c.STREAM_MAX_AGE > 0 && c.DUPLICATE_WINDOW > c.STREAM_MAX_AGE) {
    ctx.addIssue({
      code: "custom",
      path: ["DUPLICATE_WINDOW"],
      message: "DUPLICATE_WINDOW must not be longer than STREAM_MAX_AGE (JetStream cannot dedupe what it has already deleted): lower DUPLICATE_WINDOW or raise STREAM_MAX_AGE",
    });
  }
  if (c.HEADERS_TIMEOUT < 1 || c.REQUEST_TIMEOUT < c.HEADERS_TIMEOUT) {
    ctx.addIssue({ code: "custom", path: ["HEADERS_TIMEOUT"], message: "HEADERS_TIMEOUT must be at least 1ms and not above REQUEST_TIMEOUT" });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super("invalid configuration:\n" + issues.map((i) => `  - ${i}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** Validates the environment once at start-up; handlers receive the result, never process.env. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`));
  }
  return result.data;
}
