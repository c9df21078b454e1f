import { describe, expect, it } from "vitest";
import { decodeEntry, durableOfJournalSubject, encodeEntry, isRepeat, journalSubject, SettledWindow } from "./settled.js";

describe("journal entries", () => {
  it("round-trips an entry", () => {
    const e = { op: "term" as const, created: "2026-12-01T02:49:39.123456789Z", seqs: [3, 41, 42] };
    expect(decodeEntry(encodeEntry(e))).toEqual(e);
  });

  it("refuses what is not an entry", () => {
    expect(decodeEntry("not json")).toBeUndefined();
    expect(decodeEntry("null")).toBeUndefined();
    expect(decodeEntry(JSON.stringify({ op: "nak", created: "x", seqs: [1] }))).toBeUndefined();
    expect(decodeEntry(JSON.stringify({ op: "ack", created: 1, seqs: [1] }))).toBeUndefined();
    expect(decodeEntry(JSON.stringify({ op: "ack", created: "x", seqs: [0] }))).toBeUndefined();
    expect(decodeEntry(JSON.stringify({ op: "ack", created: "x", seqs: [1.5] }))).toBeUndefined();
    expect(decodeEntry(JSON.stringify({ op: "ack", created: "x", seqs: "1" }))).toBeUndefined();
  });

  it("names a durable's subject under the stream's own root, and reads it back", () => {
    const s = journalSubject("WEBHOOKS", "u_ab_default");
    expect(s).toBe("wb_settled.WEBHOOKS.u_ab_default");
    expect(durableOfJournalSubject("WEBHOOKS", s)).toBe("u_ab_default");
    // Another broker's journal on the same server, and subjects that are not a durable's.
    expect(durableOfJournalSubject("OTHER", s)).toBeUndefined();
    expect(durableOfJournalSubject("WEBHOOKS", "wb_settled.WEBHOOKS.a.b")).toBeUndefined();
    expect(() => journalSubject("WEBHOOKS", "a.b")).toThrow(RangeError);
    expect(() => journalSubject("WEBHOOKS", "*")).toThrow(RangeError);
  });
});

describe("SettledWindow", () => {
  const created = "2026-12-01T00:00:00Z";

  it("finds a journaled delivery of that durable only, until the window ends", () => {
    const w = new SettledWindow();
    w.add("d1", { op: "ack", created, seqs: [5, 6] }, 1_000);
    w.add("d2", { op: "term", created, seqs: [7] }, 2_000);
    expect(w.lookup("d1", 5, 0)).toEqual({ op: "ack", created });
    expect(w.lookup("d2", 7, 0)).toEqual({ op: "term", created });
    // Positive controls above; the same seq under another durable, and one never settled, are not held.
    expect(w.lookup("d2", 5, 0)).toBeUndefined();
    expect(w.lookup("d1", 8, 0)).toBeUndefined();
    expect(w.size).toBe(3);
    expect(w.lookup("d1", 5, 999)).toBeDefined();
    expect(w.lookup("d1", 5, 1_000)).toBeUndefined();
    w.prune(1_000);
    expect(w.size).toBe(1);
    expect(w.lookup("d2", 7, 1_500)).toBeDefined();
  });

  it("keeps the later entry of one delivery, and forgets a durable on request", () => {
    const w = new SettledWindow();
    w.add("d", { op: "ack", created: "old", seqs: [1, 2] }, 1_000);
    w.add("d", { op: "term", created: "new", seqs: [2] }, 3_000);
    expect(w.size).toBe(2);
    expect(w.lookup("d", 2, 2_000)).toEqual({ op: "term", created: "new" });
    w.drop("d");
    expect(w.size).toBe(0);
    expect(w.lookup("d", 1, 0)).toBeUndefined();
  });
});

describe("isRepeat", () => {
  it("is a repeat only while the durable is the one that settled it", () => {
    expect(isRepeat({ op: "ack", created: "c1" }, "c1")).toBe(true);
    // Rewound (deleted and created again): its messages come back on purpose.
    expect(isRepeat({ op: "ack", created: "c1" }, "c2")).toBe(false);
    // Gone: nothing to settle.
    expect(isRepeat({ op: "ack", created: "c1" }, undefined)).toBe(false);
  });
});
