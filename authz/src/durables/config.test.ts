import { AckPolicy, DeliverPolicy, type ConsumerConfig } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { definedConfig, deliverSettings, durableConfig, filtersOf, sameFilters, type DurableRow } from "./config.js";

const row = (over: Partial<DurableRow> = {}): DurableRow => ({
  durableName: "u_1_ci",
  startPolicy: "all",
  startTime: null,
  startSequence: null,
  maxDeliver: null,
  ...over,
});

describe("deliverSettings", () => {
  it("maps each start policy to JetStream's deliver policy and its option", () => {
    const t = new Date("2026-01-02T03:04:05.000Z");
    expect(deliverSettings({ policy: "all" })).toEqual({ deliver_policy: DeliverPolicy.All });
    expect(deliverSettings({ policy: "new" })).toEqual({ deliver_policy: DeliverPolicy.New });
    expect(deliverSettings({ policy: "time", time: t })).toEqual({ deliver_policy: DeliverPolicy.StartTime, opt_start_time: "2026-01-02T03:04:05.000Z" });
    expect(deliverSettings({ policy: "sequence", sequence: 12 })).toEqual({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 12 });
  });
});

describe("durableConfig", () => {
  it("takes name, start and max_deliver from the row, filters from the plan, ack wait from the caller", () => {
    const c = durableConfig(row({ startPolicy: "sequence", startSequence: 5, maxDeliver: 3 }), ["wh.b.>", "wh.a.>"], { ackWaitMs: 30_000 });
    expect(c).toMatchObject({
      durable_name: "u_1_ci",
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30_000_000_000,
      filter_subjects: ["wh.b.>", "wh.a.>"],
      max_deliver: 3,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: 5,
    });
  });

  it("leaves max_deliver unset (unlimited) when the row has none", () => {
    expect(durableConfig(row(), ["wh.a.>"], { ackWaitMs: 1_000 })).not.toHaveProperty("max_deliver");
  });
});

describe("definedConfig", () => {
  const current = {
    durable_name: "u_1_ci",
    ack_policy: AckPolicy.Explicit,
    ack_wait: 7_000_000_000,
    max_ack_pending: 99,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: 100,
    filter_subject: "wh.old.>",
    max_deliver: 9,
  } as ConsumerConfig;

  it("rebuilds start, filters and max_deliver from the definition and keeps the ack settings", () => {
    const c = definedConfig(current, row({ startPolicy: "new" }), ["wh.a.>"]);
    expect(c).toEqual({
      durable_name: "u_1_ci",
      ack_policy: AckPolicy.Explicit,
      ack_wait: 7_000_000_000,
      max_ack_pending: 99,
      deliver_policy: DeliverPolicy.New,
      filter_subjects: ["wh.a.>"],
      max_deliver: -1,
    });
  });

  it("lets a rewind's start override the row's", () => {
    const c = definedConfig(current, row({ maxDeliver: 4 }), ["wh.a.>"], { policy: "sequence", sequence: 3 });
    expect(c).toMatchObject({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 3, max_deliver: 4 });
  });
});

describe("filtersOf / sameFilters", () => {
  it("reads either filter form, sorted", () => {
    expect(filtersOf({ config: { filter_subjects: ["b", "a"] } as ConsumerConfig })).toEqual(["a", "b"]);
    expect(filtersOf({ config: { filter_subject: "x" } as ConsumerConfig })).toEqual(["x"]);
    expect(filtersOf({ config: {} as ConsumerConfig })).toEqual([]);
  });

  it("compares as sets of subjects", () => {
    expect(sameFilters(["a", "b"], ["b", "a"])).toBe(true);
    expect(sameFilters(["a"], ["a", "b"])).toBe(false);
  });
});
