import { createHash } from "node:crypto";
import { readableEndpointIds } from "../acl.js";
/**
 * What the callout asks PostgreSQL: who a credential belongs to, which durables are his, and
 * which of the credentials behind open connections are still good (for revocation, callout/revoker.ts).
 */
import { and, eq, gt, inArray, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { apiTokens, consumers, users } from "../db/schema/index.js";
import { durableName } from "../naming.js";
import type { AccessTokenVerifier } from "../auth/access-token.js";
import { authenticateCredential } from "../auth/authenticate.js";
import { liveSessionIds } from "../auth/sessions.js";

/** A credential as it arrived in the CONNECT options. Never log `secret`. */
export type Credential =
  | { kind: "api_token"; secret: string }
  /** The broker's own JWT access tokens. */
  | { kind: "access_token"; secret: string };

export interface Authenticated {
  userId: string;
  /** Stable id of the credential (api_tokens.id, or `s-<session id>`): revocation checks it. */
  credentialId: string;
  /** When the credential itself expires (seconds since the epoch): the user JWT ends no later. */
  expiresAt?: number;
}

/** Resolves a credential; null when unknown, revoked, expired, or its user is disabled. */
export type Authenticator = (credential: Credential) => Promise<Authenticated | null>;

/** Checks which of the given credential ids are still valid (for revocation, callout/revoker.ts). */
export type CredentialChecker = (credentialIds: readonly string[]) => Promise<Set<string>>;

const validToken = () =>
  and(isNull(apiTokens.revokedAt), isNull(users.disabledAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql`now()`)));

/** Prefix of a session's credential id in a connection's name (API tokens use their bare id). */
const SESSION_CREDENTIAL = "s-";

/**
 * API tokens and the broker's access tokens, by the same lookup as the gateway's
 * (authenticateCredential). A session's connection carries `s-<session id>` as its credential,
 * so revoking the session (announced by the API) reaches it through the revoker; its user JWT ends with the access token.
 */
export function credentialAuthenticator(db: Db, verifier: AccessTokenVerifier): Authenticator {
  return async (credential) => {
    const found = await authenticateCredential(db, verifier, credential.secret);
    if (!found) return null;
    const { principal, credential: ref } = found;
    if (ref.kind === "api_token") return { userId: principal.userId, credentialId: ref.id, expiresAt: ref.expiresAt ? Math.floor(ref.expiresAt.getTime() / 1000) : undefined };
    return { userId: principal.userId, credentialId: SESSION_CREDENTIAL + ref.id, expiresAt: Math.floor(ref.expiresAt.getTime() / 1000) };
  };
}

/** Which credentials behind open connections are still good: API tokens and sessions alike. */
export function credentialChecker(db: Db): CredentialChecker {
  const tokens = apiTokenChecker(db);
  return async (ids) => {
    const sessionIds = ids.filter((id) => id.startsWith(SESSION_CREDENTIAL)).map((id) => id.slice(SESSION_CREDENTIAL.length));
    const [validTokens, live] = await Promise.all([tokens(ids.filter((id) => !id.startsWith(SESSION_CREDENTIAL))), liveSessionIds(db, sessionIds)]);
    return new Set([...validTokens, ...[...live].map((id) => SESSION_CREDENTIAL + id)]);
  };
}

export function apiTokenChecker(db: Db): CredentialChecker {
  return async (ids) => {
    const uuids = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
    if (uuids.length === 0) return new Set();
    const rows = await db
      .select({ id: apiTokens.id })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(and(inArray(apiTokens.id, uuids), validToken()));
    return new Set(rows.map((r) => r.id));
  };
}

/** The user's durable names: his rows in `consumers`, plus his default durable in any case. */
export async function userDurables(db: Db, userId: string): Promise<string[]> {
  const rows = await db.select({ durable: consumers.durableName }).from(consumers).where(eq(consumers.userId, userId));
  return [...new Set([durableName(userId), ...rows.map((r) => r.durable)])].sort();
}

/**
 * A short digest of what a user may reach over NATS: the endpoints he may read and his
 * durables. Stamped on his connection at connect; the revoker kicks a connection whose
 * stamp no longer matches, so a removed membership or endpoint grant (or a new consumer) is
 * decided afresh on the reconnect.
 */
export async function accessFingerprint(db: Db, userId: string): Promise<string> {
  const [readable, durables] = await Promise.all([readableEndpointIds(db, userId), userDurables(db, userId)]);
  return fingerprintOf(readable, durables);
}

export function fingerprintOf(readable: readonly string[], durables: readonly string[]): string {
  return createHash("sha256").update([...readable].sort().join(",")).update("|").update([...durables].sort().join(",")).digest("hex").slice(0, 16);
}

/** Picks the credential out of the CONNECT options: `auth_token`, or the password of user/password. */
export function credentialFromConnectOpts(opts: { auth_token?: string; user?: string; pass?: string } | undefined): Credential | null {
  const secret = opts?.auth_token || opts?.pass;
  if (!secret) return null;
  // A JWT (three base64url parts) is an access token; everything else is tried as an API token.
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(secret)) return { kind: "access_token", secret };
  return { kind: "api_token", secret };
}

/** The user's secret inbox token (users.inbox_token), part of the inbox prefix his permissions allow. */
export async function userInboxToken(db: Db, userId: string): Promise<string> {
  const [row] = await db.select({ token: users.inboxToken }).from(users).where(eq(users.id, userId));
  if (!row) throw new Error("user not found");
  return row.token;
}
