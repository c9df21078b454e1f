/**
 * `consumers` and `stream` against a whole test broker (its own nats-server, database and
 * gateway), run in-process through runCli(), with a random stream name.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consumerPlan, endpointGrantSubject, listConsumers, redriveSubject } from "@wb/authz";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker, ack, callApi, pull, deliverGithub, messageIds } from "@wb/test-support";
import { cliRunner } from "./testing.js";

let broker: TestBroker;
let dataDir: string;
let env: Record<string, string>;
const STREAM = `CLI_${randomBytes(4).toString("hex").toUpperCase()}`;

beforeAll(async () => {
  broker = await startTestBroker({ STREAM_NAME: STREAM, ACK_WAIT: "30s" });
  dataDir = await mkdtemp(join(tmpdir(), "wb-cli-js-"));
  env = {
    WB_DATA_DIR: dataDir,
    DATABASE_URL: broker.config.DATABASE_URL,
    SECRET_KEY: broker.config.SECRET_KEY.toString("base64"),
    NATS_URL: broker.nats.url,
    NATS_USER: broker.nats.users.admin.user,
    NATS_PASSWORD: broker.nats.users.admin.password,
    STREAM_NAME: STREAM,
  };
});
afterAll(async () => {
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const { cli, cliJson } = cliRunner(() => env);

const deliver = (ep: { path: string; secret: string }) => deliverGithub(broker.url, ep);

const ids = messageIds;

describe("stream info", () => {
  it("shows messages, bytes, first/last and retention", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const a = await deliver(ep);
    const b = await deliver(ep);
    const info = await cliJson(["stream", "info"]);
    expect(info).toMatchObject({
      name: STREAM,
      subjects: ["wh.>"],
      first_time: expect.any(String),
      last_time: expect.any(String),
      retention: { policy: "limits", max_age: "30d", max_bytes: 10 * 1024 ** 3, discard: "new", duplicate_window: "24h", storage: "file", replicas: 1 },
    });
    expect(info.messages).toBeGreaterThanOrEqual(2);
    expect(info.bytes).toBeGreaterThan(0);
    expect(info.percent_full).toBeGreaterThanOrEqual(0);
    expect(info.percent_full).toBeLessThan(1); // a few KB of 10 GiB
    expect(info.first_seq).toBeLessThanOrEqual(a);
    expect(info.last_seq).toBeGreaterThanOrEqual(b);

    const table = await cli(["stream", "info"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^stream: +CLI_/m);
    expect(table.stdout).toMatch(/^max_bytes: +10737418240 \(10 GiB\)$/m);
    expect(table.stdout).toMatch(/^discard: +new \(when full/m);
    expect(table.stdout).toMatch(/^full: +0(\.\d)?%$/m);
  });

  it("says so when the stream does not exist (exit 1) or NATS is not configured (exit 2)", async () => {
    const missing = await cli(["stream", "info"], { STREAM_NAME: "NOPE" });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: stream NOPE not found/);
    const noNats = await cli(["stream", "info"], { NATS_URL: undefined });
    expect(noNats.code).toBe(2);
    expect(noNats.stderr).toContain("NATS_URL is required");
  });
});

describe("consumers", () => {
  it("lists consumers with their counters, mapped back to users", async () => {
    const alice = await broker.user();
    const bob = await broker.user();
    const ep = await broker.endpoint({ userId: alice.id });
    await deliver(ep);
    await deliver(ep);
    expect(ids((await pull(broker.url, alice.token, "wait=2s")).body)).toHaveLength(2);
    expect((await callApi(broker.url, bob.token, "GET", "/me")).status).toBe(200); // creates his default durable

    const { consumers } = await cliJson(["consumers", "list"]);
    const mine = consumers.find((c: any) => c.user === alice.name);
    expect(mine).toMatchObject({ user_id: alice.id, consumer: "default", pending: 0, ack_pending: 2, redelivered: 0, last_active: expect.any(String), paused: false });
    expect(consumers.find((c: any) => c.user === bob.name)).toMatchObject({ ack_pending: 0 });

    const only = await cliJson(["consumers", "list", "--user", alice.name]);
    expect(only.consumers.map((c: any) => c.user)).toEqual([alice.name]);

    const table = await cli(["consumers", "list", "--user", alice.name]);
    expect(table.stdout).toMatch(/^USER\s+CONSUMER\s+PENDING\s+ACK_PENDING\s+REDELIVERED\s+LAST_ACTIVE\s+PAUSED$/m);
    expect(table.stdout).toMatch(new RegExp(`^${alice.name}\\s+default\\s+0\\s+2\\s+0\\s+\\d{4}-`, "m"));

    const info = await cliJson(["consumers", "info", alice.name]);
    expect(info).toMatchObject({ durable: mine.durable, ack_pending: 2, deliver_policy: "all", filter_subjects: [endpointGrantSubject(ep.id), redriveSubject(mine.durable, ep.id)].sort() });
    expect((await cli(["consumers", "info", alice.name])).stdout).toMatch(/^ack_pending: +2$/m);
  });

  it("rewinds to a sequence or a time by recreating the durable, keeping its filters", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sent = [await deliver(ep), await deliver(ep), await deliver(ep)];
    const first = await pull(broker.url, u.token, "wait=2s");
    expect(ids(first.body)).toEqual(sent);
    await ack(broker.url, u.token, sent);
    const before = await cliJson(["consumers", "info", u.name]);

    const rewound = await cliJson(["consumers", "rewind", u.name, "--to-seq", String(sent[1])]);
    expect(rewound).toMatchObject({ deliver_policy: "by_start_sequence", opt_start_seq: sent[1], pending: 2, ack_pending: 0, filter_subjects: before.filter_subjects });
    // Already acked messages come again, from the chosen sequence.
    expect(ids((await pull(broker.url, u.token, "wait=2s")).body)).toEqual(sent.slice(1));

    const byTime = await cli(["consumers", "rewind", u.name, "default", "--to-time", new Date(Date.now() - 3_600_000).toISOString()]);
    expect(byTime.code, byTime.stderr).toBe(0);
    expect(byTime.stdout).toMatch(/^rewound .*default to \d{4}-.*: 3 message\(s\) to deliver$/m);
    expect(ids((await pull(broker.url, u.token, "wait=2s")).body)).toEqual(sent);

    // recreate rebuilds from the definition: the default consumer starts at `all`, not at the rewind's start.
    const again = await cliJson(["consumers", "recreate", u.name]);
    expect(again).toMatchObject({ deliver_policy: "all", pending: 3, ack_pending: 0, filter_subjects: before.filter_subjects });
  });

  it("rewind and recreate take start and max_deliver from the consumers row and filters from consumerPlan", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const sent = [await deliver(ep), await deliver(ep), await deliver(ep)];
    const res = await fetch(`${broker.url}/api/v1/consumers`, {
      method: "POST",
      headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", start: { sequence: sent[1] }, max_deliver: 3 }),
    });
    expect(res.status, await res.text()).toBe(201);
    const sub = await cli(["subscriptions", "create", u.name, `/webhook/${ep.path}/**`, "--consumer", "ci", "--event", "push"]);
    expect(sub.code, sub.stderr).toBe(0);
    const plan = await consumerPlan(broker.database.db, (await listConsumers(broker.database.db, u.id)).find((c) => c.name === "ci")!);
    expect(plan.filters).not.toEqual([endpointGrantSubject(ep.id)]);

    const rewound = await cliJson(["consumers", "rewind", u.name, "ci", "--to-seq", String(sent[2])]);
    expect(rewound).toMatchObject({ deliver_policy: "by_start_sequence", opt_start_seq: sent[2], max_deliver: 3, filter_subjects: plan.filters, pending: 1 });

    const recreated = await cliJson(["consumers", "recreate", u.name, "ci"]);
    expect(recreated).toMatchObject({ deliver_policy: "by_start_sequence", opt_start_seq: sent[1], max_deliver: 3, filter_subjects: plan.filters, pending: 2 });

    // A durable without a definition (no row) is refused, not guessed.
    const missing = await cli(["consumers", "recreate", u.name, "laptop"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: ${u.name} has no consumer laptop\n`);
  });

  it("deletes a durable; the gateway creates it again on the next pull", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const id = await deliver(ep);
    await pull(broker.url, u.token, "wait=2s");
    expect(await cliJson(["consumers", "delete", u.name])).toMatchObject({ user: u.name, consumer: "default", deleted: true });
    const gone = await cli(["consumers", "info", u.name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`error: ${u.name} has no consumer default (JetStream durable u_${u.id.replace(/-/g, "")}_default)\n`);
    expect((await cli(["consumers", "delete", u.name])).code).toBe(1);
    // The gateway still trusts the durable it checked a moment ago; its pull finds it gone
    // (isConsumerGone) and creates it again at once.
    const next = await pull(broker.url, u.token, "wait=2s");
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(ids(next.body)).toEqual([id]);
    expect((await cli(["consumers", "info", u.name])).code).toBe(0);
  });

  it("pauses and resumes a consumer (nats-server 2.11+; the suite runs on >= 2.12)", async () => {
    const u = await broker.user();
    expect((await callApi(broker.url, u.token, "GET", "/me")).status).toBe(200); // creates his default durable
    expect((await cliJson(["consumers", "info", u.name])).paused).toBeFalsy();
    const paused = await cli(["--json", "consumers", "pause", u.name, "--until", new Date(Date.now() + 60_000).toISOString()]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ paused: true });
    expect((await cliJson(["consumers", "info", u.name])).paused).toBe(true);
    expect(await cliJson(["consumers", "resume", u.name])).toMatchObject({ paused: false });
    expect((await cliJson(["consumers", "info", u.name])).paused).toBeFalsy();
  });

  it("exits 1 for unknown users and consumers, 2 for usage errors", async () => {
    const u = await broker.user();
    const cases: [string[], number, RegExp][] = [
      [["consumers", "info", "nobody-here"], 1, /user nobody-here not found/],
      [["consumers", "info", u.name, "laptop"], 1, /has no consumer laptop/],
      [["consumers", "info", u.name, "Bad Name"], 2, /consumer names are/],
      [["consumers", "rewind", u.name], 2, /--to-seq <n> or --to-time <iso>/],
      [["consumers", "rewind", u.name, "--to-seq", "abc"], 2, /--to-seq: expected a positive integer/],
      [["consumers", "rewind", u.name, "--to-time", "yesterday"], 2, /--to-time: not an ISO 8601 time/],
      [["consumers", "rewind", u.name, "--to-seq", "1", "--to-time", "2026-01-01T00:00:00Z"], 2, /cannot be used with/],
      [["consumers", "pause", u.name, "--until", "soon"], 2, /--until: not an ISO 8601 time/],
      [["consumers", "list", "--user", "nobody-here"], 1, /user nobody-here not found/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stderr).toMatch(message);
    }
  });

  it("has --help on every command, without configuration", async () => {
    const commands = [
      ["consumers"], ["consumers", "list"], ["consumers", "info"], ["consumers", "rewind"], ["consumers", "recreate"],
      ["consumers", "delete"], ["consumers", "pause"], ["consumers", "resume"], ["stream"], ["stream", "info"],
    ];
    for (const path of commands) {
      const r = await cli([...path, "--help"], { DATABASE_URL: undefined, SECRET_KEY: undefined, NATS_URL: undefined });
      expect(r.code, path.join(" ")).toBe(0);
      expect(r.stdout).toContain(`Usage: pnpm cli ${path.join(" ")}`);
    }
    expect((await cli(["consumers", "rewind", "--help"])).stdout).toContain("JetStream cannot move a durable consumer's position");
    expect((await cli(["consumers", "pause", "--help"])).stdout).toContain("nats-server 2.11");
  });
});

describe("dead-letters redrive", () => {
  it("redrives one dead letter once (recorded as cli), then a time range; refuses bad usage", async () => {
    const u = await broker.user();
    const ep = await broker.endpoint({ userId: u.id });
    const from = new Date(Date.now() - 1_000).toISOString();
    const sent = [await deliver(ep), await deliver(ep)];
    expect(ids((await pull(broker.url, u.token, "wait=2s&limit=10")).body)).toEqual(sent);
    expect((await callApi(broker.url, u.token, "POST", "/messages/term", { message_ids: sent })).status).toBe(200);
    await expect.poll(async () => (await cliJson(["dead-letters", "list", u.name])).dead_letters.length, { timeout: 5_000, interval: 100 }).toBe(2);

    const one = await cliJson(["dead-letters", "redrive", u.name, String(sent[0])]);
    expect(one).toMatchObject({ consumer: "default", id: sent[0], redriven_by: "cli", redrive_id: expect.any(Number) });
    const twice = await cli(["dead-letters", "redrive", u.name, String(sent[0])]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/redriven already .* by cli/);
    expect((await cli(["dead-letters", "list", u.name])).stdout).toContain(`by cli as ${one.redrive_id}`);

    const bulk = await cli(["dead-letters", "redrive", u.name, "--from", from]);
    expect(bulk.code, bulk.stderr).toBe(0);
    expect(bulk.stdout).toMatch(new RegExp(`dead letter ${sent[1]}: delivered again as \\d+\n1 redriven\n$`));
    const copies = (await pull(broker.url, u.token, "wait=2s&limit=10")).body.messages;
    expect(copies.map((m: any) => m.redrive_of).sort()).toEqual(sent);

    for (const args of [[u.name], [u.name, "1", "--from", from], [u.name, "--to", from], [u.name, "x"], [u.name, "--from", "yesterday"]]) {
      expect((await cli(["dead-letters", "redrive", ...args])).code, args.join(" ")).toBe(2);
    }
    const noConsumer = await cli(["dead-letters", "redrive", u.name, String(sent[1]), "--consumer", "laptop"]);
    expect(noConsumer.code).toBe(1);
    expect(noConsumer.stderr).toContain(`${u.name} has no consumer laptop`);
  });
});
