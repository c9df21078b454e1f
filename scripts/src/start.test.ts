/**
 * `pnpm start` as a user runs it: real processes (nats-server, PostgreSQL, the gateway) in a
 * temporary data directory on free ports. Each trap of issue 13's "Start and stop" list is
 * reproduced here: a second start, a wrong SECRET_KEY, one-off values, signals, bad config.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@wb/stack";
import { postGithub } from "@wb/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

interface Started {
  proc: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

/** Spawns `pnpm start`'s process (or pnpm itself) with only the variables given. */
function spawnStart(env: Record<string, string>, via: "node" | "pnpm" = "node"): Started {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !["NATS_URL", "NATS_USER", "NATS_PASSWORD", "DATABASE_URL", "SECRET_KEY", "PORT", "LOG_LEVEL"].includes(k) && !k.startsWith("npm_")),
  );
  const [cmd, args] = via === "node" ? [process.execPath, ["--import", "tsx", "scripts/src/start.ts"]] : ["pnpm", ["start"]];
  const proc = spawn(cmd, args, { cwd: root, env: { ...base, LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  let out = "";
  proc.stderr!.on("data", (d) => (err += d));
  proc.stdout!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, stderr: () => err, stdout: () => out, exited };
}

/** The JSON log lines the process wrote on stdout (not a terminal: JSON). */
function logLines(s: Started): Record<string, unknown>[] {
  return s
    .stdout()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

/** Resolves once the gateway serves, or fails with what the process printed. */
async function serving(s: Started): Promise<string> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const m = /gateway (http:\/\/[^\s"]+)/.exec(s.stdout());
    if (m) return m[1]!;
    if (s.proc.exitCode !== null) throw new Error(`pnpm start exited ${s.proc.exitCode}:\n${s.stdout()}${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pnpm start did not serve in time:\n${s.stdout()}${s.stderr()}`);
}

/** Every process below `pid` (children, grandchildren...). */
function descendants(pid: number): number[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of rows) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** The processes whose parent is `pid`. */
function children(pid: number): number[] {
  return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The messages logged by a start that refused: exactly `n` fatal lines, no stack frame anywhere. */
function refusal(s: Started, n = 1): string {
  const fatal = logLines(s).filter((l) => l.level === "fatal");
  expect(fatal, s.stdout()).toHaveLength(n);
  expect(s.stdout() + s.stderr()).not.toMatch(/^\s+at |\\n\s+at /m);
  return fatal.map((l) => l.msg).join("\n");
}

let dir: string;
let ports: { WB_NATS_PORT: string; WB_PG_PORT: string; PORT: string; CALLOUT_METRICS_PORT: string };
const env = () => ({ WB_DATA_DIR: dir, ...ports });
const cleanup: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wb-start-"));
  ports = { WB_NATS_PORT: String(await freePort()), WB_PG_PORT: String(await freePort()), PORT: String(await freePort()), CALLOUT_METRICS_PORT: String(await freePort()) };
});
afterAll(async () => {
  const running = cleanup.filter((p) => p.exitCode === null && p.signalCode === null);
  for (const p of running) p.kill("SIGTERM");
  await Promise.all(running.map((p) => new Promise((r) => p.once("exit", r))));
  await rm(dir, { recursive: true, force: true });
});

describe.sequential("pnpm start", () => {
  let first: Started;
  let url: string;

  it("first start: the admin token and demo secret go once to a 0600 file, not to the output", async () => {
    first = spawnStart(env());
    cleanup.push(first.proc);
    url = await serving(first);
    const file = join(dir, "first-start.env");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = /export WB_TOKEN=(\S+)/.exec(readFileSync(file, "utf8"))?.[1];
    expect(token).toMatch(/^whb_/);
    // Pointed to on stderr, beside the log stream; the token itself is in neither.
    expect(first.stderr()).toContain(file);
    expect(first.stderr() + first.stdout()).not.toContain(token);
    // One log format for the start itself, the gateway and the callout: JSON lines (stdout is
    // not a terminal) with the same fields.
    const lines = logLines(first);
    for (const l of lines) expect(l).toMatchObject({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: expect.any(String), component: expect.any(String), msg: expect.any(String) });
    expect(new Set(lines.map((l) => l.component))).toEqual(new Set(["start", "gateway", "callout"]));
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    // The README's quick start: the demo endpoint takes a delivery signed with WB_SECRET.
    const secret = /export WB_SECRET=(\S+)/.exec(readFileSync(file, "utf8"))![1]!;
    expect((await postGithub(`${url}/webhook/demo/github`, { secret })).status).toBe(202);
    // As long as serving() waits: a first start runs initdb, which takes 15 s and more on a loaded machine.
  }, 120_000);

  it("a second start on the same data directory leaves the running stack alone and names its PID", async () => {
    // Its direct children (nats-server, the PostgreSQL postmaster): PostgreSQL's backends below
    // them come and go with connections and prove nothing.
    const before = children(first.proc.pid!);
    expect(before.length).toBeGreaterThanOrEqual(2);
    const second = spawnStart({ ...env(), PORT: String(await freePort()) });
    cleanup.push(second.proc);
    expect(await within(second.exited, 30_000, "the second start exits")).toBe(1);
    expect(refusal(second)).toContain(`another \`pnpm start\` (PID ${first.proc.pid}) is running on ${dir}; stop it first (kill -TERM ${first.proc.pid})`);
    expect(before.filter(alive)).toEqual(before);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it("a lost first-start file: `pnpm cli tokens create admin` (reading .data/broker.env) gives the admin a working token", async () => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !["NATS_URL", "NATS_USER", "NATS_PASSWORD", "DATABASE_URL", "SECRET_KEY"].includes(k) && !k.startsWith("npm_")));
    // Not execFileSync: a blocked event loop misses the server closing an idle keep-alive socket.
    const cli = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/src/cli/index.ts", "tokens", "create", "admin", "--name", "recovered"], {
      cwd: root,
      env: { ...base, WB_DATA_DIR: dir },
    });
    const token = cli.stdout.trim().split("\n").at(-1)!;
    expect(token).toMatch(/^whb_/);
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect((await me.json()).user).toMatchObject({ name: "admin", admin: true });
  });

  it("SIGINT to the started process stops every process it started", async () => {
    const children = descendants(first.proc.pid!);
    expect(children.length).toBeGreaterThanOrEqual(2); // nats-server and PostgreSQL at least
    process.kill(first.proc.pid!, "SIGINT");
    expect(await within(first.exited, 30_000, "pnpm start exits")).toBe(0);
    await expect.poll(() => children.filter(alive), { timeout: 15_000 }).toEqual([]);
    expect(existsSync(join(dir, "broker.lock"))).toBe(false);
  });

  it("a SECRET_KEY that opens none of the stored secrets refuses to start and is not saved", async () => {
    const saved = readFileSync(join(dir, "broker.env"), "utf8");
    const s = spawnStart({ ...env(), SECRET_KEY: randomBytes(32).toString("base64") });
    cleanup.push(s.proc);
    expect(await within(s.exited, 90_000, "the start exits")).toBe(1);
    expect(refusal(s)).toMatch(/SECRET_KEY: the SECRET_KEY from the environment opens none of the \d+ secrets stored in the database.*unset SECRET_KEY.*pnpm cli secret-key rotate/);
    expect(readFileSync(join(dir, "broker.env"), "utf8")).toBe(saved);
  });

  it("an unreachable DATABASE_URL: one line naming it, nothing started, nothing saved", async () => {
    const saved = readFileSync(join(dir, "broker.env"), "utf8");
    const s = spawnStart({ ...env(), DATABASE_URL: `postgres://wb:secret-pw@127.0.0.1:${await freePort()}/wb` });
    cleanup.push(s.proc);
    expect(await within(s.exited, 30_000, "the start exits")).toBe(1);
    const line = refusal(s);
    expect(line).toMatch(/DATABASE_URL: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/wb .*unset DATABASE_URL/);
    expect(line).not.toContain("secret-pw");
    expect(readFileSync(join(dir, "broker.env"), "utf8")).toBe(saved);
  });

  it("DATABASE_URL=foo is refused and never saved", async () => {
    const s = spawnStart({ ...env(), DATABASE_URL: "foo" });
    cleanup.push(s.proc);
    expect(await within(s.exited, 30_000, "the start exits")).toBe(1);
    expect(refusal(s)).toMatch(/DATABASE_URL: DATABASE_URL must be a postgres:\/\/ URL/);
    expect(readFileSync(join(dir, "broker.env"), "utf8")).not.toContain("foo");
  });

  it("a bad LOG_LEVEL: one plain line naming it (there is no logger yet), nothing started", async () => {
    const s = spawnStart({ ...env(), LOG_LEVEL: "loud" });
    cleanup.push(s.proc);
    expect(await within(s.exited, 30_000, "the start exits")).toBe(2);
    expect(s.stderr().trim()).toBe("LOG_LEVEL: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent");
    expect(s.stdout()).toBe("");
  });

  it("a bad NATS_URL: one line naming it", async () => {
    const s = spawnStart({ ...env(), NATS_URL: "http://127.0.0.1:4222" });
    cleanup.push(s.proc);
    expect(await within(s.exited, 30_000, "the start exits")).toBe(1);
    expect(refusal(s)).toMatch(/NATS_URL: 'http:\/\/127\.0\.0\.1:4222' is not a nats:\/\/ or tls:\/\/ URL/);
  });

  /** A start while another process listens on `port`: it must exit 1; returns what it logged. */
  async function startBesideListener(port: string): Promise<Started> {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(Number(port), "0.0.0.0", r));
    try {
      const s = spawnStart(env());
      cleanup.push(s.proc);
      expect(await within(s.exited, 30_000, "the start exits")).toBe(1);
      // The other process's listener is untouched.
      expect(taken.listening).toBe(true);
      return s;
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }

  it("a taken PORT: one line naming it, before nats-server or PostgreSQL start", async () => {
    const s = await startBesideListener(ports.PORT);
    expect(refusal(s)).toMatch(new RegExp(`PORT: port ${ports.PORT} is already in use by another process; stop it or set PORT to a free port`));
  });

  it("a taken CALLOUT_METRICS_PORT (another install's callout): one line naming it, before nats-server or PostgreSQL start", async () => {
    const s = await startBesideListener(ports.CALLOUT_METRICS_PORT);
    expect(refusal(s)).toBe(`CALLOUT_METRICS_PORT: port ${ports.CALLOUT_METRICS_PORT} is already in use by another process; stop it or set CALLOUT_METRICS_PORT to a free port (or off)`);
    expect(logLines(s).map((l) => l.msg)).not.toContainEqual(expect.stringMatching(/^(nats-server|PostgreSQL) /));
  });

  it("a CALLOUT_METRICS_PORT that is no port: one line naming it", async () => {
    const s = spawnStart({ ...env(), CALLOUT_METRICS_PORT: "nine" });
    cleanup.push(s.proc);
    expect(await within(s.exited, 30_000, "the start exits")).toBe(1);
    expect(refusal(s)).toBe('CALLOUT_METRICS_PORT: must be a port number (0-65535) or off, not "nine"');
  });

  it("SIGTERM to `pnpm start` (the pnpm process) stops everything too, with the saved key", async () => {
    const s = spawnStart(env(), "pnpm");
    cleanup.push(s.proc);
    await serving(s);
    const children = descendants(s.proc.pid!);
    expect(children.length).toBeGreaterThanOrEqual(3);
    process.kill(s.proc.pid!, "SIGTERM");
    await within(s.exited, 30_000, "pnpm exits");
    await expect.poll(() => children.filter(alive), { timeout: 20_000 }).toEqual([]);
  });
});
