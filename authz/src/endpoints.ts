import { randomBytes } from "node:crypto";
import { and, eq, inArray, or, sql } from "drizzle-orm";
import type { Db } from "./db/client.js";
import { endpoints, memberships, organizations, type Endpoint } from "./db/schema/index.js";
import { BrokerError } from "./errors.js";
import type { SecretBox } from "./secret-box.js";
import { joinPath, parseWebhookPath, SubjectError } from "./subjects.js";
import { activeMembership, type Principal } from "./acl.js";
import { recordAudit, type Acting } from "./audit.js";
import { checkAccountName, loadPathSpace, loadReservations, lockPathSpace, ownerOfEndpoint, type Tx } from "./placement.js";
import { endpointAccess, enforce, mayCreateEndpoint, mayMakePublic, requireAccess, type Access, type Actor } from "./rules/access.js";
import { resyncMembersSoon } from "./github-sync.js";
import { repositoryOfPath } from "./rules/github.js";
import { bodyLimitProblem, MAX_DESCRIPTION, UUID } from "./rules/limits.js";
import { checkEndpointPlacement, type OwnerRef } from "./rules/ownership.js";
import { pathKey, storedPathKey } from "./rules/paths.js";
import { findUserByName } from "./users.js";

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
  description?: string;
  /**
   * Readable only by those GitHub lets read the repository its path names
   * (`github/<linked GitHub org>/<repo>/...`, owner: the linked organization).
   */
  repositoryScoped?: boolean;
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
  description: string | null;
  /** Repository-scoped: the GitHub repository (`owner/repo`) whose readers may read it. */
  repository: string | null;
  created_at: string;
  updated_at: string;
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
    description: e.description,
    repository: e.githubRepo,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
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

function checkSecret(secret: string): void {
  if (secret.length < 8) throw new BrokerError("invalid_request", "secret must be at least 8 characters");
}

function checkDescription(description: string | null | undefined): void {
  if (description && description.length > MAX_DESCRIPTION) throw new BrokerError("invalid_request", `description: at most ${MAX_DESCRIPTION} characters`);
}

/**
 * Inserts an endpoint where the ownership rules allow one (rules/ownership.ts): never nested
 * under or around another owner's endpoint, never in another owner's namespace or reservation.
 * Who may act for the owner is {@link createEndpointAs}'s question; this is the rule for
 * everyone, the CLI and tests included. With `acting`, the change is audited.
 */
export async function createEndpoint(
  db: Db,
  box: SecretBox,
  input: NewEndpoint,
  acting?: Acting,
): Promise<{ endpoint: Endpoint; secret: string }> {
  const path = normalizeEndpointPath(input.path);
  const secret = input.secret ?? generateSigningSecret();
  checkSecret(secret);
  checkDescription(input.description);
  const row = await db.transaction(async (tx) => {
    await lockPathSpace(tx);
    const owner = await ownerOfEndpoint(tx, ownerColumns(input.owner));
    const space = await loadPathSpace(tx);
    const placement = checkEndpointPlacement({ key: storedPathKey(path), owner, ...space });
    if (!placement.ok) throw new BrokerError(placement.code, placement.reason);
    const githubRepo = input.repositoryScoped ? await repositoryFor(tx, owner, path) : null;
    if (githubRepo && owner.type === "organization") await resyncMembersSoon(tx, owner.id);
    const [inserted] = await tx
      .insert(endpoints)
      .values({
        path,
        provider: input.provider,
        providerOptions: input.providerOptions ?? {},
        secretEnc: box.seal(secret),
        ...ownerColumns(input.owner),
        isPublic: input.isPublic ?? false,
        maxBodyBytes: input.maxBodyBytes ?? null,
        description: input.description ?? null,
        githubRepo,
      })
      .onConflictDoNothing({ target: endpoints.path })
      .returning();
    if (!inserted) throw new BrokerError("conflict", `an endpoint with path ${path} already exists`);
    if (acting) await audited(tx, acting, "endpoint.created", inserted, { path, provider: inserted.provider, public: inserted.isPublic, max_body_bytes: inserted.maxBodyBytes, repository: githubRepo });
    return inserted;
  });
  return { endpoint: row, secret };
}

/** The repository a repository-scoped endpoint of `owner` at `path` names (rules/github.ts), or a 400 saying why not. */
async function repositoryFor(db: Db | Tx, owner: OwnerRef, path: string): Promise<string> {
  let githubOrg: string | null = null;
  if (owner.type === "organization") {
    const [org] = await db.select({ linked: organizations.githubOrgName }).from(organizations).where(eq(organizations.id, owner.id));
    githubOrg = org?.linked ?? null;
  }
  const verdict = repositoryOfPath(storedPathKey(path), path.split("/"), githubOrg);
  if (!verdict.ok) throw new BrokerError("invalid_request", verdict.reason);
  return verdict.repo;
}

/** Who an endpoint is for, as the API and the CLI name it: a user or an organization by name; absent: the caller. */
export type OwnerSpec = { user: string } | { organization: string } | undefined;

/** What a creation request asks for, before anyone checked it. */
export interface CreateRequest extends Omit<NewEndpoint, "owner"> {
  owner: OwnerSpec;
}

/** What the running broker contributes to the checks. */
export interface Limits {
  /** The NATS server's max_payload, when known: body limits must fit under it. */
  maxPayload?: number;
  /** Checks a provider's options (the verifiers live in the gateway); returns them normalized. */
  validateOptions?: (provider: string, options: Record<string, unknown>) => Record<string, unknown>;
}

/**
 * Creates an endpoint on behalf of `acting.actor`, with every rule the API and the CLI share:
 * who may create for that owner and where, who may make it public, the body limit against the
 * server's max_payload, then the ownership rules, audited.
 */
export async function createEndpointAs(db: Db, box: SecretBox, acting: Acting, req: CreateRequest, limits: Limits = {}) {
  const { actor } = acting;
  const owner = await resolveOwner(db, actor, req.owner);
  const key = pathKey(normalizeEndpointPath(req.path).split("/"));
  const reservations = owner.type === "organization" ? await loadReservations(db, owner.id) : [];
  enforce(mayCreateEndpoint(actor, owner, key, reservations));
  if (req.isPublic) enforce(mayMakePublic(actor, owner, req.provider));
  if (req.maxBodyBytes !== undefined) {
    const problem = bodyLimitProblem(req.maxBodyBytes, limits.maxPayload);
    if (problem) throw new BrokerError("invalid_request", problem);
  }
  const providerOptions = limits.validateOptions ? limits.validateOptions(req.provider, req.providerOptions ?? {}) : req.providerOptions;
  return createEndpoint(db, box, { ...req, providerOptions, owner: owner.type === "user" ? { userId: owner.id } : { orgId: owner.id } }, acting);
}

/**
 * Turns the name an API or CLI caller gave into an owner. Naming another user needs a global
 * admin (refused before the lookup, so nothing is revealed); an organization the caller is not
 * in is the same 404 as one that does not exist.
 */
async function resolveOwner(db: Db, actor: Actor, spec: OwnerSpec): Promise<OwnerRef> {
  if (!spec) {
    if (!actor.userId || !actor.name) throw new BrokerError("invalid_request", "an owner is required");
    return { type: "user", id: actor.userId, name: actor.name };
  }
  if ("organization" in spec) {
    const org = await findOrganizationByName(db, spec.organization);
    if (!actor.isAdmin && !actor.roles[org.id]) throw new BrokerError("not_found", `organization ${spec.organization} not found`);
    return { type: "organization", id: org.id, name: org.name };
  }
  if (!actor.isAdmin && spec.user !== actor.name) throw new BrokerError("forbidden", "only global admins create endpoints for other users");
  const user = await findUserByName(db, spec.user);
  return { type: "user", id: user.id, name: user.name };
}

/** An endpoint with what access depends on. */
export interface EndpointWithAccess {
  endpoint: Endpoint;
  owner: OwnerRef;
  access: Access;
}

/**
 * The endpoint if the actor may at least read it, with his access. What he may not read is the
 * same 404 as an id that does not exist; `needed: "manage"` turns read-only access into a 403.
 */
export async function endpointFor(db: Db, actor: Actor, id: string, needed: "read" | "manage" = "read", doing = "change"): Promise<EndpointWithAccess> {
  const endpoint = await getEndpoint(db, id);
  let access: Access = "none";
  let owner: OwnerRef | undefined;
  if (endpoint) {
    owner = await ownerOfEndpoint(db, endpoint);
    const reservations = owner.type === "organization" ? await loadReservations(db, owner.id) : [];
    access = endpointAccess(actor, { owner, isPublic: endpoint.isPublic, key: storedPathKey(endpoint.path) }, reservations);
  }
  requireAccess(access, needed, { notFound: `endpoint ${id} not found`, forbidden: `you may read this endpoint but not ${doing} it` });
  return { endpoint: endpoint!, owner: owner!, access };
}

/** What `PATCH /api/v1/endpoints/<id>` and `endpoints update` may change. The path and the provider are fixed. */
export interface EndpointPatch {
  description?: string | null;
  isPublic?: boolean;
  /** Replaces all of them; checked with `limits.validateOptions`. */
  providerOptions?: Record<string, unknown>;
  /** null: back to the gateway's default. */
  maxBodyBytes?: number | null;
  /** Makes it repository-scoped (or not); see NewEndpoint.repositoryScoped. */
  repositoryScoped?: boolean;
}

/**
 * Changes an endpoint with the same rules as creation: manage access, the public privilege to
 * make it public, the body limit against max_payload. Audited with the fields that changed;
 * `accessChanged` says whether who may read it changed (the caller announces it).
 */
export async function updateEndpointAs(
  db: Db,
  acting: Acting,
  id: string,
  patch: EndpointPatch,
  limits: Limits = {},
): Promise<{ endpoint: Endpoint; accessChanged: boolean }> {
  const { endpoint: e, owner } = await endpointFor(db, acting.actor, id, "manage");
  if (patch.isPublic === true && !e.isPublic) enforce(mayMakePublic(acting.actor, owner, e.provider));
  if (patch.maxBodyBytes !== undefined && patch.maxBodyBytes !== null) {
    const problem = bodyLimitProblem(patch.maxBodyBytes, limits.maxPayload);
    if (problem) throw new BrokerError("invalid_request", problem);
  }
  checkDescription(patch.description);
  const providerOptions = patch.providerOptions && limits.validateOptions ? limits.validateOptions(e.provider, patch.providerOptions) : patch.providerOptions;
  const set: Partial<Endpoint> = {};
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  const change = <K extends keyof Endpoint>(field: K, name: string, to: Endpoint[K] | undefined) => {
    if (to === undefined || JSON.stringify(to) === JSON.stringify(e[field])) return;
    set[field] = to;
    // Provider options may hold header names, never secrets; still, log only which keys.
    changed[name] = field === "providerOptions" ? { from: Object.keys(e.providerOptions), to: Object.keys(to as object) } : { from: e[field], to };
  };
  change("description", "description", patch.description);
  change("isPublic", "public", patch.isPublic);
  change("providerOptions", "provider_options", providerOptions);
  change("maxBodyBytes", "max_body_bytes", patch.maxBodyBytes);
  if (patch.repositoryScoped !== undefined) change("githubRepo", "repository", patch.repositoryScoped ? await repositoryFor(db, owner, e.path) : null);
  if (set.githubRepo && owner.type === "organization") await resyncMembersSoon(db, owner.id);
  if (Object.keys(set).length === 0) return { endpoint: e, accessChanged: false };
  const endpoint = await db.transaction(async (tx) => {
    const [row] = await tx.update(endpoints).set({ ...set, updatedAt: new Date() }).where(eq(endpoints.id, e.id)).returning();
    if (!row) throw new BrokerError("not_found", `endpoint ${id} not found`);
    await audited(tx, acting, "endpoint.updated", row, { changed });
    return row;
  });
  return { endpoint, accessChanged: "public" in changed || "repository" in changed };
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
  acting?: Acting,
): Promise<{ endpoint: Endpoint; secret: string; previousExpiresAt: Date | null }> {
  const secret = opts.secret ?? generateSigningSecret();
  checkSecret(secret);
  if (!Number.isFinite(opts.previousValidFor) || opts.previousValidFor < 0) {
    throw new BrokerError("invalid_request", "previous_valid_for must be a duration of 0 or more");
  }
  const now = opts.now ?? new Date();
  const keep = opts.previousValidFor > 0;
  const previousExpiresAt = keep ? new Date(now.getTime() + opts.previousValidFor) : null;
  const row = await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(endpoints)
      .set({
        secretEnc: box.seal(secret),
        previousSecretEnc: keep ? sql`${endpoints.secretEnc}` : null,
        previousSecretExpiresAt: previousExpiresAt,
        updatedAt: now,
      })
      .where(eq(endpoints.id, id))
      .returning();
    if (!updated) throw new BrokerError("not_found", `endpoint ${id} not found`);
    if (acting) await audited(tx, acting, "endpoint.secret_rotated", updated, { previous_valid_until: previousExpiresAt?.toISOString() ?? null });
    return updated;
  });
  return { endpoint: row, secret, previousExpiresAt };
}

/** Deletes an endpoint (audited with `acting`); stored messages stay in the stream. */
export async function deleteEndpoint(db: Db, id: string, acting?: Acting): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(endpoints).where(eq(endpoints.id, id)).returning();
    if (row && acting) await audited(tx, acting, "endpoint.deleted", row, { path: row.path, public: row.isPublic });
  });
}

export async function getEndpoint(db: Db, id: string): Promise<Endpoint | undefined> {
  // Anything but a canonical UUID never reaches PostgreSQL (36 dashes would be a 500 there).
  if (!UUID.test(id)) return undefined;
  return db.query.endpoints.findFirst({ where: eq(endpoints.id, id) });
}

export async function listAllEndpoints(db: Db): Promise<Endpoint[]> {
  return db.select().from(endpoints).orderBy(endpoints.path);
}

/** Endpoints the principal may see in listings: readable ones (admins see all). */
export async function listVisibleEndpoints(db: Db, p: Principal): Promise<Endpoint[]> {
  if (p.isAdmin) return listAllEndpoints(db);
  const orgIds = db.select({ id: memberships.organizationId }).from(memberships).where(and(eq(memberships.userId, p.userId), activeMembership()));
  return db
    .select()
    .from(endpoints)
    .where(or(eq(endpoints.ownerUserId, p.userId), inArray(endpoints.ownerOrgId, orgIds), eq(endpoints.isPublic, true)))
    .orderBy(endpoints.path);
}

export function ownerOf(e: Endpoint): EndpointOwner {
  return e.ownerUserId ? { userId: e.ownerUserId } : { orgId: e.ownerOrgId! };
}

function ownerColumns(owner: EndpointOwner): { ownerUserId: string | null; ownerOrgId: string | null } {
  return { ownerUserId: "userId" in owner ? owner.userId : null, ownerOrgId: "orgId" in owner ? owner.orgId : null };
}

function audited(tx: Tx, acting: Acting, action: "endpoint.created" | "endpoint.updated" | "endpoint.deleted" | "endpoint.secret_rotated", e: Endpoint, details: Record<string, unknown>) {
  return recordAudit(tx, acting, { action, targetType: "endpoint", targetId: e.id, organizationId: e.ownerOrgId, details });
}

export async function findOrganizationByName(db: Db, name: string) {
  checkAccountName(name, "organization");
  const row = await db.query.organizations.findFirst({ where: eq(organizations.name, name) });
  if (!row) throw new BrokerError("not_found", `organization ${name} not found`);
  return row;
}
