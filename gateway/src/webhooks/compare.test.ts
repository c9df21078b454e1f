import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { safeEqualBytes, safeEqualMac, safeEqualText } from "./compare.js";

describe("constant-time comparisons", () => {
  const mac = createHmac("sha256", "k").update("body").digest();

  it("safeEqualMac accepts the same MAC and refuses one changed byte or another length", () => {
    expect(safeEqualMac(mac, Buffer.from(mac))).toBe(true);
    const changed = Buffer.from(mac);
    changed[31]! ^= 1;
    expect(safeEqualMac(mac, changed)).toBe(false);
    expect(safeEqualMac(mac, mac.subarray(0, 31))).toBe(false);
    expect(safeEqualMac(mac, Buffer.concat([mac, Buffer.from([0])]))).toBe(false);
  });

  it("safeEqualBytes and safeEqualText compare values of any length", () => {
    expect(safeEqualBytes(mac, Buffer.from(mac))).toBe(true);
    expect(safeEqualBytes(mac, mac.subarray(1))).toBe(false);
    expect(safeEqualText("secret", "secret")).toBe(true);
    expect(safeEqualText("secret", "secret2")).toBe(false);
  });
});
