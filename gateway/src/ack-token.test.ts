import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AckTokens } from "./ack-token.js";

const key = randomBytes(32);
const tokens = new AckTokens(key);
const durable = "u_0123456789abcdef0123456789abcdef_default";

describe("AckTokens", () => {
  it("opens what it issued, for the same durable, to the same sequence", () => {
    for (const seq of [1, 42, 9_007_199_254_740_991]) {
      const t = tokens.issue(durable, seq);
      expect(t).toMatch(/^[1-9]\d*\.[A-Za-z0-9_-]{22}$/);
      expect(tokens.open(durable, t)).toEqual({ seq, deliveryCount: 1 });
    }
  });

  it("is stateless: another instance with the same key (another gateway, a restart) opens it", () => {
    expect(new AckTokens(Buffer.from(key)).open(durable, tokens.issue(durable, 7))).toEqual({ seq: 7, deliveryCount: 1 });
  });

  it("keeps its MAC: HMAC-SHA256 under the HKDF-derived key, so handles issued by earlier versions still open", () => {
    const derived = Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), "webhook-broker ack token v1", 32));
    const mac = (input: string) => createHmac("sha256", derived).update(input).digest().subarray(0, 16).toString("base64url");
    expect(tokens.issue(durable, 7)).toBe(`7.${mac(`${durable}:7`)}`);
    expect(tokens.issue(durable, 7, 3)).toBe(`7.3.${mac(`${durable}:7:3`)}`);
  });

  it("refuses a token of another durable, or made with another key", () => {
    const t = tokens.issue(durable, 7);
    expect(tokens.open("u_0123456789abcdef0123456789abcdef_ci", t)).toBeUndefined();
    expect(new AckTokens(randomBytes(32)).open(durable, t)).toBeUndefined();
  });

  it("refuses tampering: another sequence under a valid MAC, a changed MAC, a truncated MAC", () => {
    const t = tokens.issue(durable, 7);
    const [seq, mac] = t.split(".") as [string, string];
    expect(tokens.open(durable, `8.${mac}`)).toBeUndefined();
    const flipped = mac.slice(0, -2) + (mac[20] === "A" ? "B" : "A") + mac.slice(-1);
    expect(tokens.open(durable, `${seq}.${flipped}`)).toBeUndefined();
    expect(tokens.open(durable, `${seq}.${mac.slice(0, -1)}`)).toBeUndefined();
    expect(tokens.open(durable, `${seq}.${mac}A`)).toBeUndefined();
  });

  it("carries a redelivery's count, bound by the MAC", () => {
    const t = tokens.issue(durable, 7, 3);
    expect(t).toMatch(/^7\.3\.[A-Za-z0-9_-]{22}$/);
    expect(tokens.open(durable, t)).toEqual({ seq: 7, deliveryCount: 3 });
    const mac = t.split(".")[2]!;
    expect(tokens.open(durable, `7.4.${mac}`)).toBeUndefined();
    expect(tokens.open(durable, `7.${mac}`)).toBeUndefined();
    // Count 1 has one spelling only: the original two-part form.
    expect(tokens.issue(durable, 7, 1)).toBe(tokens.issue(durable, 7));
    expect(tokens.open(durable, `7.1.${tokens.issue(durable, 7).split(".")[1]}`)).toBeUndefined();
  });

  it("refuses malformed tokens without throwing", () => {
    const mac = tokens.issue(durable, 7).split(".")[1]!;
    for (const bad of ["", "7", `.${mac}`, `0.${mac}`, `07.${mac}`, `-7.${mac}`, `7.5.${mac}`, `1${"0".repeat(16)}.${mac}`, `7.${mac.replace(/./, "+")}`, `7 .${mac}`, `7.${mac}\n`]) {
      expect(tokens.open(durable, bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});
