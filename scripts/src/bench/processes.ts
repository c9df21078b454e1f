/** Node child processes of the bench (the gateway and the baselines), each with its own log (stdout and stderr). */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, createWriteStream, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { trackChild } from "@wb/stack";

/** The repository root (tsx is resolved from here). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface NodeChild {
  name: string;
  pid: number;
  process: ChildProcess;
  logPath: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  tail(): Promise<string>;
}

export interface SpawnNodeOptions {
  name: string;
  /** Script path relative to the repository root. */
  script: string;
  args?: string[];
  env: Record<string, string>;
  logPath: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

/** Starts `node [flags] --import tsx <script> [args]` with the given environment. */
export function spawnNode(opts: SpawnNodeOptions): NodeChild {
  const logFd = openSync(opts.logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...(opts.nodeFlags ?? []), "--import", "tsx", opts.script, ...(opts.args ?? [])], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...opts.env },
      stdio: ["ignore", "pipe", logFd],
    });
  } finally {
    closeSync(logFd);
  }
  trackChild(child);
  if (!child.pid) throw new Error(`could not start ${opts.name}`);
  // stdout stays a pipe (waitForAnnouncedPort reads it) and is always drained into the log:
  // unread, the pipe fills and the gateway's synchronous log writes block its event loop (that
  // once stalled a chaos run).
  child.stdout?.pipe(createWriteStream(opts.logPath, { flags: "a" }));
  const running = child;
  return {
    name: opts.name,
    pid: child.pid,
    process: child,
    logPath: opts.logPath,
    async stop(graceMs = 10_000) {
      if (running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((r) => running.once("exit", () => r()));
      running.kill("SIGTERM");
      const timer = setTimeout(() => running.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async tail() {
      return (await readFile(opts.logPath, "utf8").catch(() => "")).split("\n").slice(-20).join("\n");
    },
  };
}

/** Resolves with the port a baseline prints (`listening <port>`), or rejects if it dies first. Call it right after spawnNode. */
export function waitForAnnouncedPort(child: NodeChild, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${child.name} did not start within ${timeoutMs} ms`)), timeoutMs);
    child.process.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.process.once("exit", async (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${child.name} exited during start (code ${code}, signal ${signal})\n${await child.tail()}`));
    });
  });
}

/** Polls `url` until it answers 200, or rejects when the child exits or time runs out. */
export async function waitForHttpOk(child: NodeChild, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited during start\n${await child.tail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms (${last})\n${await child.tail()}`);
}
