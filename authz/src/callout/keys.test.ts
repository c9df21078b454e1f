import { decode, encodeUser } from "@nats-io/jwt";
import { createAccount, createCurve, fromPublic, fromSeed, fromCurveSeed } from "@nats-io/nkeys";
import { describe, expect, it } from "vitest";
import { CurveKey, decodeSeed, generateCalloutKeys, NodeKeyPair, Prefix, publicKeysOf, verifyNkeySignature } from "./keys.js";

const te = new TextEncoder();
const td = new TextDecoder();

// @nats-io/nkeys (pure JS, slow) is the oracle; the implementation under test is keys.ts.
describe("NodeKeyPair", () => {
  it("derives the same public key and seed as nkeys", () => {
    const oracle = createAccount();
    const seed = td.decode(oracle.getSeed());
    const kp = NodeKeyPair.fromSeed(Prefix.Account, seed);
    expect(kp.getPublicKey()).toBe(oracle.getPublicKey());
    expect(td.decode(kp.getSeed())).toBe(seed);
    expect(td.decode(kp.getPrivateKey())).toBe(td.decode(oracle.getPrivateKey()));
  });

  it("signs what nkeys verifies and verifies what nkeys signs", () => {
    const oracle = createAccount();
    const kp = NodeKeyPair.fromSeed(Prefix.Account, td.decode(oracle.getSeed()));
    const data = te.encode("hello");
    expect(fromPublic(kp.getPublicKey()).verify(data, kp.sign(data))).toBe(true);
    expect(kp.verify(data, oracle.sign(data))).toBe(true);
    expect(verifyNkeySignature(Prefix.Account, kp.getPublicKey(), data, oracle.sign(data))).toBe(true);
    expect(verifyNkeySignature(Prefix.Account, kp.getPublicKey(), te.encode("other"), oracle.sign(data))).toBe(false);
  });

  it("is accepted by @nats-io/jwt encoders", async () => {
    const issuer = NodeKeyPair.generate(Prefix.Account);
    const user = NodeKeyPair.generate(Prefix.User);
    const jwt = await encodeUser("u", user.getPublicKey(), issuer, {}, { aud: "CLIENTS" });
    const claims = decode<{ type: string }>(jwt); // verifies the signature with nkeys
    expect(claims.iss).toBe(issuer.getPublicKey());
    expect(claims.sub).toBe(user.getPublicKey());
    expect(claims.aud).toBe("CLIENTS");
  });

  it("rejects seeds of the wrong type or with a bad checksum", () => {
    const { issuerSeed, xkeySeed } = generateCalloutKeys();
    expect(() => NodeKeyPair.fromSeed(Prefix.Account, xkeySeed)).toThrow(/type/);
    // A changed character in the middle (the last one may only carry padding bits).
    const i = 20;
    const corrupted = issuerSeed.slice(0, i) + (issuerSeed[i] === "A" ? "B" : "A") + issuerSeed.slice(i + 1);
    expect(() => decodeSeed(Prefix.Account, corrupted)).toThrow();
  });
});

describe("CurveKey", () => {
  it("interoperates with nkeys curve keys in both directions", () => {
    const oracle = createCurve();
    const mine = CurveKey.generate();
    expect(fromCurveSeed(te.encode(mine.getSeed())).getPublicKey()).toBe(mine.getPublicKey());
    const msg = te.encode("a request ".repeat(50));
    const fromOracle = oracle.seal(msg, mine.getPublicKey());
    expect(td.decode(mine.open(fromOracle, oracle.getPublicKey())!)).toBe(td.decode(msg));
    const fromMine = mine.seal(msg, oracle.getPublicKey());
    expect(td.decode(oracle.open(fromMine, mine.getPublicKey())!)).toBe(td.decode(msg));
  });

  it("returns null for tampered or foreign boxes", () => {
    const a = CurveKey.generate();
    const b = CurveKey.generate();
    const sealed = a.seal(te.encode("x"), b.getPublicKey());
    sealed[sealed.length - 1]! ^= 1;
    expect(b.open(sealed, a.getPublicKey())).toBeNull();
    expect(b.open(te.encode("eyJhbGciOi"), a.getPublicKey())).toBeNull();
  });
});

describe("generateCalloutKeys", () => {
  it("produces SA/SX seeds whose public keys match", () => {
    const keys = generateCalloutKeys();
    expect(keys.issuerSeed).toMatch(/^SA[A-Z2-7]{56}$/);
    expect(keys.xkeySeed).toMatch(/^SX[A-Z2-7]{56}$/);
    expect(keys.issuerPublicKey).toMatch(/^A[A-Z2-7]{55}$/);
    expect(keys.xkeyPublicKey).toMatch(/^X[A-Z2-7]{55}$/);
    expect(publicKeysOf(keys)).toEqual({ issuer: keys.issuerPublicKey, xkey: keys.xkeyPublicKey });
    expect(fromSeed(te.encode(keys.issuerSeed)).getPublicKey()).toBe(keys.issuerPublicKey);
  });
});
