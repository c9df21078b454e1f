/**
 * `pnpm start` checks its configuration before it starts anything: every problem is one line
 * naming the variable and the fix, and nothing is left half-started behind it.
 */
import { existsSync, readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { CalloutMetricsEnv } from "@wb/authz";
import { ConfigError, loadConfig } from "@wb/gateway";
import { isPortFree } from "@wb/stack";
import { describeDatabase } from "./cli/context.js";

const TIMEOUT_MS = 3_000;

/** A pid file's process is alive: a server this data directory left behind (it is replaced). */
function leftBehind(pidFile: string): boolean {
  if (!existsSync(pidFile)) return false;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8").split("\n")[0]!.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function portProblem(variable: string, port: number, host: string, opts: { ownPidFile?: string; orElse?: string } = {}): Promise<string | undefined> {
  if (port === 0 || (await isPortFree(port, host))) return undefined;
  if (opts.ownPidFile && leftBehind(opts.ownPidFile)) return undefined;
  return `${variable}: port ${port} is already in use by another process; stop it or set ${variable} to a free port${opts.orElse ?? ""}`;
}

/** Host and port of each comma-separated NATS URL, or a problem line. */
export function parseNatsUrls(value: string): { host: string; port: number }[] | string {
  const out: { host: string; port: number }[] = [];
  for (const raw of value.split(",").map((s) => s.trim())) {
    let url: URL;
    try {
      url = new URL(raw.includes("://") ? raw : `nats://${raw}`);
    } catch {
      return `NATS_URL: '${raw}' is not a URL; use e.g. nats://127.0.0.1:4222 (several separated by commas)`;
    }
    if (!["nats:", "tls:"].includes(url.protocol) || !url.hostname) {
      return `NATS_URL: '${url.protocol}//${url.host}' is not a nats:// or tls:// URL; use e.g. nats://127.0.0.1:4222`;
    }
    out.push({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 4222) });
  }
  return out;
}

function reachable(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, timeout: TIMEOUT_MS });
    const done = (problem?: string) => {
      socket.destroy();
      resolve(problem);
    };
    socket.once("connect", () => done());
    socket.once("timeout", () => done("timed out"));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

async function databaseProblem(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.message || e.code || String(err);
    return `DATABASE_URL: cannot connect to PostgreSQL at ${describeDatabase(url)} (${reason}); start it there, fix the URL's host, user, password or database, or unset DATABASE_URL to use the embedded one`;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface PreflightInput {
  env: Record<string, string | undefined>;
  dataDir: string;
  secretKey: string;
  natsPort: number;
  pgPort: number;
}

/** Every configuration problem as one line each; empty when `pnpm start` may go ahead. */
export async function preflight(input: PreflightInput): Promise<string[]> {
  const { env, dataDir } = input;
  const problems: string[] = [];
  let host = "0.0.0.0";
  let port = 8080;
  try {
    // The URLs we will fill in ourselves get placeholders: they are checked below.
    const config = loadConfig({
      ...env,
      NATS_URL: env.NATS_URL ?? `nats://127.0.0.1:${input.natsPort}`,
      DATABASE_URL: env.DATABASE_URL ?? `postgres://127.0.0.1:${input.pgPort}/postgres`,
      SECRET_KEY: input.secretKey,
    });
    host = config.HOST;
    port = config.PORT;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.issues);
  }
  const portChecks = [portProblem("PORT", port, host)];
  if (!env.NATS_URL) {
    portChecks.push(portProblem("WB_NATS_PORT", input.natsPort, "127.0.0.1", { ownPidFile: join(dataDir, "nats", "nats-server.pid") }));
    // The auth callout runs (and serves its metrics) only beside the local nats-server.
    const metrics = CalloutMetricsEnv.safeParse(env);
    if (!metrics.success) problems.push(...metrics.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
    else if (metrics.data.CALLOUT_METRICS_PORT !== "off") {
      portChecks.push(portProblem("CALLOUT_METRICS_PORT", metrics.data.CALLOUT_METRICS_PORT, metrics.data.CALLOUT_METRICS_HOST, { orElse: " (or off)" }));
    }
  }
  if (!env.DATABASE_URL) portChecks.push(portProblem("WB_PG_PORT", input.pgPort, "127.0.0.1", { ownPidFile: join(dataDir, "postgres", "data", "postmaster.pid") }));
  for (const p of await Promise.all(portChecks)) if (p) problems.push(p);

  if (env.NATS_URL) {
    const urls = parseNatsUrls(env.NATS_URL);
    if (typeof urls === "string") problems.push(urls);
    else {
      const failures = await Promise.all(urls.map(async (u) => ({ ...u, problem: await reachable(u.host, u.port) })));
      if (failures.every((f) => f.problem)) {
        const first = failures[0]!;
        problems.push(`NATS_URL: cannot reach nats-server at ${first.host}:${first.port} (${first.problem}); start it there, fix NATS_URL, or unset NATS_URL to use the local one`);
      }
    }
  }
  if (env.DATABASE_URL && /^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
    const p = await databaseProblem(env.DATABASE_URL);
    if (p) problems.push(p);
  }
  return problems;
}
