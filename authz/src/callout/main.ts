/**
 * The auth callout: startCallout() runs it in-process (`pnpm start`), run.ts as a process
 * (the image). Config comes from the environment, checked by
 * zod at start; nothing below reads process.env.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { openDatabase } from "../db/client.js";
import { calloutMetrics, createRegistry, dbMetrics, metricsOn, serveMetrics, type MetricsServer } from "../metrics.js";
import { accessFingerprint, credentialChecker } from "./credentials.js";
import { CurveKey, NodeKeyPair, Prefix } from "./keys.js";
import { CALLOUT_USER } from "./nats-config.js";
import { SAFETY_SWEEP_MS } from "../access-changes.js";
import { formatDuration, zDuration } from "../units.js";
import { startRevoker, type Revoker } from "./revoker.js";
import { startCalloutService, type CalloutLogger, type CalloutService } from "./service.js";
import { logEnvSchema } from "../log.js";

const seed = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[A-Z2-7]{56}$`), `must be an nkey seed starting with ${prefix}`);

/** Where the callout's own `GET /metrics` listens (parsed alone too: `pnpm start` checks the port before it starts anything). */
export const CalloutMetricsEnv = z.object({
  /** Port of the callout's own `GET /metrics` (0: any free port; `off`: none). */
  CALLOUT_METRICS_PORT: z
    .preprocess((v) => (v === "" ? undefined : v), z.string().default("9465"))
    .transform((v, ctx): number | "off" => {
      if (v === "off") return "off";
      if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) {
        ctx.addIssue({ code: "custom", message: `must be a port number (0-65535) or off, not ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return Number(v);
    }),
  CALLOUT_METRICS_HOST: z.string().min(1).default("0.0.0.0"),
});

export const CalloutEnv = z.object({
  NATS_URL: z.string().min(1),
  CALLOUT_NATS_USER: z.string().default(CALLOUT_USER),
  CALLOUT_NATS_PASSWORD: z.string().min(1),
  /** System-account user for revocation (CONNZ/KICK). Without it nothing is kicked: JWT expiry is the bound. */
  NATS_SYS_USER: z.string().default("sys"),
  NATS_SYS_PASSWORD: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1),
  CALLOUT_ISSUER_SEED: seed("SA"),
  CALLOUT_XKEY_SEED: seed("SX"),
  STREAM_NAME: z.string().regex(/^[A-Za-z0-9_-]+$/).default("WEBHOOKS"),
  /** How long a user JWT lives (a duration, units.ts; ms here); the client re-authenticates through the callout after that. */
  CALLOUT_JWT_TTL: zDuration("5m", { min: 10_000, max: 86_400_000 }),
  /** How long PostgreSQL has per request (ms here); below the server's auth timeout (2 s). */
  CALLOUT_DB_TIMEOUT: zDuration("1500ms", { min: 50, max: 10_000 }),
  /** Time between safety sweeps over every connection (ms here; announced changes are applied at once). */
  CALLOUT_SWEEP_INTERVAL: zDuration(formatDuration(SAFETY_SWEEP_MS), { min: 250, max: 3_600_000 }),
  /** Comma-separated server names accepted; empty accepts any server that signs correctly. */
  CALLOUT_SERVER_NAMES: z.string().optional(),
  ...logEnvSchema.shape,
  ...CalloutMetricsEnv.shape,
  /** When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`. Empty means unset. */
  METRICS_TOKEN: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(16, "METRICS_TOKEN must be at least 16 characters").optional()),
});
export type CalloutConfig = z.infer<typeof CalloutEnv>;

export function loadCalloutConfig(env: Record<string, string | undefined>): CalloutConfig {
  const parsed = CalloutEnv.safeParse(env);
  if (!parsed.success) {
    // Name the variables, never echo their values (seeds and passwords).
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`auth callout config: ${problems}`);
  }
  return parsed.data;
}

export interface RunningCallout {
  service: CalloutService;
  /** Closes connections whose access changed; absent without the system account. */
  revoker?: Revoker;
  /** `GET /metrics`; absent with CALLOUT_METRICS_PORT=off. */
  metrics?: MetricsServer;
  stop(): Promise<void>;
}

/** Connects, starts the responder (and revocation when a sys user is configured). */
export async function startCallout(config: CalloutConfig, log: CalloutLogger, opts: { processMetrics?: boolean } = {}): Promise<RunningCallout> {
  const registry = createRegistry(opts);
  const m = metricsOn(registry);
  const metrics = calloutMetrics(m);
  // First: a taken port fails the start before anything is connected.
  const metricsServer =
    config.CALLOUT_METRICS_PORT === "off"
      ? undefined
      : await serveMetrics({ registry, port: config.CALLOUT_METRICS_PORT, host: config.CALLOUT_METRICS_HOST, token: config.METRICS_TOKEN }).catch((err: NodeJS.ErrnoException) => {
          throw new Error(
            err.code === "EADDRINUSE"
              ? `CALLOUT_METRICS_PORT: port ${config.CALLOUT_METRICS_PORT} is taken; choose another or set CALLOUT_METRICS_PORT=off`
              : `CALLOUT_METRICS_PORT: cannot listen on ${config.CALLOUT_METRICS_HOST}:${config.CALLOUT_METRICS_PORT}: ${err.message}`,
          );
        });
  const database = openDatabase(config.DATABASE_URL, { max: 10, metrics: dbMetrics(m) });
  const servers = config.NATS_URL.split(",");
  const nc = await connect({ servers, user: config.CALLOUT_NATS_USER, pass: config.CALLOUT_NATS_PASSWORD, name: "wb-auth-callout", maxReconnectAttempts: -1 }).catch(
    async (err: unknown) => {
      await metricsServer?.close();
      await database.close().catch(() => {});
      throw err;
    },
  );
  let sys: NatsConnection | undefined;
  let revoker: Revoker | undefined;
  const service = startCalloutService({
    nc,
    db: database.db,
    issuer: NodeKeyPair.fromSeed(Prefix.Account, config.CALLOUT_ISSUER_SEED),
    xkey: CurveKey.fromSeed(config.CALLOUT_XKEY_SEED),
    stream: config.STREAM_NAME,
    jwtTtlSeconds: Math.floor(config.CALLOUT_JWT_TTL / 1000),
    dbTimeoutMs: config.CALLOUT_DB_TIMEOUT,
    serverNames: config.CALLOUT_SERVER_NAMES ? config.CALLOUT_SERVER_NAMES.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    log,
    metrics,
  });
  if (config.NATS_SYS_PASSWORD) {
    sys = await connect({ servers, user: config.NATS_SYS_USER, pass: config.NATS_SYS_PASSWORD, name: "wb-auth-callout-revoker", maxReconnectAttempts: -1 });
    revoker = startRevoker({
      nc,
      sys,
      check: credentialChecker(database.db),
      fingerprint: (userId) => accessFingerprint(database.db, userId),
      log,
      metrics,
      sweepMs: config.CALLOUT_SWEEP_INTERVAL,
    });
  } else {
    log.warn({}, "auth callout: no NATS_SYS_PASSWORD, no revocation (JWT expiry is the only bound)");
  }
  log.info({ stream: config.STREAM_NAME, ttlMs: config.CALLOUT_JWT_TTL, metricsPort: metricsServer?.port }, "auth callout: listening");
  return {
    service,
    revoker,
    metrics: metricsServer,
    async stop() {
      await metricsServer?.close();
      await revoker?.stop();
      await service.stop();
      await Promise.allSettled([nc.drain(), sys?.drain()]);
      await database.close().catch(() => {});
    },
  };
}
