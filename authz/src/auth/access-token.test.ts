import { generateKeyPairSync, randomUUID, createPublicKey, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, signAccessToken, verifyAccessToken } from "./access-token.js";

const key = generateKeyPairSync("ed25519");
const other = generateKeyPairSync("ed25519");
const signer = { kid: "k1", key: key.privateKey };
const keys = (k: string): KeyObject | undefined => (k === "k1" ? key.publicKey : undefined);
const subject = { userId: randomUUID(), sessionId: randomUUID() };
const now = Date.UTC(2026, 10, 30, 12, 0, 0);

describe("access tokens (pure sign/verify)", () => {
  it("verifies a token it signed and returns user, session, jti and expiry", async () => {
    const { token, jti, expiresAt } = await signAccessToken(signer, subject, { ttlMs: 15 * 60_000, now });
    expect(await verifyAccessToken(token, keys, now + 60_000)).toEqual({ ...subject, jti, exp: expiresAt.getTime() / 1000 });
    expect(expiresAt.getTime()).toBe(now + 15 * 60_000);
  });

  it("refuses it from the second it expires (no clock tolerance past exp)", async () => {
    const { token, expiresAt } = await signAccessToken(signer, subject, { ttlMs: 60_000, now });
    expect(await verifyAccessToken(token, keys, expiresAt.getTime() - 1_000)).not.toBeNull();
    expect(await verifyAccessToken(token, keys, expiresAt.getTime())).toBeNull();
  });

  it("refuses an unknown kid, another key's signature, and a tampered payload", async () => {
    const { token } = await signAccessToken({ kid: "k2", key: key.privateKey }, subject, { ttlMs: 60_000, now });
    expect(await verifyAccessToken(token, keys, now)).toBeNull();
    const forged = await signAccessToken({ kid: "k1", key: other.privateKey }, subject, { ttlMs: 60_000, now });
    expect(await verifyAccessToken(forged.token, keys, now)).toBeNull();
    const good = (await signAccessToken(signer, subject, { ttlMs: 60_000, now })).token;
    const [h, p, s] = good.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    payload.sub = randomUUID();
    expect(await verifyAccessToken(`${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`, keys, now)).toBeNull();
  });

  it("refuses JWTs that are not the broker's access tokens: other type, issuer, audience, alg none, missing sid", async () => {
    const iat = Math.floor(now / 1000);
    const build = (mutate: (j: SignJWT) => SignJWT, header: Record<string, unknown> = {}) =>
      mutate(new SignJWT({ sid: subject.sessionId }).setSubject(subject.userId).setJti("j").setIssuedAt(iat).setExpirationTime(iat + 60))
        .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "at+jwt", ...header })
        .sign(key.privateKey);
    const valid = await build((j) => j.setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE));
    expect(await verifyAccessToken(valid, keys, now)).not.toBeNull(); // the control
    expect(await verifyAccessToken(await build((j) => j.setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE), { typ: "JWT" }), keys, now)).toBeNull();
    expect(await verifyAccessToken(await build((j) => j.setIssuer("someone-else").setAudience(ACCESS_TOKEN_AUDIENCE)), keys, now)).toBeNull();
    expect(await verifyAccessToken(await build((j) => j.setIssuer(ACCESS_TOKEN_ISSUER).setAudience("other-api")), keys, now)).toBeNull();
    const noSid = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "at+jwt" })
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setSubject(subject.userId)
      .setJti("j")
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .sign(key.privateKey);
    expect(await verifyAccessToken(noSid, keys, now)).toBeNull();
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", kid: "k1", typ: "at+jwt" })).toString("base64url")}.${valid.split(".")[1]}.`;
    expect(await verifyAccessToken(unsigned, keys, now)).toBeNull();
    expect(await verifyAccessToken("whb_notajwt", keys, now)).toBeNull();
  });

  it("a public key rebuilt from the published JWK verifies (what the callout and third parties do)", async () => {
    const jwk = key.publicKey.export({ format: "jwk" }) as { x: string };
    const rebuilt = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" });
    const { token } = await signAccessToken(signer, subject, { ttlMs: 60_000, now });
    expect(await verifyAccessToken(token, (k) => (k === "k1" ? rebuilt : undefined), now)).not.toBeNull();
  });
});
