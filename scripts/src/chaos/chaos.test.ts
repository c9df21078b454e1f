/**
 * The short fault run of the test suite (the full one is `pnpm chaos`): nats-server SIGKILLed
 * mid-ingest under a sender and a reader, with real processes (the gateway is a child process),
 * judged from the ledger. A redelivery after a 200 ack breaks a promise here too: the settlement
 * journal settles again what nats-server lost of the consumer's state in the kill.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testStack } from "@wb/test-support";
import { runScenario, SCENARIOS } from "./scenarios.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wb-chaos-test-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("nats-server killed mid-ingest: every 202 stored and read, nothing else 2xx, 503 + Retry-After while it is down", async () => {
  const stack = testStack();
  const s = SCENARIOS.find((x) => x.name === "nats-kill")!;
  const r = await runScenario(s, { natsBinary: stack.natsServerBin, dir, postgresUrl: stack.databaseUrl, rate: 20, short: true });
  console.log(`[chaos] ${JSON.stringify({ ...r.verdict, badAnswers: r.verdict.badAnswers.length, notes: r.notes })}`);
  expect(r.broken).toEqual([]);
  expect(r.verdict.accepted).toBeGreaterThan(0);
  // The outage was seen, and answered as promised.
  expect(r.verdict.outage.ingest.unavailable).toBeGreaterThan(0);
  expect(r.verdict.stored).toBeGreaterThanOrEqual(r.verdict.accepted);
}, 240_000);
