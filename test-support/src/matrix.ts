/**
 * The authorization matrix: one table of every API route × every kind of principal, run against
 * a real broker. Each row names a route (as mounted: `METHOD /api/v1/...` with `:params`), the
 * resource it touches (its scope), and the status each access level must get:
 *
 *   - `none`: the principal may not read the resource. Must be 404, the same as a true miss,
 *     never 403 (which would confirm that the resource exists). Rows for resources whose
 *     existence is not secret (a body naming another user when only admins may) say so with
 *     `noneMayBe403`.
 *   - `read`: may read but not manage (403 for a change).
 *   - `manage`: may change it.
 *   - anonymous: always 401, under all of /api/v1.
 *
 * `checkTable()` validates the table itself (every mounted route has a row, no row hides
 * existence behind a 403); `runMatrix()` sends every request and returns every mismatch at once.
 */
import { randomBytes } from "node:crypto";
import { addMember, CLI_ACTOR, cliActing, createApiToken, createEndpoint, createOrganization, createReservation, createUser, startSession, type Db, type SecretBox } from "@wb/authz";
import { documentedRoutes, stubDocument, type Contract } from "./openapi.js";
import { postGithub } from "./webhooks.js";

export const PRINCIPALS = [
  "anonymous",
  "outsider",
  "owner",
  "orgAdmin",
  "orgMember",
  "orgViewer",
  "publicReader",
  "globalAdmin",
] as const;
export type PrincipalName = (typeof PRINCIPALS)[number];
export type Access = "none" | "read" | "manage";

export interface MatrixUser {
  id: string;
  name: string;
  token: string;
}

export interface MatrixEndpoint {
  id: string;
  path: string;
  secret: string;
}

export type EndpointKind = "own" | "org" | "public";

/** The shared world every row runs in; fresh*() make resources a destructive request may consume. */
export interface MatrixFixture {
  url: string;
  users: Record<Exclude<PrincipalName, "anonymous">, MatrixUser>;
  org: { id: string; name: string };
  /** `own`: the owner's private endpoint; `org`: the organization's; `public`: the owner's public one. */
  endpoints: Record<EndpointKind, MatrixEndpoint>;
  /** One stored message on each endpoint (stream sequence). */
  messages: Record<EndpointKind, number>;
  /** `orgSpace`: an organization endpoint in its own namespace (`o/<org>/...`), which its members manage. */
  freshEndpoint(kind: EndpointKind | "orgSpace"): Promise<MatrixEndpoint>;
  /** A path prefix reserved for the fixture organization. */
  freshReservation(): Promise<string>;
  freshUser(): Promise<MatrixUser>;
  /** Ids of a new API token / a new signed-in session of the owner's, for requests that revoke one. */
  freshOwnerToken(): Promise<string>;
  freshOwnerSession(): Promise<string>;
  /** A new member of the fixture organization (role `member`). */
  freshMember(): Promise<MatrixUser>;
  /** The owner's named consumer (created through the API) and one subscription of his. */
  ownerConsumer: string;
  ownerSubscription: string;
  /** A reservation held by the fixture organization (made by the CLI, so it is in the audit log). */
  orgReservation: string;
  /** A new named consumer / subscription of the owner's, for requests that delete one. */
  freshConsumer(): Promise<string>;
  freshSubscription(): Promise<string>;
  unique(prefix: string): string;
}

/** Who may do what to a kind of resource. */
export type Scope = { name: string; access: (who: Exclude<PrincipalName, "anonymous">) => Access };

const ORG_ROLES: Partial<Record<PrincipalName, Access>> = { orgAdmin: "manage", orgMember: "read", orgViewer: "read" };

export const SCOPES = {
  /** The caller's own things (his lists, his consumer, things he creates for himself). */
  self: { name: "own resources", access: () => "manage" },
  /** The owner's private endpoint. Global admins manage every endpoint. */
  ownEndpoint: { name: "user's private endpoint", access: (w) => (w === "owner" || w === "globalAdmin" ? "manage" : "none") },
  /** The organization's endpoint outside its own space: admins manage, members and viewers read. */
  orgEndpoint: { name: "organization's endpoint", access: (w) => (w === "globalAdmin" ? "manage" : ORG_ROLES[w] ?? "none") },
  /** The organization's endpoint in its namespace: admins and members manage, viewers read. */
  orgSpaceEndpoint: {
    name: "organization's endpoint in o/<org>/",
    access: (w) => (w === "globalAdmin" || w === "orgMember" ? "manage" : ORG_ROLES[w] ?? "none"),
  },
  /** Making an endpoint public: global admins; the organization's admins for its endpoints (the caller's own: read, i.e. 403). */
  publishOwn: { name: "make one's own endpoint public", access: (w) => (w === "globalAdmin" ? "manage" : "read") },
  publishOwnerEndpoint: { name: "make the user's endpoint public", access: (w) => (w === "globalAdmin" ? "manage" : w === "owner" ? "read" : "none") },
  publishOrgEndpoint: { name: "make the org's endpoint public", access: (w) => (w === "globalAdmin" || w === "orgAdmin" ? "manage" : ORG_ROLES[w] ? "read" : "none") },
  /** A global admin's action whose existence is no secret: 403 for everyone else (reservations). */
  globalAdminAction: { name: "global admins' action", access: (w) => (w === "globalAdmin" ? "manage" : "read") },
  /** A reservation held by the organization: its members see it, global admins delete it. */
  orgReservation: { name: "the organization's reservation", access: (w) => (w === "globalAdmin" ? "manage" : ORG_ROLES[w] ? "read" : "none") },
  /** The audit log: global admins and organization admins read (their organizations' entries). */
  auditLog: { name: "audit log", access: (w) => (w === "globalAdmin" || w === "orgAdmin" ? "manage" : "read") },
  /** A public endpoint: everyone reads, its owner (and global admins) manage. */
  publicEndpoint: { name: "public endpoint", access: (w) => (w === "owner" || w === "globalAdmin" ? "manage" : "read") },
  /** The organization itself and its member list. */
  org: { name: "organization", access: (w) => (w === "globalAdmin" ? "manage" : ORG_ROLES[w] ?? "none") },
  /** Global admins only (user management): everyone else is refused before any lookup, the same for every name. */
  globalAdminOnly: { name: "global admins only", access: (w) => (w === "globalAdmin" ? "manage" : "none") },
  /** Linking an organization to GitHub: global admins; its members may see it (403), others not (404). */
  orgGlobalAdmin: { name: "organization, global admins only", access: (w) => (w === "globalAdmin" ? "manage" : ORG_ROLES[w] ? "read" : "none") },
  /** Something that does not exist: nobody, not even a global admin, can tell it from a foreign one. */
  missing: { name: "nonexistent", access: () => "none" },
  /** Per-user things (named consumers, subscriptions): the owner's alone; names and ids of others are not found. */
  ownerOnly: { name: "the owner's consumer/subscription", access: (w) => (w === "owner" ? "manage" : "none") },
  /** Messages: read access follows endpoint read grants only; admin rights grant no messages. */
  ownMessage: { name: "message on a private endpoint", access: (w) => (w === "owner" ? "read" : "none") },
  orgMessage: { name: "message on an org endpoint", access: (w) => (ORG_ROLES[w] ? "read" : "none") },
  publicMessage: { name: "message on a public endpoint", access: () => "read" },
} satisfies Record<string, Scope>;

export interface MatrixRequest {
  path: string;
  body?: unknown;
}

export interface MatrixRow {
  /** As mounted: `GET /api/v1/endpoints/:id`. */
  route: string;
  scope: Scope;
  /** A short note for the report (which variant of the route this row covers). */
  note?: string;
  /** Builds the request for one principal (may create fresh resources first). */
  request(fx: MatrixFixture, who: PrincipalName): Promise<MatrixRequest> | MatrixRequest;
  expect: Partial<Record<Access, number>>;
  /** The resource's existence is no secret here, so a 403 for `none` reveals nothing. */
  noneMayBe403?: boolean;
  /** Extra assertions on a response body (e.g. nothing foreign in a list); returns a problem or undefined. */
  check?(body: any, who: PrincipalName, fx: MatrixFixture): string | undefined;
}

export interface MatrixResult {
  row: MatrixRow;
  who: PrincipalName;
  expected: number;
  actual: number;
  problem?: string;
}

/**
 * The API routes (`METHOD /api/v1/...` with `:params`), read from the OpenAPI document, which
 * gateway/test/openapi.test.ts holds equal to the routes the app really serves.
 */
export function mountedApiRoutes(): string[] {
  return documentedRoutes(stubDocument())
    .filter((r) => r.split(" ")[1]!.startsWith("/api/v1/"))
    .map((r) => r.replace(/\{([^}]+)\}/g, ":$1"));
}

/** Problems with the table itself: uncovered routes, rows for routes not mounted, 403s that leak existence. */
export function checkTable(rows: readonly MatrixRow[], mounted: readonly string[]): { problems: string[]; skipped: MatrixRow[] } {
  const problems: string[] = [];
  const covered = new Set(rows.map((r) => r.route));
  for (const route of mounted) if (!covered.has(route)) problems.push(`route ${route} has no row in the authorization matrix`);
  const skipped = rows.filter((r) => !mounted.includes(r.route));
  for (const row of rows) {
    if (row.expect.none === 403 && !row.noneMayBe403) {
      problems.push(`${row.route} (${row.scope.name}): 'none' expects 403, which confirms existence; use 404`);
    }
    const levels = new Set(PRINCIPALS.filter((p) => p !== "anonymous").map((p) => row.scope.access(p as Exclude<PrincipalName, "anonymous">)));
    for (const level of levels) {
      if (row.expect[level] === undefined) problems.push(`${row.route} (${row.scope.name}${row.note ? `, ${row.note}` : ""}): no expectation for '${level}'`);
    }
  }
  return { problems, skipped };
}

/**
 * Sends every row's request as every principal; resolves to one result per cell. With a
 * `contract`, every answer must also be one the OpenAPI document declares (status, body).
 */
export async function runMatrix(fx: MatrixFixture, rows: readonly MatrixRow[], contract?: Contract): Promise<MatrixResult[]> {
  const results: MatrixResult[] = [];
  for (const row of rows) {
    const [method, template] = row.route.split(" ") as [string, string];
    const cells = await Promise.all(
      PRINCIPALS.map(async (who): Promise<MatrixResult> => {
        const expected = who === "anonymous" ? 401 : row.expect[row.scope.access(who)]!;
        const req = await row.request(fx, who);
        if (!matchesTemplate(req.path, template)) {
          return { row, who, expected, actual: 0, problem: `request path ${req.path} does not match ${template}` };
        }
        const token = who === "anonymous" ? undefined : fx.users[who].token;
        const res = await fetch(fx.url + req.path, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(req.body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
        });
        // An event stream never ends by itself: its status is the answer.
        const streaming = res.headers.get("content-type")?.startsWith("text/event-stream");
        if (streaming) await res.body?.cancel();
        const text = streaming ? "" : await res.text();
        let body: any = null;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          body = text;
        }
        let problem: string | undefined;
        if (res.status >= 400 && !body?.error?.code) problem = "error response without {error:{code}}";
        if (!problem && res.status === expected && row.check && res.status < 300) problem = row.check(body, who, fx);
        if (!problem && contract) {
          const broken = contract.check(method, req.path, { status: res.status, contentType: res.headers.get("content-type"), body: text ? body : undefined });
          if (broken.length) problem = `not as documented: ${broken.join("; ")}`;
        }
        return { row, who, expected, actual: res.status, problem };
      }),
    );
    results.push(...cells);
  }
  return results;
}

/** The cells that did not get the expected status (or failed a check), one line each. */
export function failures(results: readonly MatrixResult[]): string[] {
  return results
    .filter((r) => r.actual !== r.expected || r.problem)
    .map((r) => `${r.row.route} [${r.row.scope.name}${r.row.note ? `, ${r.row.note}` : ""}] as ${r.who}: expected ${r.expected}, got ${r.actual}${r.problem ? ` (${r.problem})` : ""}`);
}

/** The matrix as a text table: one line per row, one column per principal. */
export function formatMatrix(results: readonly MatrixResult[]): string {
  const byRow = new Map<MatrixRow, MatrixResult[]>();
  for (const r of results) byRow.set(r.row, [...(byRow.get(r.row) ?? []), r]);
  const head = ["route", "scope", ...PRINCIPALS];
  const lines = [...byRow].map(([row, cells]) => [
    row.route,
    row.scope.name + (row.note ? `, ${row.note}` : ""),
    ...PRINCIPALS.map((p) => {
      const c = cells.find((x) => x.who === p)!;
      return c.actual === c.expected && !c.problem ? String(c.actual) : `${c.actual}!=${c.expected}`;
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [head, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

function matchesTemplate(path: string, template: string): boolean {
  const pathname = path.split("?")[0]!;
  const re = new RegExp("^" + template.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[a-z_]+/gi, "[^/]+") + "$");
  return re.test(pathname);
}

/**
 * Builds the world: one user per principal, an organization with an admin, a member and a viewer,
 * a private, an organization and a public endpoint, and one stored message on each.
 */
export async function createMatrixFixture(deps: { url: string; db: Db; box: SecretBox; announce(endpoints: MatrixEndpoint[]): Promise<void> }): Promise<MatrixFixture> {
  const unique = (prefix: string) => `${prefix}${randomBytes(5).toString("hex")}`;
  const newUser = async (isAdmin = false): Promise<MatrixUser> => {
    const u = await createUser(deps.db, { name: unique("m"), isAdmin });
    const { token } = await createApiToken(deps.db, u.id, "matrix");
    return { id: u.id, name: u.name, token };
  };
  const names = PRINCIPALS.filter((p) => p !== "anonymous") as Exclude<PrincipalName, "anonymous">[];
  const users = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await newUser(n === "globalAdmin")] as const)),
  ) as MatrixFixture["users"];

  const org = await createOrganization(deps.db, unique("org-"));
  await addMember(deps.db, org.id, users.orgAdmin.id, "admin");
  await addMember(deps.db, org.id, users.orgMember.id, "member");
  await addMember(deps.db, org.id, users.orgViewer.id, "viewer");

  const freshEndpoint = async (kind: EndpointKind | "orgSpace"): Promise<MatrixEndpoint> => {
    const path = kind === "orgSpace" ? `o/${org.name}/${unique("m")}` : `matrix/${unique(kind)}`;
    const { endpoint, secret } = await createEndpoint(deps.db, deps.box, {
      path,
      provider: "github",
      owner: kind === "org" || kind === "orgSpace" ? { orgId: org.id } : { userId: users.owner.id },
      isPublic: kind === "public",
    });
    return { id: endpoint.id, path, secret };
  };
  const endpoints = { own: await freshEndpoint("own"), org: await freshEndpoint("org"), public: await freshEndpoint("public") };
  await deps.announce(Object.values(endpoints));
  const messages = {} as Record<EndpointKind, number>;
  for (const kind of ["own", "org", "public"] as const) {
    const res = await postGithub(`${deps.url}/webhook/${endpoints[kind].path}`, { secret: endpoints[kind].secret });
    if (res.status !== 202) throw new Error(`matrix fixture: delivery to ${kind} endpoint got ${res.status}`);
    messages[kind] = (await res.json()).id;
  }

  /** As the owner, through the API (named consumers and subscriptions have no other way in). */
  const asOwner = async (path: string, body: unknown): Promise<any> => {
    const res = await fetch(deps.url + path, {
      method: "POST",
      headers: { authorization: `Bearer ${users.owner.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`matrix fixture: POST ${path} got ${res.status}: ${await res.text()}`);
    return res.json();
  };
  const freshConsumer = async () => (await asOwner("/api/v1/consumers", { name: unique("c") })).name as string;
  const ownerConsumer = await freshConsumer();
  const freshSubscription = async () =>
    (await asOwner("/api/v1/subscriptions", { webhook_path_pattern: `/webhook/${endpoints.own.path}`, consumer: ownerConsumer })).id as string;
  const ownerSubscription = await freshSubscription();
  const freshReservation = async () =>
    (await createReservation(deps.db, cliActing(CLI_ACTOR), { prefix: `reserved/${unique("r")}`, owner: { organization: org.name } })).id;
  const orgReservation = await freshReservation();

  return {
    url: deps.url,
    ownerConsumer,
    ownerSubscription,
    freshConsumer,
    freshSubscription,
    users,
    org: { id: org.id, name: org.name },
    endpoints,
    messages,
    freshEndpoint,
    freshReservation,
    orgReservation,
    freshUser: () => newUser(),
    freshOwnerToken: async () => (await createApiToken(deps.db, users.owner.id, "matrix-owner")).id,
    freshOwnerSession: async () => (await startSession(deps.db, users.owner.id, "matrix")).session.id,
    async freshMember() {
      const u = await newUser();
      await addMember(deps.db, org.id, u.id, "member");
      return u;
    },
    unique,
  };
}
