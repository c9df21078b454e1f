/**
 * Every API route × every kind of principal (see test-support/src/matrix.ts). A route mounted without a
 * row here fails the first test, so new routes cannot skip the matrix.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestBroker,
  type TestBroker,
  checkTable,
  createMatrixFixture,
  failures,
  formatMatrix,
  mountedApiRoutes,
  runMatrix,
  SCOPES,
  type MatrixFixture,
  type MatrixRow,
  messageIds,
  Contract,
  stubDocument,
} from "@wb/test-support";

const NIL = "00000000-0000-0000-0000-000000000000";

/** Reads 200, changes 403, strangers 404. */
const READ_ONLY = { none: 404, read: 200, manage: 200 };
const manage = (ok: number) => ({ none: 404, read: 403, manage: ok });
/** Mass assignment: the body is refused (400) once the caller is allowed to try at all. */
const massAssignment = { none: 404, read: 403, manage: 400 };

const endpointScopes = [
  ["own", SCOPES.ownEndpoint],
  ["org", SCOPES.orgEndpoint],
  ["public", SCOPES.publicEndpoint],
] as const;

/** Endpoints made fresh for a destructive request, including the organization's own space. */
const freshScopes = [...endpointScopes, ["orgSpace", SCOPES.orgSpaceEndpoint]] as const;

const messageScopes = [
  ["own", SCOPES.ownMessage],
  ["org", SCOPES.orgMessage],
  ["public", SCOPES.publicMessage],
] as const;

const ids = messageIds;

export const ROWS: MatrixRow[] = [
  // ---- me: every principal sees himself, and only himself
  {
    route: "GET /api/v1/me",
    scope: SCOPES.self,
    request: () => ({ path: "/api/v1/me" }),
    expect: { manage: 200 },
    check(body, who, fx) {
      const me = fx.users[who as Exclude<typeof who, "anonymous">];
      if (body.user.id !== me.id) return "answered for another user";
      // His id and his secret inbox token (nobody else can name it as a reply subject).
      if (!new RegExp(`^_INBOX_${me.id.replace(/-/g, "")}_[0-9a-f]{32}$`).test(body.nats.inbox_prefix)) return "wrong inbox prefix";
      if (!body.nats.consumers.some((c: any) => c.name === "default")) return "no default consumer";
      return undefined;
    },
  },
  // ---- endpoints
  {
    route: "GET /api/v1/endpoints",
    scope: SCOPES.self,
    request: () => ({ path: "/api/v1/endpoints" }),
    expect: { manage: 200 },
    check(body, who, fx) {
      const seen = new Set(body.endpoints.map((e: any) => e.id));
      const may = {
        own: ["owner", "globalAdmin"].includes(who),
        org: ["orgAdmin", "orgMember", "orgViewer", "globalAdmin"].includes(who),
        public: true,
      };
      for (const kind of ["own", "org", "public"] as const) {
        if (seen.has(fx.endpoints[kind].id) !== may[kind]) return `listing ${may[kind] ? "lacks" : "shows"} the ${kind} endpoint`;
      }
      return undefined;
    },
  },
  ...endpointScopes.map(
    ([kind, scope]): MatrixRow => ({
      route: "GET /api/v1/endpoints/:id",
      scope,
      request: (fx) => ({ path: `/api/v1/endpoints/${fx.endpoints[kind].id}` }),
      expect: READ_ONLY,
      check: (body, _who, fx) => (body.id !== fx.endpoints[kind].id || "secret" in body ? "wrong endpoint or secret shown" : undefined),
    }),
  ),
  { route: "GET /api/v1/endpoints/:id", scope: SCOPES.missing, note: "unknown id", request: () => ({ path: `/api/v1/endpoints/${NIL}` }), expect: { none: 404 } },
  { route: "GET /api/v1/endpoints/:id", scope: SCOPES.missing, note: "malformed id", request: () => ({ path: "/api/v1/endpoints/not-an-id" }), expect: { none: 404 } },
  {
    route: "POST /api/v1/endpoints",
    scope: SCOPES.self,
    note: "for oneself",
    request: (fx) => ({ path: "/api/v1/endpoints", body: { path: `matrix/${fx.unique("self")}`, provider: "github" } }),
    expect: { manage: 201 },
    check: (body, who, fx) => (who !== "anonymous" && body.owner.id !== fx.users[who].id ? "owned by someone else" : undefined),
  },
  {
    route: "POST /api/v1/endpoints",
    scope: SCOPES.org,
    note: "owner: the organization",
    request: (fx) => ({
      path: "/api/v1/endpoints",
      body: { path: `matrix/${fx.unique("org")}`, provider: "github", owner: { organization: fx.org.name } },
    }),
    expect: manage(201),
  },
  {
    route: "POST /api/v1/endpoints",
    scope: SCOPES.ownEndpoint,
    note: "owner: another user (admins only)",
    request: (fx) => ({
      path: "/api/v1/endpoints",
      body: { path: `matrix/${fx.unique("for")}`, provider: "github", owner: { user: fx.users.owner.name } },
    }),
    // Refused before the named user is looked up, the same for every name: nothing is revealed.
    expect: { none: 403, manage: 201 },
    noneMayBe403: true,
  },
  {
    route: "POST /api/v1/endpoints",
    scope: SCOPES.orgSpaceEndpoint,
    note: "owner: the organization, in its namespace o/<org>/",
    request: (fx) => ({
      path: "/api/v1/endpoints",
      body: { path: `o/${fx.org.name}/${fx.unique("ns")}`, provider: "github", owner: { organization: fx.org.name } },
    }),
    expect: { none: 404, read: 403, manage: 201 },
  },
  {
    route: "POST /api/v1/endpoints",
    scope: SCOPES.publishOwn,
    note: "public: true, for oneself (public is a privilege)",
    request: (fx) => ({ path: "/api/v1/endpoints", body: { path: `matrix/${fx.unique("pub")}`, provider: "github", public: true } }),
    expect: { read: 403, manage: 201 },
  },
  ...["owner_id", "owner_user_id", "organization_id", "filter_subject", "user_id"].map(
    (field): MatrixRow => ({
      route: "POST /api/v1/endpoints",
      scope: SCOPES.self,
      note: `mass assignment: ${field}`,
      request: (fx) => ({
        path: "/api/v1/endpoints",
        body: { path: `matrix/${fx.unique("mass")}`, provider: "github", [field]: field === "filter_subject" ? "wh.>" : fx.users.owner.id },
      }),
      expect: { manage: 400 },
    }),
  ),
  ...freshScopes.map(
    ([kind, scope]): MatrixRow => ({
      route: "PATCH /api/v1/endpoints/:id",
      scope,
      note: "description",
      request: async (fx) => ({ path: `/api/v1/endpoints/${(await fx.freshEndpoint(kind)).id}`, body: { description: "changed" } }),
      expect: manage(200),
      check: (body) => (body.description !== "changed" ? "description not changed" : undefined),
    }),
  ),
  {
    route: "PATCH /api/v1/endpoints/:id",
    scope: SCOPES.publishOwnerEndpoint,
    note: "public: true on the user's private endpoint",
    request: async (fx) => ({ path: `/api/v1/endpoints/${(await fx.freshEndpoint("own")).id}`, body: { public: true } }),
    expect: { none: 404, read: 403, manage: 200 },
  },
  {
    route: "PATCH /api/v1/endpoints/:id",
    scope: SCOPES.publishOrgEndpoint,
    note: "public: true on the organization's endpoint",
    request: async (fx) => ({ path: `/api/v1/endpoints/${(await fx.freshEndpoint("org")).id}`, body: { public: true } }),
    expect: { none: 404, read: 403, manage: 200 },
  },
  ...[
    ["rename", { path: "matrix/elsewhere" }],
    ["provider", { provider: "none" }],
    ["owner", { owner: { user: "someone" } }],
    ["owner_user_id", { owner_user_id: NIL }],
  ].map(
    ([note, body]): MatrixRow => ({
      route: "PATCH /api/v1/endpoints/:id",
      scope: SCOPES.ownEndpoint,
      note: `fixed field: ${note as string}`,
      request: async (fx) => ({ path: `/api/v1/endpoints/${(await fx.freshEndpoint("own")).id}`, body }),
      expect: { none: 404, manage: 400 },
    }),
  ),
  { route: "PATCH /api/v1/endpoints/:id", scope: SCOPES.missing, note: "unknown id", request: () => ({ path: `/api/v1/endpoints/${NIL}`, body: {} }), expect: { none: 404 } },
  { route: "PATCH /api/v1/endpoints/:id", scope: SCOPES.missing, note: "36 dashes", request: () => ({ path: `/api/v1/endpoints/${"-".repeat(36)}`, body: {} }), expect: { none: 404 } },
  ...freshScopes.map(
    ([kind, scope]): MatrixRow => ({
      route: "POST /api/v1/endpoints/:id/rotate-secret",
      scope,
      request: async (fx) => ({ path: `/api/v1/endpoints/${(await fx.freshEndpoint(kind)).id}/rotate-secret`, body: {} }),
      expect: manage(200),
    }),
  ),
  {
    route: "POST /api/v1/endpoints/:id/rotate-secret",
    scope: SCOPES.missing,
    note: "unknown id",
    request: () => ({ path: `/api/v1/endpoints/${NIL}/rotate-secret`, body: {} }),
    expect: { none: 404 },
  },
  ...freshScopes.map(
    ([kind, scope]): MatrixRow => ({
      route: "DELETE /api/v1/endpoints/:id",
      scope,
      request: async (fx) => ({ path: `/api/v1/endpoints/${(await fx.freshEndpoint(kind)).id}` }),
      expect: manage(204),
    }),
  ),
  { route: "DELETE /api/v1/endpoints/:id", scope: SCOPES.missing, note: "unknown id", request: () => ({ path: `/api/v1/endpoints/${NIL}` }), expect: { none: 404 } },

  // ---- reservations
  {
    route: "POST /api/v1/reservations",
    scope: SCOPES.globalAdminAction,
    request: (fx) => ({ path: "/api/v1/reservations", body: { prefix: `reserved/${fx.unique("p")}`, owner: { organization: fx.org.name } } }),
    expect: { read: 403, manage: 201 },
  },
  {
    route: "GET /api/v1/reservations",
    scope: SCOPES.self,
    request: () => ({ path: "/api/v1/reservations" }),
    expect: { manage: 200 },
    check(body, who, fx) {
      const listed = body.reservations.some((r: any) => r.id === fx.orgReservation);
      const may = who !== "anonymous" && SCOPES.orgReservation.access(who) !== "none";
      return listed !== may ? `${may ? "lacks" : "shows"} the organization's reservation` : undefined;
    },
  },
  {
    route: "DELETE /api/v1/reservations/:id",
    scope: SCOPES.orgReservation,
    request: async (fx) => ({ path: `/api/v1/reservations/${await fx.freshReservation()}` }),
    expect: { none: 404, read: 403, manage: 204 },
  },
  { route: "DELETE /api/v1/reservations/:id", scope: SCOPES.missing, note: "unknown id", request: () => ({ path: `/api/v1/reservations/${NIL}` }), expect: { none: 404 } },

  // ---- audit log
  {
    route: "GET /api/v1/audit",
    scope: SCOPES.auditLog,
    request: () => ({ path: "/api/v1/audit?limit=1000" }),
    expect: { read: 403, manage: 200 },
    check(body, who, fx) {
      if (who === "orgAdmin" && body.entries.some((e: any) => e.organization_id !== fx.org.id)) return "an org admin sees entries of other organizations";
      if (!body.entries.some((e: any) => e.organization_id === fx.org.id)) return "the organization's entries are missing";
      return undefined;
    },
  },
  {
    route: "GET /api/v1/audit",
    scope: SCOPES.org,
    note: "?organization=<org>",
    request: (fx) => ({ path: `/api/v1/audit?organization=${fx.org.name}` }),
    expect: { none: 404, read: 403, manage: 200 },
  },

  // ---- messages
  {
    route: "GET /api/v1/messages",
    scope: SCOPES.self,
    note: "replay from before the fixture's messages",
    request: (fx) => ({ path: `/api/v1/messages?after_id=${Math.min(...Object.values(fx.messages)) - 1}&limit=500` }),
    expect: { manage: 200 },
    check(body, who, fx) {
      const got = new Set(ids(body));
      for (const [kind, scope] of messageScopes) {
        const may = who !== "anonymous" && scope.access(who) !== "none";
        if (got.has(fx.messages[kind]) !== may) return `${may ? "lacks" : "shows"} the ${kind} message`;
      }
      return undefined;
    },
  },
  {
    route: "GET /api/v1/messages",
    scope: SCOPES.self,
    note: "a foreign cursor reveals nothing",
    request: (fx) => ({ path: `/api/v1/messages?after_id=${fx.messages.own - 1}&limit=1` }),
    expect: { manage: 200 },
    check: (body, who, fx) => (who !== "owner" && ids(body).includes(fx.messages.own) ? "shows the owner's message" : undefined),
  },
  ...messageScopes.map(
    ([kind, scope]): MatrixRow => ({
      route: "POST /api/v1/messages/ack",
      scope,
      request: (fx) => ({ path: "/api/v1/messages/ack", body: { message_ids: [fx.messages[kind]] } }),
      expect: { none: 404, read: 200 },
    }),
  ),
  {
    route: "POST /api/v1/messages/ack",
    scope: SCOPES.missing,
    note: "unknown id",
    request: () => ({ path: "/api/v1/messages/ack", body: { message_ids: [Number.MAX_SAFE_INTEGER] } }),
    expect: { none: 404 },
  },
  ...["owner_id", "user_id", "filter_subject"].map(
    (field): MatrixRow => ({
      route: "POST /api/v1/messages/ack",
      scope: SCOPES.publicMessage,
      note: `mass assignment: ${field}`,
      request: (fx) => ({ path: "/api/v1/messages/ack", body: { message_ids: [fx.messages.public], [field]: fx.users.owner.id } }),
      expect: { read: 400 },
    }),
  ),

  ...(["in_progress", "term", "nak"] as const).flatMap((verb) =>
    messageScopes.map(
      ([kind, scope]): MatrixRow => ({
        route: `POST /api/v1/messages/${verb}`,
        scope,
        request: (fx) => ({ path: `/api/v1/messages/${verb}`, body: { message_ids: [fx.messages[kind]] } }),
        expect: { none: 404, read: 200 },
      }),
    ),
  ),
  ...(["ack", "in_progress", "term", "nak"] as const).map(
    (verb): MatrixRow => ({
      route: `POST /api/v1/messages/${verb}`,
      scope: SCOPES.ownerOnly,
      note: "the owner's named consumer",
      request: (fx) => ({ path: `/api/v1/messages/${verb}`, body: { message_ids: [fx.messages.public], consumer: fx.ownerConsumer } }),
      expect: { none: 404, manage: 200 },
    }),
  ),
  ...(["in_progress", "term", "nak"] as const).map(
    (verb): MatrixRow => ({
      route: `POST /api/v1/messages/${verb}`,
      scope: SCOPES.publicMessage,
      note: "mass assignment: owner_id",
      request: (fx) => ({ path: `/api/v1/messages/${verb}`, body: { message_ids: [fx.messages.public], owner_id: fx.users.owner.id } }),
      expect: { read: 400 },
    }),
  ),
  {
    route: "GET /api/v1/messages",
    scope: SCOPES.ownerOnly,
    note: "the owner's named consumer",
    request: (fx) => ({ path: `/api/v1/messages?consumer=${fx.ownerConsumer}` }),
    expect: { none: 404, manage: 200 },
  },

  ...messageScopes.map(
    ([kind, scope]): MatrixRow => ({
      route: "GET /api/v1/messages/:id",
      scope,
      request: (fx) => ({ path: `/api/v1/messages/${fx.messages[kind]}` }),
      expect: { none: 404, read: 200 },
    }),
  ),
  {
    route: "GET /api/v1/messages/:id",
    scope: SCOPES.missing,
    note: "unknown id",
    request: () => ({ path: `/api/v1/messages/${Number.MAX_SAFE_INTEGER}` }),
    expect: { none: 404 },
  },
  ...messageScopes.map(
    ([kind, scope]): MatrixRow => ({
      route: "GET /api/v1/messages/:id/raw",
      scope,
      request: (fx) => ({ path: `/api/v1/messages/${fx.messages[kind]}/raw` }),
      expect: { none: 404, read: 200 },
    }),
  ),
  {
    route: "GET /api/v1/messages/:id/raw",
    scope: SCOPES.missing,
    note: "unknown id",
    request: () => ({ path: `/api/v1/messages/${Number.MAX_SAFE_INTEGER}/raw` }),
    expect: { none: 404 },
  },
  {
    route: "GET /api/v1/messages/stream",
    scope: SCOPES.self,
    note: "the caller's default consumer",
    request: () => ({ path: "/api/v1/messages/stream" }),
    expect: { manage: 200 },
  },
  {
    route: "GET /api/v1/messages/stream",
    scope: SCOPES.ownerOnly,
    note: "the owner's named consumer",
    request: (fx) => ({ path: `/api/v1/messages/stream?consumer=${fx.ownerConsumer}` }),
    expect: { none: 404, manage: 200 },
  },

  // ---- named consumers
  {
    route: "POST /api/v1/consumers",
    scope: SCOPES.self,
    request: (fx) => ({ path: "/api/v1/consumers", body: { name: fx.unique("c") } }),
    expect: { manage: 201 },
  },
  ...["user_id", "durable_name", "filter_subject", "filter_subjects"].map(
    (field): MatrixRow => ({
      route: "POST /api/v1/consumers",
      scope: SCOPES.self,
      note: `mass assignment: ${field}`,
      request: (fx) => ({ path: "/api/v1/consumers", body: { name: fx.unique("c"), [field]: field.startsWith("filter") ? "wh.>" : fx.users.owner.id } }),
      expect: { manage: 400 },
    }),
  ),
  {
    route: "GET /api/v1/consumers",
    scope: SCOPES.self,
    request: () => ({ path: "/api/v1/consumers" }),
    expect: { manage: 200 },
    check: (body, who, fx) =>
      body.consumers.some((c: any) => c.name === fx.ownerConsumer) !== (who === "owner") ? "the owner's consumer listed wrongly" : undefined,
  },
  { route: "GET /api/v1/consumers/:name", scope: SCOPES.ownerOnly, request: (fx) => ({ path: `/api/v1/consumers/${fx.ownerConsumer}` }), expect: { none: 404, manage: 200 } },
  { route: "GET /api/v1/consumers/:name", scope: SCOPES.missing, note: "unknown name", request: (fx) => ({ path: `/api/v1/consumers/${fx.unique("none")}` }), expect: { none: 404 } },
  {
    route: "POST /api/v1/consumers/:name/rewind",
    scope: SCOPES.ownerOnly,
    request: (fx) => ({ path: `/api/v1/consumers/${fx.ownerConsumer}/rewind`, body: { sequence: 1 } }),
    expect: { none: 404, manage: 200 },
  },
  {
    route: "POST /api/v1/consumers/:name/rewind",
    scope: SCOPES.missing,
    note: "unknown name",
    request: (fx) => ({ path: `/api/v1/consumers/${fx.unique("none")}/rewind`, body: { sequence: 1 } }),
    expect: { none: 404 },
  },
  {
    route: "DELETE /api/v1/consumers/:name",
    scope: SCOPES.ownerOnly,
    request: async (fx) => ({ path: `/api/v1/consumers/${await fx.freshConsumer()}` }),
    expect: { none: 404, manage: 204 },
  },

  // ---- subscriptions
  {
    route: "POST /api/v1/subscriptions",
    scope: SCOPES.self,
    note: "a pattern inside the public endpoint",
    request: (fx) => ({ path: "/api/v1/subscriptions", body: { webhook_path_pattern: `/webhook/${fx.endpoints.public.path}` } }),
    expect: { manage: 201 },
  },
  {
    route: "POST /api/v1/subscriptions",
    scope: SCOPES.ownerOnly,
    note: "onto the owner's named consumer",
    request: (fx) => ({ path: "/api/v1/subscriptions", body: { webhook_path_pattern: `/webhook/${fx.endpoints.public.path}`, consumer: fx.ownerConsumer } }),
    expect: { none: 404, manage: 201 },
  },
  {
    route: "POST /api/v1/subscriptions",
    scope: SCOPES.orgMessage,
    note: "a pattern on the org endpoint (outside: 403 naming the reason, as the issue specifies)",
    request: (fx) => ({ path: "/api/v1/subscriptions", body: { webhook_path_pattern: `/webhook/${fx.endpoints.org.path}` } }),
    // Refused for every path outside the caller's grants, existing or not: nothing is confirmed.
    expect: { none: 403, read: 201 },
    noneMayBe403: true,
  },
  ...["user_id", "filter_subject", "consumer_id"].map(
    (field): MatrixRow => ({
      route: "POST /api/v1/subscriptions",
      scope: SCOPES.self,
      note: `mass assignment: ${field}`,
      request: (fx) => ({
        path: "/api/v1/subscriptions",
        body: { webhook_path_pattern: `/webhook/${fx.endpoints.public.path}`, [field]: field === "filter_subject" ? "wh.>" : fx.users.owner.id },
      }),
      expect: { manage: 400 },
    }),
  ),
  {
    route: "GET /api/v1/subscriptions",
    scope: SCOPES.self,
    request: () => ({ path: "/api/v1/subscriptions" }),
    expect: { manage: 200 },
    check: (body, who, fx) =>
      body.subscriptions.some((s: any) => s.id === fx.ownerSubscription) !== (who === "owner") ? "the owner's subscription listed wrongly" : undefined,
  },
  {
    route: "DELETE /api/v1/subscriptions/:id",
    scope: SCOPES.ownerOnly,
    request: async (fx) => ({ path: `/api/v1/subscriptions/${await fx.freshSubscription()}` }),
    expect: { none: 404, manage: 204 },
  },
  { route: "DELETE /api/v1/subscriptions/:id", scope: SCOPES.missing, note: "unknown id", request: () => ({ path: `/api/v1/subscriptions/${NIL}` }), expect: { none: 404 } },
  { route: "DELETE /api/v1/subscriptions/:id", scope: SCOPES.missing, note: "malformed id", request: () => ({ path: "/api/v1/subscriptions/x" }), expect: { none: 404 } },

  // ---- dead letters
  { route: "GET /api/v1/dead-letters", scope: SCOPES.self, request: () => ({ path: "/api/v1/dead-letters" }), expect: { manage: 200 } },
  {
    route: "GET /api/v1/dead-letters",
    scope: SCOPES.ownerOnly,
    note: "the owner's named consumer",
    request: (fx) => ({ path: `/api/v1/dead-letters?consumer=${fx.ownerConsumer}` }),
    expect: { none: 404, manage: 200 },
  },
  { route: "POST /api/v1/dead-letters/redrive", scope: SCOPES.self, request: () => ({ path: "/api/v1/dead-letters/redrive", body: { from: "2020-01-01T00:00:00Z" } }), expect: { manage: 200 } },
  {
    route: "POST /api/v1/dead-letters/redrive",
    scope: SCOPES.ownerOnly,
    note: "the owner's named consumer",
    request: (fx) => ({ path: "/api/v1/dead-letters/redrive", body: { from: "2020-01-01T00:00:00Z", consumer: fx.ownerConsumer } }),
    expect: { none: 404, manage: 200 },
  },
  {
    route: "POST /api/v1/dead-letters/:id/redrive",
    scope: SCOPES.missing,
    note: "a message that is no dead letter (redrive.test.ts has the owner's)",
    request: (fx) => ({ path: `/api/v1/dead-letters/${fx.messages.own}/redrive` }),
    expect: { none: 404 },
  },

  // ---- organizations
  {
    route: "POST /api/v1/orgs",
    scope: SCOPES.self,
    request: (fx) => ({ path: "/api/v1/orgs", body: { name: fx.unique("org-") } }),
    expect: { manage: 201 },
    check: (body) => (body.role !== "admin" ? "the creator is not its admin" : undefined),
  },
  ...["owner_id", "is_admin", "role", "organization_id"].map(
    (field): MatrixRow => ({
      route: "POST /api/v1/orgs",
      scope: SCOPES.self,
      note: `mass assignment: ${field}`,
      request: (fx) => ({ path: "/api/v1/orgs", body: { name: fx.unique("org-"), [field]: field === "is_admin" ? true : fx.users.owner.id } }),
      expect: { manage: 400 },
    }),
  ),
  {
    route: "GET /api/v1/orgs",
    scope: SCOPES.self,
    request: () => ({ path: "/api/v1/orgs" }),
    expect: { manage: 200 },
    check(body, who, fx) {
      const listed = body.organizations.some((o: any) => o.id === fx.org.id);
      const may = who !== "anonymous" && SCOPES.org.access(who) !== "none";
      return listed !== may ? `${may ? "lacks" : "shows"} the organization` : undefined;
    },
  },
  { route: "GET /api/v1/orgs/:name", scope: SCOPES.org, request: (fx) => ({ path: `/api/v1/orgs/${fx.org.name}` }), expect: READ_ONLY },
  { route: "GET /api/v1/orgs/:name", scope: SCOPES.missing, note: "unknown name", request: (fx) => ({ path: `/api/v1/orgs/${fx.unique("none-")}` }), expect: { none: 404 } },
  {
    route: "PATCH /api/v1/orgs/:name",
    scope: SCOPES.orgGlobalAdmin,
    note: "unlink from GitHub (the fixture organization stays unlinked)",
    request: (fx) => ({ path: `/api/v1/orgs/${fx.org.name}`, body: { github_org: null } }),
    expect: { none: 404, read: 403, manage: 200 },
    check: (body) => (body.github_org !== null ? "still linked" : undefined),
  },
  {
    route: "PATCH /api/v1/orgs/:name",
    scope: SCOPES.orgGlobalAdmin,
    note: "mass assignment: name",
    request: (fx) => ({ path: `/api/v1/orgs/${fx.org.name}`, body: { github_org: null, name: "renamed" } }),
    expect: { none: 404, read: 403, manage: 400 },
  },
  { route: "PATCH /api/v1/orgs/:name", scope: SCOPES.missing, note: "unknown name", request: (fx) => ({ path: `/api/v1/orgs/${fx.unique("none-")}`, body: { github_org: null } }), expect: { none: 404 } },
  { route: "GET /api/v1/orgs/:name/members", scope: SCOPES.org, request: (fx) => ({ path: `/api/v1/orgs/${fx.org.name}/members` }), expect: READ_ONLY },
  {
    route: "GET /api/v1/orgs/:name/members",
    scope: SCOPES.missing,
    note: "unknown name",
    request: (fx) => ({ path: `/api/v1/orgs/${fx.unique("none-")}/members` }),
    expect: { none: 404 },
  },
  {
    route: "POST /api/v1/orgs/:name/members",
    scope: SCOPES.org,
    request: async (fx) => ({ path: `/api/v1/orgs/${fx.org.name}/members`, body: { user: (await fx.freshUser()).name, role: "viewer" } }),
    expect: manage(201),
  },
  ...[
    ["role: owner", { role: "owner" }],
    ["organization_id", { role: "member", organization_id: "x" }],
    ["user_id", { role: "member", user_id: "x" }],
  ].map(
    ([note, extra]): MatrixRow => ({
      route: "POST /api/v1/orgs/:name/members",
      scope: SCOPES.org,
      note: `mass assignment: ${note as string}`,
      request: async (fx) => ({ path: `/api/v1/orgs/${fx.org.name}/members`, body: { user: (await fx.freshUser()).name, ...(extra as object) } }),
      expect: massAssignment,
    }),
  ),
  {
    route: "PATCH /api/v1/orgs/:name/members/:user",
    scope: SCOPES.org,
    request: async (fx) => ({ path: `/api/v1/orgs/${fx.org.name}/members/${(await fx.freshMember()).name}`, body: { role: "viewer" } }),
    expect: manage(200),
  },
  {
    route: "PATCH /api/v1/orgs/:name/members/:user",
    scope: SCOPES.org,
    note: "a user who is not a member",
    request: async (fx) => ({ path: `/api/v1/orgs/${fx.org.name}/members/${(await fx.freshUser()).name}`, body: { role: "viewer" } }),
    expect: { none: 404, read: 403, manage: 404 },
  },
  {
    route: "PATCH /api/v1/orgs/:name/members/:user",
    scope: SCOPES.org,
    note: "mass assignment: user_id",
    request: async (fx) => ({ path: `/api/v1/orgs/${fx.org.name}/members/${(await fx.freshMember()).name}`, body: { role: "admin", user_id: fx.users.outsider.id } }),
    expect: massAssignment,
  },
  {
    route: "DELETE /api/v1/orgs/:name/members/:user",
    scope: SCOPES.org,
    request: async (fx) => ({ path: `/api/v1/orgs/${fx.org.name}/members/${(await fx.freshMember()).name}` }),
    expect: manage(204),
  },
  {
    route: "DELETE /api/v1/orgs/:name/members/:user",
    scope: SCOPES.missing,
    note: "unknown organization",
    request: (fx) => ({ path: `/api/v1/orgs/${fx.unique("none-")}/members/${fx.users.orgMember.name}` }),
    expect: { none: 404 },
  },

  // ---- self-service API tokens and sessions: one's own only
  {
    route: "GET /api/v1/tokens",
    scope: SCOPES.self,
    note: "the owner's tokens are his alone",
    request: async (fx) => {
      await fx.freshOwnerToken();
      return { path: "/api/v1/tokens" };
    },
    expect: { manage: 200 },
    check: (body, who) => (body.tokens.some((t: any) => t.name === "matrix-owner") !== (who === "owner") ? "the owner's token listed wrongly" : undefined),
  },
  {
    route: "POST /api/v1/tokens",
    scope: SCOPES.self,
    request: () => ({ path: "/api/v1/tokens", body: { name: "matrix-extra", expires_in: "1d" } }),
    expect: { manage: 201 },
    check: (body) => (typeof body.token !== "string" ? "no token shown on creation" : undefined),
  },
  ...["user_id", "owner_id", "token_hash"].map(
    (field): MatrixRow => ({
      route: "POST /api/v1/tokens",
      scope: SCOPES.self,
      note: `mass assignment: ${field}`,
      request: (fx) => ({ path: "/api/v1/tokens", body: { name: "x", [field]: fx.users.owner.id } }),
      expect: { manage: 400 },
    }),
  ),
  { route: "DELETE /api/v1/tokens/:id", scope: SCOPES.ownerOnly, request: async (fx) => ({ path: `/api/v1/tokens/${await fx.freshOwnerToken()}` }), expect: { none: 404, manage: 204 } },
  { route: "DELETE /api/v1/tokens/:id", scope: SCOPES.missing, note: "unknown id", request: () => ({ path: `/api/v1/tokens/${NIL}` }), expect: { none: 404 } },
  { route: "DELETE /api/v1/tokens/:id", scope: SCOPES.missing, note: "malformed id", request: () => ({ path: "/api/v1/tokens/x" }), expect: { none: 404 } },
  { route: "GET /api/v1/sessions", scope: SCOPES.self, request: () => ({ path: "/api/v1/sessions" }), expect: { manage: 200 } },
  { route: "DELETE /api/v1/sessions/:id", scope: SCOPES.ownerOnly, request: async (fx) => ({ path: `/api/v1/sessions/${await fx.freshOwnerSession()}` }), expect: { none: 404, manage: 204 } },
  { route: "DELETE /api/v1/sessions/:id", scope: SCOPES.missing, note: "unknown id", request: () => ({ path: `/api/v1/sessions/${NIL}` }), expect: { none: 404 } },

  // ---- users: global admins only; everyone else 403 before any lookup (the same for every name)
  ...(
    [
      ["GET /api/v1/users", undefined, () => ({ path: "/api/v1/users" }), 200],
      ["POST /api/v1/users", undefined, (fx: MatrixFixture) => ({ path: "/api/v1/users", body: { name: fx.unique("mu") } }), 201],
      ["POST /api/v1/users", "mass assignment: is_admin", (fx: MatrixFixture) => ({ path: "/api/v1/users", body: { name: fx.unique("mu"), is_admin: true } }), 400],
      ["GET /api/v1/users/:name", undefined, (fx: MatrixFixture) => ({ path: `/api/v1/users/${fx.users.owner.name}` }), 200],
      ["GET /api/v1/users/:name", "unknown name", (fx: MatrixFixture) => ({ path: `/api/v1/users/${fx.unique("none")}` }), 404],
      ["PATCH /api/v1/users/:name", "disable", async (fx: MatrixFixture) => ({ path: `/api/v1/users/${(await fx.freshUser()).name}`, body: { disabled: true } }), 200],
      ["PATCH /api/v1/users/:name", "make admin", async (fx: MatrixFixture) => ({ path: `/api/v1/users/${(await fx.freshUser()).name}`, body: { admin: true } }), 200],
      ["PATCH /api/v1/users/:name", "mass assignment: name", async (fx: MatrixFixture) => ({ path: `/api/v1/users/${(await fx.freshUser()).name}`, body: { name: "x" } }), 400],
      ["PATCH /api/v1/users/:name", "unknown name", (fx: MatrixFixture) => ({ path: `/api/v1/users/${fx.unique("none")}`, body: { disabled: true } }), 404],
    ] as const
  ).map(
    ([route, note, request, ok]): MatrixRow => ({ route, note, scope: SCOPES.globalAdminOnly, request, expect: { none: 403, manage: ok }, noneMayBe403: true }),
  ),
];

let broker: TestBroker;
let fx: MatrixFixture;

beforeAll(async () => {
  broker = await startTestBroker();
  fx = await createMatrixFixture({
    url: broker.url,
    db: broker.database.db,
    box: broker.box,
    announce: (endpoints) => broker.endpointsChanged(endpoints),
  });
}, 60_000);
afterAll(() => broker?.close());

describe("authorization matrix", () => {
  it("covers every mounted /api/v1 route and never expects a 403 that confirms existence", () => {
    const { problems } = checkTable(ROWS, mountedApiRoutes());
    expect(problems).toEqual([]);
  });

  it("gives every principal the expected status on every route", async () => {
    const mounted = mountedApiRoutes();
    // Every answer is also checked against the OpenAPI document (errors included).
    const results = await runMatrix(fx, ROWS.filter((r) => mounted.includes(r.route)), new Contract(stubDocument()));
    if (process.env.MATRIX_PRINT) console.info(formatMatrix(results));
    expect(failures(results)).toEqual([]);
  }, 120_000);

  it("answers 401 for anonymous requests anywhere under /api/v1, even unknown paths", async () => {
    for (const path of ["/api/v1/", "/api/v1/nothing-here", "/api/v1/orgs/x/members/y"]) {
      const res = await fetch(broker.url + path, { method: "DELETE" });
      expect(res.status, path).toBe(401);
    }
  });
});
