import { describe, expect, it } from "vitest";
import { topByLag } from "./consumer-lag.js";

describe("topByLag", () => {
  it("keeps the N durables with the most pending + ack pending, largest first, ties by name", () => {
    const s = (durable: string, pending: number, ackPending: number) => ({ durable, pending, ackPending });
    const all = [s("a", 0, 0), s("b", 10, 0), s("c", 3, 8), s("d", 0, 10), s("e", 1, 0)];
    expect(topByLag(all, 3).map((x) => x.durable)).toEqual(["c", "b", "d"]);
    expect(topByLag(all, 0)).toEqual([]);
    expect(topByLag(all, 10)).toHaveLength(5);
  });
});
