import { expect, it } from "vitest";
import { broken, Ledger, verdict } from "./ledger.js";

const sent = (l: Ledger, deliveryId: string, status: number, seq?: number) => l.sent.push({ deliveryId, at: 0, status, seq, ms: 1 });

it("a 202 must be in the stream at the sequence it named, or have been read there (purged after the ack)", () => {
  const l = new Ledger();
  sent(l, "a", 202, 1);
  sent(l, "b", 202, 2);
  sent(l, "c", 202, 3);
  l.read(2, 1, "b");
  l.ackedAt.set(1, 5);
  const v = verdict(l, new Map([["a", 1]]));
  expect(v.acceptedNotStored).toBe(1); // c: neither stored nor ever read
  expect(broken(v)).toEqual(["1 deliveries answered 2xx are not stored"]);
});

it("a stored delivery never acked, a redelivery after a 200 ack, a 500 or a 503 without Retry-After break a promise", () => {
  const l = new Ledger();
  sent(l, "a", 202, 1);
  l.ackedAt.set(1, 10);
  l.read(1, 2, "a", 20);
  l.answer({ kind: "pull", at: 0, status: 500, retryAfter: null });
  l.answer({ kind: "ack", at: 0, status: 503, retryAfter: null });
  l.answer({ kind: "ingest", at: 0, status: 503, retryAfter: "2" });
  const v = verdict(l, new Map([["a", 1], ["x", 7]]));
  expect(v.unread).toBe(1);
  expect(v.redeliveredAfterAck).toBe(1);
  expect(v.badAnswers).toHaveLength(2);
  expect(v.outage.ingest).toEqual({ unavailable: 1, noAnswer: 0, retryAfter: ["2"] });
  expect(broken(v)).toHaveLength(3);
  expect(broken(v)).toContain("1 deliveries acked with 200 were delivered again");
});
