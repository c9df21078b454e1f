import { describe, expect, it } from "vitest";
import { none, noneOptionsSchema } from "./none.js";
import { input } from "./testing.js";

describe("none", () => {
  it("verifies nothing and says so", () => {
    expect(none.verify(input({ body: "anything", headers: { "X-Signature": "ignored" } }))).toEqual({ event: "", deliveryId: null, verified: false });
  });

  it("takes event and delivery id from the configured headers", () => {
    const options = { event_header: "X-Kind", delivery_header: "X-Id" };
    expect(none.verify(input({ headers: { "x-kind": "created", "X-Id": "7" }, options }))).toEqual({ event: "created", deliveryId: "7", verified: false });
    expect(none.verify(input({ headers: {}, options }))).toEqual({ event: "", deliveryId: null, verified: false });
  });

  it("validates its options", () => {
    expect(noneOptionsSchema.safeParse({ event_header: "not a header" }).success).toBe(false);
    expect(noneOptionsSchema.safeParse({ header: "X-Sig" }).success).toBe(false);
  });
});
