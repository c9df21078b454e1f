/**
 * A nats-server of its own with the auth callout wired in, the callout service running
 * in-process against a given (migrated) database, and the service users' connections. Used by
 * the callout tests and the callout benchmark; the shared test server stays callout-free.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNats, type NatsServer } from "@wb/stack";
import type { Db } from "../src/db/client.js";
import { accessFingerprint, apiTokenChecker } from "../src/callout/credentials.js";
import { CurveKey, generateCalloutKeys, NodeKeyPair, Prefix } from "../src/callout/keys.js";
import { calloutNatsConfig, CALLOUT_USER } from "../src/callout/nats-config.js";
import { startRevocationSweep, type RevocationSweep } from "../src/callout/revoker.js";
import { startCalloutService, type CalloutLogger, type CalloutService } from "../src/callout/service.js";
import { STREAM_SUBJECTS } from "../src/subjects.js";

export interface CalloutStack {
  nats: NatsServer;
  stream: string;
  /** Password of user `callout` (account AUTH). */
  calloutPassword: string;
  admin: NatsConnection;
  jsm: JetStreamManager;
  sys: NatsConnection;
  /** Starts (again) the callout service; a no-op while it runs. */
  startService(): Promise<void>;
  stopService(): Promise<void>;
  service(): CalloutService | undefined;
  sweep(): RevocationSweep | undefined;
  logs: { level: string; msg: string; obj: object }[];
  dispose(): Promise<void>;
}

export async function startCalloutStack(opts: {
  natsServerBin: string;
  db: Db;
  stream?: string;
  jwtTtlSeconds?: number;
  sweepIntervalMs?: number;
  dbTimeoutMs?: number;
}): Promise<CalloutStack> {
  const stream = opts.stream ?? "WEBHOOKS";
  const dir = await mkdtemp(join(tmpdir(), "wb-callout-"));
  const keys = generateCalloutKeys();
  const calloutPassword = randomBytes(18).toString("base64url");
  const nats = await startNats({
    binary: opts.natsServerBin,
    dir,
    callout: calloutNatsConfig({ issuerPublicKey: keys.issuerPublicKey, xkeyPublicKey: keys.xkeyPublicKey, stream, calloutPassword }),
  });
  const logs: CalloutStack["logs"] = [];
  const log: CalloutLogger = {
    info: (obj, msg) => logs.push({ level: "info", msg, obj }),
    warn: (obj, msg) => logs.push({ level: "warn", msg, obj }),
    error: (obj, msg) => logs.push({ level: "error", msg, obj }),
  };
  const admin = await connect({ servers: nats.url, user: nats.users.admin.user, pass: nats.users.admin.password, inboxPrefix: "_ADMIN_INBOX" });
  const sys = await connect({ servers: nats.url, user: nats.users.sys.user, pass: nats.users.sys.password });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: stream, subjects: STREAM_SUBJECTS });

  let calloutNc: NatsConnection | undefined;
  let service: CalloutService | undefined;
  let sweep: RevocationSweep | undefined;
  const startService = async () => {
    if (service) return;
    calloutNc = await connect({ servers: nats.url, user: CALLOUT_USER, pass: calloutPassword, name: "wb-auth-callout" });
    service = startCalloutService({
      nc: calloutNc,
      db: opts.db,
      issuer: NodeKeyPair.fromSeed(Prefix.Account, keys.issuerSeed),
      xkey: CurveKey.fromSeed(keys.xkeySeed),
      stream,
      jwtTtlSeconds: opts.jwtTtlSeconds ?? 300,
      dbTimeoutMs: opts.dbTimeoutMs,
      serverNames: ["webhook-broker"],
      log,
    });
    sweep = startRevocationSweep({
      sys,
      check: apiTokenChecker(opts.db),
      fingerprint: (userId) => accessFingerprint(opts.db, userId),
      log,
      intervalMs: opts.sweepIntervalMs,
    });
  };
  const stopService = async () => {
    sweep?.stop();
    await service?.stop();
    await calloutNc?.close();
    service = undefined;
    sweep = undefined;
    calloutNc = undefined;
  };
  await startService();

  return {
    nats,
    stream,
    calloutPassword,
    admin,
    jsm,
    sys,
    startService,
    stopService,
    service: () => service,
    sweep: () => sweep,
    logs,
    async dispose() {
      await stopService();
      await Promise.allSettled([admin.close(), sys.close()]);
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
