import { z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  announceEndpointChanged,
  createEndpointAs,
  deleteEndpoint,
  endpointFor,
  listVisibleEndpoints,
  MAX_BODY_LIMIT,
  MAX_DESCRIPTION,
  rotateEndpointSecret,
  updateEndpointAs,
  viewEndpoint,
  parseDuration,
  type Db,
  type EndpointChanged,
  type Limits,
  type SecretBox,
} from "@wb/authz";
import type { EndpointCache } from "../endpoint-cache.js";
import { instant, json, router, routes } from "../openapi.js";
import { actingOf } from "../middleware/auth.js";
import { parseJson } from "../validate.js";
import { validateProviderOptions } from "../webhooks/options.js";

export interface EndpointsDeps {
  db: Db;
  box: SecretBox;
  nc: NatsConnection;
  endpoints: EndpointCache;
}

const maxBodyBytes = z.number().int().min(1).max(MAX_BODY_LIMIT);

// strictObject: unknown keys (owner ids, raw subjects, ...) are rejected, not ignored.
const createBody = z.strictObject({
  path: z.string().min(1).max(512),
  provider: z.string().min(1),
  secret: z.string().min(8).max(512).optional(),
  provider_options: z.record(z.string(), z.unknown()).optional(),
  owner: z.union([z.strictObject({ user: z.string().max(64) }), z.strictObject({ organization: z.string().max(64) })]).optional(),
  public: z.boolean().optional(),
  max_body_bytes: maxBodyBytes.optional(),
  description: z.string().max(MAX_DESCRIPTION).optional(),
  repository_scoped: z.boolean().optional(),
});

// The path, the provider and the owner are fixed: a new path is a new endpoint (and `path` here is a 400).
const patchBody = z.strictObject({
  description: z.string().max(MAX_DESCRIPTION).nullable().optional(),
  public: z.boolean().optional(),
  provider_options: z.record(z.string(), z.unknown()).optional(),
  max_body_bytes: maxBodyBytes.nullable().optional(),
  repository_scoped: z.boolean().optional(),
});

const MAX_PREVIOUS_VALID_FOR = 30 * 86_400_000;

const rotateBody = z.strictObject({
  secret: z.string().min(8).max(512).optional(),
  /** How long the secret being replaced keeps verifying; `0s` cuts it off at once. */
  previous_valid_for: z
    .string()
    .default("24h")
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || ms > MAX_PREVIOUS_VALID_FOR) {
        ctx.addIssue({ code: "custom", message: `not a duration up to 30d: ${v} (use e.g. 0s, 30m, 24h, 7d)` });
      }
      return ms ?? 0;
    }),
});

const Endpoint = z
  .object({
    id: z.string(),
    path: z.string().openapi({ example: "acme/github" }),
    url_path: z.string().openapi({ description: "Where senders deliver", example: "/webhook/acme/github" }),
    provider: z.string().openapi({ example: "github" }),
    provider_options: z.record(z.string(), z.unknown()),
    owner: z.object({ type: z.enum(["user", "organization"]), id: z.string() }),
    public: z.boolean(),
    max_body_bytes: z.number().int().nullable(),
    description: z.string().nullable(),
    repository: z.string().nullable().openapi({ description: "Repository-scoped: the GitHub repository (owner/repo) whose readers may read it" }),
    created_at: instant,
    updated_at: instant,
  })
  .openapi("Endpoint");

const WithSecret = Endpoint.extend({ secret: z.string().openapi({ description: "The signing secret, shown this once" }) });
const id = z.object({ id: z.string() });
const tags = ["endpoints"];

/**
 * Endpoints. Every rule (who may create for whom and where, public, body limits, the ownership
 * of paths) is decided in authz (createEndpointAs, endpointFor, updateEndpointAs), the same
 * functions the CLI calls; this file parses, calls and announces.
 */
export function endpointRoutes(deps: EndpointsDeps) {
  const app = router();
  const limits = (): Limits => ({ maxPayload: deps.nc.info?.max_payload, validateOptions: validateProviderOptions });

  /** Every gateway (this one first) reloads its endpoint cache; durables and connections follow. */
  const announce = async (change: EndpointChanged) => {
    await deps.endpoints.reload();
    await announceEndpointChanged(deps.nc, change);
  };

  const route = routes(app, tags);

  route(
    {
      method: "post",
      path: "/",
      summary: "Create an endpoint (its secret is returned this once)",
      body: createBody,
      responses: { 201: json(WithSecret, "Created") },
      errors: [400, 403, 404, 409],
    },
    async (c) => {
      const body = await parseJson(c, createBody);
      const acting = await actingOf(c, deps.db);
      const { endpoint, secret } = await createEndpointAs(
        deps.db,
        deps.box,
        acting,
        {
          path: body.path,
          provider: body.provider,
          providerOptions: body.provider_options,
          secret: body.secret,
          owner: body.owner,
          isPublic: body.public,
          maxBodyBytes: body.max_body_bytes,
          description: body.description,
          repositoryScoped: body.repository_scoped,
        },
        limits(),
      );
      await announce({ id: endpoint.id, change: "created" });
      // The secret is returned this once; it is never shown again.
      return c.json({ ...viewEndpoint(endpoint), secret }, 201);
    },
  );

  route({ method: "get", path: "/", summary: "Endpoints the caller may read", responses: { 200: json(z.object({ endpoints: z.array(Endpoint) }), "Readable endpoints") } }, async (c) => {
    const rows = await listVisibleEndpoints(deps.db, c.get("principal"));
    return c.json({ endpoints: rows.map(viewEndpoint) });
  });

  route({ method: "get", path: "/{id}", summary: "One endpoint", params: id, responses: { 200: json(Endpoint, "The endpoint") }, errors: [404] }, async (c) => {
    const { endpoint } = await endpointFor(deps.db, (await actingOf(c, deps.db)).actor, c.req.valid("param").id);
    return c.json(viewEndpoint(endpoint));
  });

  route(
    {
      method: "patch",
      path: "/{id}",
      summary: "Change an endpoint (its path, provider and owner are fixed)",
      params: id,
      body: patchBody,
      responses: { 200: json(Endpoint.extend({ access_changed: z.boolean() }), "Changed") },
      errors: [400, 403, 404],
    },
    async (c) => {
      const acting = await actingOf(c, deps.db);
      // Not readable: 404 before the body is even looked at.
      await endpointFor(deps.db, acting.actor, c.req.valid("param").id);
      const body = await parseJson(c, patchBody);
      const { endpoint, accessChanged } = await updateEndpointAs(
        deps.db,
        acting,
        c.req.valid("param").id,
        { description: body.description, isPublic: body.public, providerOptions: body.provider_options, maxBodyBytes: body.max_body_bytes, repositoryScoped: body.repository_scoped },
        limits(),
      );
      // Also without an access change: gateways cache options and body limits.
      await announce({ id: endpoint.id, change: "updated" });
      return c.json({ ...viewEndpoint(endpoint), access_changed: accessChanged });
    },
  );

  route(
    {
      method: "post",
      path: "/{id}/rotate-secret",
      summary: "Replace the signing secret (the previous one keeps verifying for previous_valid_for)",
      params: id,
      body: rotateBody,
      responses: { 200: json(WithSecret.extend({ previous_secret_expires_at: instant.nullable() }), "The new secret, shown this once") },
      errors: [400, 403, 404],
    },
    async (c) => {
      const acting = await actingOf(c, deps.db);
      const { endpoint: e } = await endpointFor(deps.db, acting.actor, c.req.valid("param").id, "manage", "rotate the secret of");
      const body = await parseJson(c, rotateBody);
      const { endpoint, secret, previousExpiresAt } = await rotateEndpointSecret(
        deps.db,
        deps.box,
        e.id,
        { secret: body.secret, previousValidFor: body.previous_valid_for },
        acting,
      );
      await announce({ id: e.id, change: "rotated" });
      // The new secret is returned this once, like at creation.
      return c.json({ ...viewEndpoint(endpoint), secret, previous_secret_expires_at: previousExpiresAt?.toISOString() ?? null });
    },
  );

  route({ method: "delete", path: "/{id}", summary: "Delete an endpoint", params: id, responses: { 204: { description: "Deleted" } }, errors: [403, 404] }, async (c) => {
    const acting = await actingOf(c, deps.db);
    const { endpoint: e } = await endpointFor(deps.db, acting.actor, c.req.valid("param").id, "manage", "delete");
    await deleteEndpoint(deps.db, e.id, acting);
    await announce({ id: e.id, change: "deleted" });
    return c.body(null, 204);
  });

  return app;
}
