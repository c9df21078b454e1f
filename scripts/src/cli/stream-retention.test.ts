/**
 * Issue 16 #6: a shorter STREAM_MAX_AGE that would delete stored deliveries at once is refused
 * at start with one line naming the fix, and applied only on purpose with
 * `pnpm cli stream set-retention --confirm` (real nats-server).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { ConfigError, ensureStream, loadConfig, type Config } from "@wb/gateway";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { connectAdmin, startPrivateNats, type PrivateNats } from "@wb/test-support";
import { cliRunner } from "./testing.js";

const STREAM = `RET_${randomBytes(4).toString("hex").toUpperCase()}`;
let nats: PrivateNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let dataDir: string;
beforeAll(async () => {
  nats = await startPrivateNats();
  nc = await connectAdmin(nats);
  jsm = await jetstreamManager(nc);
  dataDir = await mkdtemp(join(tmpdir(), "wb-cli-ret-"));
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

afterEach(async () => {
  await jsm.streams.delete(STREAM).catch(() => {});
});

const { cli } = cliRunner(() => ({
  WB_DATA_DIR: dataDir,
  NATS_URL: nats.url,
  NATS_USER: nats.users.admin.user,
  NATS_PASSWORD: nats.users.admin.password,
  STREAM_NAME: STREAM,
  // Read by every command's context, unused by `stream`.
  DATABASE_URL: "postgres://unused",
  SECRET_KEY: randomBytes(32).toString("base64"),
}));
const config = (env: Record<string, string>): Config =>
  loadConfig({ NATS_URL: nats.url, DATABASE_URL: "postgres://unused", SECRET_KEY: randomBytes(32).toString("base64"), STREAM_NAME: STREAM, DUPLICATE_WINDOW: "1s", ...env });
const stored = async () => (await jsm.streams.info(STREAM)).state.messages;

it("refuses a shorter max age that would delete stored deliveries; set-retention shows it, and applies it with --confirm", async () => {
  await ensureStream(jsm, config({ STREAM_MAX_AGE: "1h" }));
  const js = jetstream(nc);
  for (let i = 0; i < 3; i++) await js.publish(`wh.e${i}.push.x`, "stored, unread");
  const sentAt = Date.now();
  await expect.poll(() => Date.now() - sentAt, { interval: 100, timeout: 5_000 }).toBeGreaterThan(1_200); // older than the new max age

  // A restart with STREAM_MAX_AGE=1s: one line naming the fix, and nothing is deleted.
  const refused = await ensureStream(jsm, config({ STREAM_MAX_AGE: "1s" })).catch((e) => e);
  expect(refused).toBeInstanceOf(ConfigError);
  expect(refused.issues).toHaveLength(1);
  expect(refused.issues[0]).toMatch(/STREAM_MAX_AGE=1s would delete 3 stored deliveries .*`pnpm cli stream set-retention --max-age 1s --confirm`/);
  expect(await stored()).toBe(3);
  expect((await jsm.streams.info(STREAM)).config.max_age).toBe(nanos(3_600_000));

  // Without --confirm the CLI says what it would delete and changes nothing.
  const dry = await cli(["stream", "set-retention", "--max-age", "1s"]);
  expect(dry.code, dry.stderr).toBe(1);
  expect(dry.stderr).toMatch(/would delete 3 stored deliveries.*--confirm/);
  expect(await stored()).toBe(3);

  const applied = await cli(["--json", "stream", "set-retention", "--max-age", "1s", "--confirm"]);
  expect(applied.code, applied.stderr).toBe(0);
  expect(JSON.parse(applied.stdout)).toMatchObject({ max_age: { from: "1h", to: "1s" }, deleted: 3, messages: 0 });
  // The gateway now starts: the stream already has what it asks for.
  await expect(ensureStream(jsm, config({ STREAM_MAX_AGE: "1s" }))).resolves.toBeUndefined();
});

it("a longer max age, or a shorter one that deletes nothing, is applied without confirmation", async () => {
  await ensureStream(jsm, config({ STREAM_MAX_AGE: "1h" }));
  await jetstream(nc).publish("wh.e.push.x", "fresh");
  await ensureStream(jsm, config({ STREAM_MAX_AGE: "30m" }));
  expect((await jsm.streams.info(STREAM)).config.max_age).toBe(nanos(1_800_000));
  expect(await stored()).toBe(1);
});
