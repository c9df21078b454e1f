import { eq } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { endpoints } from "./db/schema/endpoints.js";
import { githubTokens } from "./db/schema/github-tokens.js";
import { signingKeys } from "./db/schema/signing-keys.js";
import type { SecretBox } from "./secret-box.js";

function opens(box: SecretBox, sealed: string): boolean {
  try {
    box.open(sealed);
    return true;
  } catch {
    return false;
  }
}

/**
 * How many secrets are sealed in the database (endpoint secrets, current and previous, and the
 * JWT signing keys, users' GitHub tokens) and how many of them `box` opens. A SECRET_KEY that opens none of several is
 * the wrong key: starting with it would answer 404 for every endpoint.
 */
export async function checkSecretKey(db: Db, box: SecretBox): Promise<{ sealed: number; opened: number }> {
  const rows = await db.select({ current: endpoints.secretEnc, previous: endpoints.previousSecretEnc }).from(endpoints);
  const keys = await db.select({ sealed: signingKeys.privateKeyEnc }).from(signingKeys);
  const github = await db.select({ access: githubTokens.accessTokenEnc, refresh: githubTokens.refreshTokenEnc }).from(githubTokens);
  const all = [
    ...rows.flatMap((r) => (r.previous ? [r.current, r.previous] : [r.current])),
    ...keys.map((k) => k.sealed),
    ...github.flatMap((g) => (g.refresh ? [g.access, g.refresh] : [g.access])),
  ];
  return { sealed: all.length, opened: all.filter((s) => opens(box, s)).length };
}

/**
 * Re-seals every secret under `to`, in one transaction: either all move to the new key or none
 * does. Throws, changing nothing, when a secret does not open under `from`.
 */
export async function resealSecrets(db: Db, from: SecretBox, to: SecretBox): Promise<{ endpoints: number; signingKeys: number; githubTokens: number }> {
  return db.transaction(async (tx) => {
    const reseal = (sealed: string, what: string) => {
      let plain: string;
      try {
        plain = from.open(sealed);
      } catch {
        throw new Error(`${what} does not open under the current SECRET_KEY; nothing was changed`);
      }
      return to.seal(plain);
    };
    const rows = await tx.select({ id: endpoints.id, path: endpoints.path, current: endpoints.secretEnc, previous: endpoints.previousSecretEnc }).from(endpoints).for("update");
    for (const r of rows) {
      await tx
        .update(endpoints)
        .set({ secretEnc: reseal(r.current, `endpoint ${r.path}'s secret`), previousSecretEnc: r.previous ? reseal(r.previous, `endpoint ${r.path}'s previous secret`) : null })
        .where(eq(endpoints.id, r.id));
    }
    const keys = await tx.select({ kid: signingKeys.kid, sealed: signingKeys.privateKeyEnc }).from(signingKeys).for("update");
    for (const k of keys) {
      await tx.update(signingKeys).set({ privateKeyEnc: reseal(k.sealed, `signing key ${k.kid}`) }).where(eq(signingKeys.kid, k.kid));
    }
    const github = await tx.select({ userId: githubTokens.userId, access: githubTokens.accessTokenEnc, refresh: githubTokens.refreshTokenEnc }).from(githubTokens).for("update");
    for (const g of github) {
      await tx
        .update(githubTokens)
        .set({ accessTokenEnc: reseal(g.access, `user ${g.userId}'s GitHub token`), refreshTokenEnc: g.refresh ? reseal(g.refresh, `user ${g.userId}'s GitHub refresh token`) : null })
        .where(eq(githubTokens.userId, g.userId));
    }
    return { endpoints: rows.length, signingKeys: keys.length, githubTokens: github.length };
  });
}
