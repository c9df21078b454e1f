/**
 * A nats-server of its own with the auth callout wired in (test-support's calloutWiring, as
 * `pnpm start` does it), the callout service running in-process against a given database URL,
 * and the admin and system users' connections. The shared test server stays callout-free.
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { calloutWiring, connectAdmin, startPrivateNats, type PrivateNats } from "@wb/test-support";
import type { RunningCallout } from "../src/callout/main.js";
import type { Revoker } from "../src/callout/revoker.js";
import { STREAM_SUBJECTS } from "../src/subjects.js";

export interface CalloutStack {
  nats: PrivateNats;
  stream: string;
  admin: NatsConnection;
  jsm: JetStreamManager;
  sys: NatsConnection;
  /** Starts (again) the callout service; a no-op while it runs. */
  startService(): Promise<void>;
  stopService(): Promise<void>;
  /** The running callout's revoker (announcements, recheck, safety sweep). */
  revoker(): Revoker | undefined;
  logs: { level: string; msg: string; obj: object }[];
  dispose(): Promise<void>;
}

export async function startCalloutStack(opts: {
  /** The callout's database (a proxy in front of it, for tests that take it down). */
  databaseUrl: string;
  stream?: string;
  jwtTtlSeconds?: number;
  sweepIntervalMs?: number;
  dbTimeoutMs?: number;
}): Promise<CalloutStack> {
  const stream = opts.stream ?? "WEBHOOKS";
  const wiring = calloutWiring(stream);
  const nats = await startPrivateNats({ callout: wiring.natsConfig });
  const logs: CalloutStack["logs"] = [];
  const keep = (level: string) => (obj: object, msg: string) => void logs.push({ level, msg, obj });
  const admin = await connectAdmin(nats, { inboxPrefix: "_ADMIN_INBOX" });
  const sys = await connect({ servers: nats.url, user: nats.users.sys.user, pass: nats.users.sys.password });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: stream, subjects: STREAM_SUBJECTS });

  const env: Record<string, string> = { CALLOUT_SERVER_NAMES: "webhook-broker" };
  if (opts.jwtTtlSeconds !== undefined) env.CALLOUT_JWT_TTL = `${opts.jwtTtlSeconds}s`;
  if (opts.sweepIntervalMs !== undefined) env.CALLOUT_SWEEP_INTERVAL = `${opts.sweepIntervalMs}ms`;
  if (opts.dbTimeoutMs !== undefined) env.CALLOUT_DB_TIMEOUT = `${opts.dbTimeoutMs}ms`;
  let running: RunningCallout | undefined;
  const startService = async () => {
    running ??= await wiring.start({ nats, databaseUrl: opts.databaseUrl, env, log: { info: keep("info"), warn: keep("warn"), error: keep("error") } });
  };
  const stopService = async () => {
    await running?.stop();
    running = undefined;
  };
  await startService();

  return {
    nats,
    stream,
    admin,
    jsm,
    sys,
    startService,
    stopService,
    revoker: () => running?.revoker,
    logs,
    async dispose() {
      await stopService();
      await Promise.allSettled([admin.close(), sys.close()]);
      await nats.dispose();
    },
  };
}
