/**
 * Vitest global setup: starts ONE nats-server and ONE PostgreSQL for the whole test run (in a
 * temporary directory), provides their coordinates to the tests (inject.ts) and tears
 * everything down afterwards. Tests that crash or restart NATS start their own server with
 * nats.ts (startPrivateNats), never the shared one.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureNatsServer, startNats, startPostgres, type NatsServer, type PostgresServer } from "@wb/stack";
import type {} from "./inject.js"; // ProvidedContext augmentation

const log = (msg: string) => console.error(`[global-setup] ${msg}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  const root = await mkdtemp(join(tmpdir(), "wb-test-"));
  // As root, PostgreSQL runs as user "postgres" and must be able to enter this directory.
  await chmod(root, 0o755);
  let nats: NatsServer | undefined;
  let postgres: PostgresServer | undefined;

  const teardown = async () => {
    const results = await Promise.allSettled([nats?.stop(), postgres?.stop()]);
    await rm(root, { recursive: true, force: true });
    for (const r of results) if (r.status === "rejected") log(`teardown: ${String(r.reason)}`);
  };

  try {
    const natsServerBin = await ensureNatsServer(log);
    const [natsResult, pgResult] = await Promise.allSettled([
      startNats({ binary: natsServerBin, dir: join(root, "nats"), monitoring: true }),
      startPostgres({ dir: join(root, "postgres") }),
    ]);
    if (natsResult.status === "fulfilled") nats = natsResult.value;
    if (pgResult.status === "fulfilled") postgres = pgResult.value;
    if (natsResult.status === "rejected") throw natsResult.reason;
    if (pgResult.status === "rejected") throw pgResult.reason;
    if (!nats || !postgres) throw new Error("unreachable");

    project.provide("natsUrl", nats.url);
    project.provide("natsMonitorUrl", nats.monitorUrl!);
    project.provide("natsGatewayUser", nats.users.gateway.user);
    project.provide("natsGatewayPassword", nats.users.gateway.password);
    project.provide("natsAdminUser", nats.users.admin.user);
    project.provide("natsAdminPassword", nats.users.admin.password);
    project.provide("natsSysUser", nats.users.sys.user);
    project.provide("natsSysPassword", nats.users.sys.password);
    project.provide("natsServerBin", natsServerBin);
    project.provide("databaseUrl", postgres.url);
    log(`nats ${nats.url} and postgres :${postgres.port} up in ${Math.round(performance.now() - started)} ms (${root})`);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
