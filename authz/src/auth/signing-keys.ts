/**
 * The keys that sign the broker's access JWTs, kept in PostgreSQL: the private half sealed with
 * SECRET_KEY, the public half in the clear (the JWKS, and verifiers without SECRET_KEY).
 *
 * Rotation: a new key signs from the moment it is created; the previous one is retired and keeps
 * verifying until `verify_until` = retirement + the access-token lifetime (+ a minute of clock
 * skew), so no token it signed stops working early. Every change takes one advisory lock, so
 * several gateways starting at once make one key, not several.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { desc, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { signingKeys, type PublicJwk, type SigningKey } from "../db/schema/index.js";
import type { SecretBox } from "../secret-box.js";

/** Tolerated clock difference between the machines that sign and verify. */
export const CLOCK_SKEW_MS = 60_000;

/** One lock id for every change of the key set (pg_advisory_xact_lock takes a bigint). */
const LOCK = sql`select pg_advisory_xact_lock(7193320911)`;

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

function newKey(box: SecretBox): typeof signingKeys.$inferInsert {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const kid = randomBytes(12).toString("base64url");
  const jwk = publicKey.export({ format: "jwk" }) as { x: string };
  const publicJwk: PublicJwk = { kty: "OKP", crv: "Ed25519", x: jwk.x, kid, alg: "EdDSA", use: "sig" };
  const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  return { kid, publicJwk, privateKeyEnc: box.seal(pem) };
}

async function activeKey(tx: Tx | Db): Promise<SigningKey | undefined> {
  const [row] = await tx.select().from(signingKeys).where(isNull(signingKeys.retiredAt)).orderBy(desc(signingKeys.createdAt)).limit(1);
  return row;
}

async function replaceActive(tx: Tx, box: SecretBox, accessTtlMs: number): Promise<SigningKey> {
  const now = new Date();
  await tx
    .update(signingKeys)
    .set({ retiredAt: now, verifyUntil: new Date(now.getTime() + accessTtlMs + CLOCK_SKEW_MS) })
    .where(isNull(signingKeys.retiredAt));
  // Keys nobody can use any more are deleted (a day late, so a listing still explains recent ones).
  await tx.delete(signingKeys).where(lt(signingKeys.verifyUntil, new Date(now.getTime() - 86_400_000)));
  const [row] = await tx.insert(signingKeys).values(newKey(box)).returning();
  return row!;
}

/** The signing key, created when there is none (first start). */
export async function ensureSigningKey(db: Db, box: SecretBox): Promise<SigningKey> {
  const existing = await activeKey(db);
  if (existing) return existing;
  return db.transaction(async (tx) => {
    await tx.execute(LOCK);
    return (await activeKey(tx)) ?? (await tx.insert(signingKeys).values(newKey(box)).returning())[0]!;
  });
}

/**
 * Makes a new signing key and retires the current one, which keeps verifying for `accessTtlMs`
 * (the longest lifetime of a token it may have signed) plus the clock skew.
 */
export async function rotateSigningKey(db: Db, box: SecretBox, accessTtlMs: number): Promise<SigningKey> {
  return db.transaction(async (tx) => {
    await tx.execute(LOCK);
    return replaceActive(tx, box, accessTtlMs);
  });
}

/** Rotates when the signing key is older than `maxAgeMs` (checked under the lock: one gateway rotates). */
export async function rotateSigningKeyIfOlderThan(db: Db, box: SecretBox, maxAgeMs: number, accessTtlMs: number): Promise<SigningKey | null> {
  return db.transaction(async (tx) => {
    await tx.execute(LOCK);
    const current = await activeKey(tx);
    if (current && Date.now() - current.createdAt.getTime() < maxAgeMs) return null;
    return replaceActive(tx, box, accessTtlMs);
  });
}

/** Public keys that verify now: the signing key and retired keys whose tokens may still be alive. */
export async function verificationKeys(db: Db): Promise<{ jwk: PublicJwk; verifyUntil: Date | null }[]> {
  const rows = await db
    .select({ jwk: signingKeys.publicJwk, verifyUntil: signingKeys.verifyUntil })
    .from(signingKeys)
    .where(or(isNull(signingKeys.verifyUntil), gt(signingKeys.verifyUntil, sql`now()`)))
    .orderBy(desc(signingKeys.createdAt));
  return rows;
}

/** Every key with its state, newest first (for the CLI). */
export async function listSigningKeys(db: Db) {
  return db
    .select({ kid: signingKeys.kid, createdAt: signingKeys.createdAt, retiredAt: signingKeys.retiredAt, verifyUntil: signingKeys.verifyUntil })
    .from(signingKeys)
    .orderBy(desc(signingKeys.createdAt));
}

/** The signing key's private half, unsealed. Read on every issue, so a rotation by another gateway applies at once. */
export async function loadSigner(db: Db, box: SecretBox): Promise<{ kid: string; key: KeyObject } | null> {
  const row = await activeKey(db);
  if (!row) return null;
  return { kid: row.kid, key: createPrivateKey(box.open(row.privateKeyEnc)) };
}
