import { expect, it } from "vitest";
import { percentFull, purgeFloors } from "./purge.js";

const input = (readable: Record<string, string[]>, ackFloors: Record<string, number[]>, endpoints = [{ id: "priv", isPublic: false }, { id: "pub", isPublic: true }]) => ({
  endpoints,
  readable: new Map(Object.entries(readable).map(([u, ids]) => [u, new Set(ids)])),
  ackFloors: new Map(Object.entries(ackFloors)),
});

it("an endpoint's deliveries go up to the lowest ack floor of every durable of every reader", () => {
  expect(purgeFloors(input({ a: ["priv"], b: ["priv"] }, { a: [10, 7], b: [12] }))).toEqual(new Map([["priv", 7]]));
});

it("a reader of a private endpoint without a durable holds all of it; for a public one the readers with durables decide", () => {
  const floors = purgeFloors(input({ a: ["priv", "pub"], later: ["priv", "pub"] }, { a: [9] }));
  expect(floors.has("priv")).toBe(false);
  expect(floors.get("pub")).toBe(9);
});

it("nothing goes when nobody has acked anything or nobody may read the endpoint", () => {
  expect(purgeFloors(input({ a: ["priv"] }, { a: [0] })).size).toBe(0);
  expect(purgeFloors(input({}, {}, [{ id: "gone", isPublic: false }])).size).toBe(0);
});

it("how full: the tighter of bytes and count, 0 when unlimited", () => {
  const info = (bytes: number, max_bytes: number, messages: number, max_msgs: number) => ({ config: { max_bytes, max_msgs }, state: { bytes, messages } }) as never;
  expect(percentFull(info(50, 100, 1, 10))).toBe(50);
  expect(percentFull(info(50, 100, 9, 10))).toBe(90);
  expect(percentFull(info(50, -1, 9, -1))).toBe(0);
});
