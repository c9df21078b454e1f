/**
 * The broker's access tokens: short-lived JWTs (EdDSA over Ed25519, RFC 9068's `at+jwt` type)
 * naming the user (`sub`) and the session (`sid`) they were issued for. Verification checks the
 * signature against the published keys, the type, issuer, audience and expiry; whether the
 * session is still alive is the caller's database check (see authenticate.ts).
 */
import { createPublicKey, randomUUID, type KeyObject } from "node:crypto";
import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import type { Db } from "../db/client.js";
import type { PublicJwk } from "../db/schema/index.js";
import type { SecretBox } from "../secret-box.js";
import { CLOCK_SKEW_MS, loadSigner, verificationKeys } from "./signing-keys.js";
import { UUID } from "../rules/limits.js";

export const ACCESS_TOKEN_ISSUER = "webhook-broker";
export const ACCESS_TOKEN_AUDIENCE = "webhook-broker";
export const ACCESS_TOKEN_TYPE = "at+jwt";
export const DEFAULT_ACCESS_TOKEN_TTL_MS = 15 * 60_000;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AccessClaims {
  userId: string;
  sessionId: string;
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/** Whether a bearer string has the shape of a JWT (and so is not an API token). */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** Signs an access token with a given key (pure but for the clock passed in). */
export async function signAccessToken(
  signer: { kid: string; key: KeyObject },
  subject: { userId: string; sessionId: string },
  opts: { ttlMs: number; now?: number },
): Promise<{ token: string; jti: string; issuedAt: Date; expiresAt: Date }> {
  const now = opts.now ?? Date.now();
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.max(1, Math.round(opts.ttlMs / 1000));
  const jti = randomUUID();
  const token = await new SignJWT({ sid: subject.sessionId })
    .setProtectedHeader({ alg: "EdDSA", kid: signer.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setSubject(subject.userId)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(signer.key);
  return { token, jti, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
}

/** Verifies an access token against a set of public keys; null for anything not valid now. */
export async function verifyAccessToken(
  token: string,
  keyFor: (kid: string) => KeyObject | undefined,
  now = Date.now(),
): Promise<AccessClaims | null> {
  if (!looksLikeJwt(token)) return null;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== "EdDSA" || typeof header.kid !== "string") return null;
    const key = keyFor(header.kid);
    if (!key) return null;
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ["sub", "sid", "jti", "exp", "iat"],
      currentDate: new Date(now),
      clockTolerance: Math.round(CLOCK_SKEW_MS / 1000),
    });
    const { sub, sid, jti, exp } = payload as { sub?: unknown; sid?: unknown; jti?: unknown; exp?: unknown };
    if (typeof sub !== "string" || !UUID.test(sub) || typeof sid !== "string" || !UUID.test(sid)) return null;
    if (typeof jti !== "string" || typeof exp !== "number") return null;
    // jose's tolerance also applies to exp; the broker's own tokens end when they say.
    if (exp * 1000 <= now) return null;
    return { userId: sub, sessionId: sid, jti, exp };
  } catch {
    return null;
  }
}

/** Issues access tokens with the current signing key (read per call: rotations apply at once). */
export class AccessTokenSigner {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    readonly ttlMs: number = DEFAULT_ACCESS_TOKEN_TTL_MS,
  ) {}

  async issue(subject: { userId: string; sessionId: string }, now?: number): Promise<{ token: string; jti: string; issuedAt: Date; expiresAt: Date }> {
    const signer = await loadSigner(this.db, this.box);
    if (!signer) throw new Error("no signing key: call ensureSigningKey() at start");
    return signAccessToken(signer, subject, { ttlMs: this.ttlMs, now });
  }
}

interface CachedKey {
  key: KeyObject;
  verifyUntil: number;
}

/**
 * Verifies access tokens against the keys in PostgreSQL, cached: reloaded every `refreshMs`, and
 * at once for an unknown kid (a rotation by another gateway). A made-up kid thus costs one small
 * query, as a made-up API token does; concurrent reloads share one query.
 */
export class AccessTokenVerifier {
  #keys = new Map<string, CachedKey>();
  #jwks: PublicJwk[] = [];
  #loadedAt = 0;
  #loading?: Promise<void>;
  readonly #refreshMs: number;

  constructor(
    private readonly db: Db,
    opts: { refreshMs?: number } = {},
  ) {
    this.#refreshMs = opts.refreshMs ?? 60_000;
  }

  async verify(token: string, now = Date.now()): Promise<AccessClaims | null> {
    if (!looksLikeJwt(token)) return null;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return null;
    }
    if (typeof kid !== "string") return null;
    if (!this.#keys.has(kid) || Date.now() - this.#loadedAt > this.#refreshMs) await this.reload();
    return verifyAccessToken(
      token,
      (k) => {
        const cached = this.#keys.get(k);
        return cached && cached.verifyUntil > now ? cached.key : undefined;
      },
      now,
    );
  }

  /** The public keys as a JWKS document (`GET /.well-known/jwks.json`). */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    // Public and unauthenticated: served from the cache, at most a few seconds old.
    if (Date.now() - this.#loadedAt > 5_000) await this.reload();
    return { keys: this.#jwks };
  }

  reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const rows = await verificationKeys(this.db);
        this.#keys = new Map(
          rows.map((r) => [
            r.jwk.kid,
            { key: createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: r.jwk.x }, format: "jwk" }), verifyUntil: r.verifyUntil?.getTime() ?? Number.POSITIVE_INFINITY },
          ]),
        );
        this.#jwks = rows.map((r) => r.jwk);
        this.#loadedAt = Date.now();
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }
}
