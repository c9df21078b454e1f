import { randomBytes } from "node:crypto";
import { eq, inArray, or, sql } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { endpoints, memberships, organizations, type Endpoint } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import type { SecretBox } from "./secret-box.js";
import { joinPath, parseWebhookPath, SubjectError } from "./subjects.js";
import type { Principal } from "./acl.js";
import { adminOrgIds } from "./acl.js";

/** NATS subject on which every endpoint change is announced, so gateways drop their cache. */
export const ENDPOINTS_CHANGED_SUBJECT = "wb.control.endpoints.changed";

export type EndpointOwner = { userId: string } | { orgId: string };

export interface NewEndpoint {
  path: string;
  provider: string;
  providerOptions?: Record<string, unknown>;
  /** Generated when absent; returned once either way. */
  secret?: string;
  owner: EndpointOwner;
  isPublic?: boolean;
  maxBodyBytes?: number;
}

/** What the API and CLI show: never the secret. */
export interface EndpointView {
  id: string;
  path: string;
  url_path: string;
  provider: string;
  provider_options: Record<string, unknown>;
  owner: { type: "user"; id: string } | { type: "organization"; id: string };
  public: boolean;
  max_body_bytes: number | null;
  created_at: string;
}

export function viewEndpoint(e: Endpoint): EndpointView {
  return {
    id: e.id,
    path: e.path,
    url_path: "/webhook/" + e.path.split("/").map(encodeURIComponent).join("/"),
    provider: e.provider,
    provider_options: e.providerOptions,
    owner: e.ownerUserId ? { type: "user", id: e.ownerUserId } : { type: "organization", id: e.ownerOrgId! },
    public: e.isPublic,
    max_body_bytes: e.maxBodyBytes,
    created_at: e.createdAt.toISOString(),
  };
}

/** Normalizes `/webhook/a/b/`, `a/b` and `a%2Fb`-free forms to the stored `a/b`. */
export function normalizeEndpointPath(path: string): string {
  const stripped = path.replace(/^\/*(webhook\/)?/, "");
  try {
    return joinPath(parseWebhookPath(stripped));
  } catch (err) {
    if (err instanceof SubjectError) throw new BrokerError("invalid_request", err.message);
    throw err;
  }
}

export function generateSigningSecret(): string {
  return randomBytes(32).toString("hex");
}

export async function createEndpoint(
  db: Db,
  box: SecretBox,
  input: NewEndpoint,
): Promise<{ endpoint: Endpoint; secret: string }> {
  const path = normalizeEndpointPath(input.path);
  const secret = input.secret ?? generateSigningSecret();
  if (secret.length < 8) throw new BrokerError("invalid_request", "secret must be at least 8 characters");
  const [row] = await db
    .insert(endpoints)
    .values({
      path,
      provider: input.provider,
      providerOptions: input.providerOptions ?? {},
      secretEnc: box.seal(secret),
      ownerUserId: "userId" in input.owner ? input.owner.userId : null,
      ownerOrgId: "orgId" in input.owner ? input.owner.orgId : null,
      isPublic: input.isPublic ?? false,
      maxBodyBytes: input.maxBodyBytes ?? null,
    })
    .onConflictDoNothing({ target: endpoints.path })
    .returning();
  if (!row) throw new BrokerError("conflict", `an endpoint with path ${path} already exists`);
  return { endpoint: row, secret };
}

/**
 * Replaces the endpoint's secret. The secret it had becomes the previous one and keeps
 * verifying for `previousValidFor` ms (0: not at all), so senders can be switched over without
 * losing deliveries. A previous secret from an earlier rotation is dropped. One UPDATE, so two
 * concurrent rotations cannot both demote the same secret. Returns the new secret (generated
 * when not given), to be shown once.
 */
export async function rotateEndpointSecret(
  db: Db,
  box: SecretBox,
  id: string,
  opts: { secret?: string; previousValidFor: number; now?: Date },
): Promise<{ endpoint: Endpoint; secret: string; previousExpiresAt: Date | null }> {
  const secret = opts.secret ?? generateSigningSecret();
  if (secret.length < 8) throw new BrokerError("invalid_request", "secret must be at least 8 characters");
  if (!Number.isFinite(opts.previousValidFor) || opts.previousValidFor < 0) {
    throw new BrokerError("invalid_request", "previous_valid_for must be a duration of 0 or more");
  }
  const now = opts.now ?? new Date();
  const keep = opts.previousValidFor > 0;
  const previousExpiresAt = keep ? new Date(now.getTime() + opts.previousValidFor) : null;
  const [row] = await db
    .update(endpoints)
    .set({
      secretEnc: box.seal(secret),
      previousSecretEnc: keep ? sql`${endpoints.secretEnc}` : null,
      previousSecretExpiresAt: previousExpiresAt,
      updatedAt: now,
    })
    .where(eq(endpoints.id, id))
    .returning();
  if (!row) throw new BrokerError("not_found", `endpoint ${id} not found`);
  return { endpoint: row, secret, previousExpiresAt };
}

export async function getEndpoint(db: Db, id: string): Promise<Endpoint | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  return db.query.endpoints.findFirst({ where: eq(endpoints.id, id) });
}

export async function listAllEndpoints(db: Db): Promise<Endpoint[]> {
  return db.select().from(endpoints).orderBy(endpoints.path);
}

/** Endpoints the principal may see in listings: readable ones (admins see all). */
export async function listVisibleEndpoints(db: Db, p: Principal): Promise<Endpoint[]> {
  if (p.isAdmin) return listAllEndpoints(db);
  const orgIds = db.select({ id: memberships.organizationId }).from(memberships).where(eq(memberships.userId, p.userId));
  return db
    .select()
    .from(endpoints)
    .where(or(eq(endpoints.ownerUserId, p.userId), inArray(endpoints.ownerOrgId, orgIds), eq(endpoints.isPublic, true)))
    .orderBy(endpoints.path);
}

/** May the principal create, change or delete endpoints owned by `owner`? */
export async function mayManage(db: Db, p: Principal, owner: EndpointOwner): Promise<boolean> {
  if (p.isAdmin) return true;
  if ("userId" in owner) return owner.userId === p.userId;
  return (await adminOrgIds(db, p.userId)).includes(owner.orgId);
}

export function ownerOf(e: Endpoint): EndpointOwner {
  return e.ownerUserId ? { userId: e.ownerUserId } : { orgId: e.ownerOrgId! };
}

export async function deleteEndpoint(db: Db, id: string): Promise<void> {
  await db.delete(endpoints).where(eq(endpoints.id, id));
}

export async function findOrganizationByName(db: Db, name: string) {
  const row = await db.query.organizations.findFirst({ where: eq(organizations.name, name) });
  if (!row) throw new BrokerError("not_found", `organization ${name} not found`);
  return row;
}

