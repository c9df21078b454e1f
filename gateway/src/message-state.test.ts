import { endpointGrantSubject, redriveFilters, redriveSubject } from "@wb/authz";
import { describe, expect, it } from "vitest";
import { deliveryState, mayReadStored, type DurableFacts } from "./message-state.js";

const alice = "0b5c6d2e-8f1a-4c3b-9d2e-1f0a2b3c4d5e";
const bob = "7e6d5c4b-3a29-4180-8f7e-6d5c4b3a2918";
const ep = "11111111-2222-4333-8444-555555555555";
const other = "99999999-8888-4777-8666-555555555555";
const delivery = (endpoint: string) => `wh.${endpoint.replace(/-/g, "")}.push.repo`;
const aliceDurable = `u_${alice.replace(/-/g, "")}_default`;

describe("mayReadStored", () => {
  it("a delivery: readable when its endpoint is", () => {
    expect(mayReadStored(delivery(ep), alice, [ep])).toBe(true);
    expect(mayReadStored(delivery(ep), alice, [other])).toBe(false);
  });
  it("a redrive copy: only to the owner of its durable, and only while he may read its endpoint", () => {
    const copy = redriveSubject(aliceDurable, ep);
    expect(mayReadStored(copy, alice, [ep])).toBe(true);
    expect(mayReadStored(copy, bob, [ep])).toBe(false);
    expect(mayReadStored(copy, alice, [other])).toBe(false);
    // A user id that is a prefix of another's does not match: the durable name ends the id with "_".
    expect(mayReadStored(redriveSubject(`u_${alice.replace(/-/g, "")}x_default`, ep), alice, [ep])).toBe(false);
  });
  it("anything else is not readable (and does not throw)", () => {
    expect(mayReadStored("wh.none.none", alice, [ep])).toBe(false);
    expect(mayReadStored("other.subject", alice, [ep])).toBe(false);
  });
});

describe("deliveryState", () => {
  const filters = [endpointGrantSubject(ep)];
  const facts = (o: Partial<DurableFacts> = {}): DurableFacts => ({ filterSubjects: [...filters, ...redriveFilters(aliceDurable, filters)], deliveredSeq: 10, ackFloorSeq: 5, numAckPending: 2, numRedelivered: 0, ...o });
  const s = delivery(ep);

  it("not delivered yet: count 0", () => {
    expect(deliveryState(11, s, facts())).toEqual({ state: "not_delivered", delivery_count: 0 });
  });
  it("at or below the ack floor, or nothing pending: acked, count unknown", () => {
    expect(deliveryState(5, s, facts())).toEqual({ state: "acked", delivery_count: null });
    expect(deliveryState(8, s, facts({ numAckPending: 0 }))).toEqual({ state: "acked", delivery_count: null });
  });
  it("awaiting its ack: once when no redelivery is pending, else unknown", () => {
    expect(deliveryState(8, s, facts())).toEqual({ state: "awaiting_ack", delivery_count: 1 });
    expect(deliveryState(8, s, facts({ numRedelivered: 1 }))).toEqual({ state: "awaiting_ack", delivery_count: null });
  });
  it("a dead letter: its recorded count, whatever JetStream says", () => {
    expect(deliveryState(8, s, facts(), { deliveryCount: 5 })).toEqual({ state: "dead_letter", delivery_count: 5 });
  });
  it("a subject the durable does not select: not selected; no durable yet: not delivered", () => {
    expect(deliveryState(8, delivery(other), facts())).toEqual({ state: "not_selected", delivery_count: 0 });
    expect(deliveryState(8, s, undefined)).toEqual({ state: "not_delivered", delivery_count: 0 });
  });
  it("a redrive copy on the durable's own redrive subject is selected", () => {
    expect(deliveryState(12, redriveSubject(aliceDurable, ep), facts())).toEqual({ state: "not_delivered", delivery_count: 0 });
  });
});
