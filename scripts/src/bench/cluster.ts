/**
 * Three local nats-servers with routes, for the bench's replicated (R3) rows: each the broker's
 * generated config (the same template, `sync_interval: always`) plus a `cluster {}` block.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort, renderNatsConfig, trackChild } from "@wb/stack";
import { randomBytes } from "node:crypto";

export interface BenchCluster {
  /** Every node's client URL, node 1 first. */
  urls: string[];
  pids: number[];
  users: { gateway: { user: string; password: string }; admin: { user: string; password: string } };
  stop(): Promise<void>;
}

export async function startBenchCluster(binary: string, dir: string, size = 3): Promise<BenchCluster> {
  const pw = () => randomBytes(18).toString("base64url");
  const users = { gateway: { user: "gateway", password: pw() }, admin: { user: "admin", password: pw() } };
  const sys = pw();
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
            setTimeout(() => c.kill("SIGKILL"), 5_000).unref();
          }),
      ),
    );
  };
  try {
    for (let i = 0; i < size; i++) {
      const nodeDir = join(dir, `n${i + 1}`);
      await mkdir(nodeDir, { recursive: true });
      const base = renderNatsConfig({
        port: ports[i]!,
        storeDir: join(nodeDir, "jetstream"),
        serverName: `bench-n${i + 1}`,
        gatewayPassword: users.gateway.password,
        adminPassword: users.admin.password,
        sysPassword: sys,
      });
      const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(", ");
      const config = `${base}\ncluster {\n  name: bench\n  listen: "127.0.0.1:${routePorts[i]}"\n  routes: [${routes}]\n}\n`;
      const configPath = join(nodeDir, "nats-server.conf");
      await writeFile(configPath, config, { mode: 0o600 });
      const logFd = openSync(join(nodeDir, "nats-server.log"), "a", 0o600);
      try {
        const child = spawn(binary, ["-c", configPath], { stdio: ["ignore", logFd, logFd] });
        trackChild(child);
        children.push(child);
      } finally {
        closeSync(logFd);
      }
    }
    const urls = ports.map((p) => `nats://127.0.0.1:${p}`);
    await waitForMetaLeader(urls, users.admin);
    return { urls, pids: children.map((c) => c.pid!), users, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** JetStream in a cluster answers only once the nodes have elected a meta leader. */
async function waitForMetaLeader(urls: string[], admin: { user: string; password: string }, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const nc = await connect({ servers: urls, user: admin.user, pass: admin.password, reconnect: false, timeout: 2000 });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        const name = `PROBE_${randomBytes(4).toString("hex")}`;
        await jsm.streams.add({ name, subjects: [`probe.${name}`], storage: StorageType.File, num_replicas: urls.length });
        await jsm.streams.delete(name);
        return;
      } finally {
        await nc.close().catch(() => {});
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`the ${urls.length}-node cluster had no JetStream meta leader after ${timeoutMs} ms (${last})`);
}
