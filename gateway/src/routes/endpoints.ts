import { Hono } from "hono";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import {
  BrokerError,
  createEndpoint,
  deleteEndpoint,
  ENDPOINTS_CHANGED_SUBJECT,
  findOrganizationByName,
  findUserByName,
  getEndpoint,
  listVisibleEndpoints,
  mayManage,
  membershipRole,
  ownerOf,
  readableEndpointIds,
  rotateEndpointSecret,
  viewEndpoint,
  type Db,
  type EndpointOwner,
  type Principal,
  type SecretBox,
} from "@wb/authz";
import { bodyCeiling } from "../body.js";
import { parseDuration } from "../config.js";
import type { EndpointCache } from "../endpoint-cache.js";
import type { AppEnv } from "../env.js";
import { parseJson } from "../validate.js";
import { validateProviderOptions } from "../webhooks/options.js";

export interface EndpointsDeps {
  db: Db;
  box: SecretBox;
  nc: NatsConnection;
  endpoints: EndpointCache;
}

// strictObject: unknown keys (owner ids, raw subjects, ...) are rejected, not ignored.
const createBody = z.strictObject({
  path: z.string().min(1).max(512),
  provider: z.string().min(1),
  secret: z.string().min(8).max(512).optional(),
  provider_options: z.record(z.string(), z.unknown()).optional(),
  owner: z.union([z.strictObject({ user: z.string() }), z.strictObject({ organization: z.string() })]).optional(),
  public: z.boolean().optional(),
  max_body_bytes: z.number().int().min(1).max(64 * 1024 * 1024).optional(),
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

export function endpointRoutes(deps: EndpointsDeps) {
  const app = new Hono<AppEnv>();

  /** Every gateway (this one first) reloads its endpoint cache. */
  const announce = async () => {
    await deps.endpoints.reload();
    deps.nc.publish(ENDPOINTS_CHANGED_SUBJECT);
  };

  app.post("/", async (c) => {
    const body = await parseJson(c, createBody);
    const principal = c.get("principal");
    const owner = await resolveOwner(deps.db, principal, body.owner);
    if (!(await mayManage(deps.db, principal, owner))) {
      throw new BrokerError("forbidden", "you may create endpoints only for yourself or organizations you administer");
    }
    const options = validateProviderOptions(body.provider, body.provider_options ?? {});
    const maxPayload = deps.nc.info?.max_payload;
    if (body.max_body_bytes !== undefined && maxPayload !== undefined && body.max_body_bytes > bodyCeiling(maxPayload)) {
      throw new BrokerError(
        "invalid_request",
        `max_body_bytes: ${body.max_body_bytes} does not fit in a NATS message; this broker's max_payload of ${maxPayload} bytes allows at most ${bodyCeiling(maxPayload)}`,
      );
    }
    const { endpoint, secret } = await createEndpoint(deps.db, deps.box, {
      path: body.path,
      provider: body.provider,
      providerOptions: options,
      secret: body.secret,
      owner,
      isPublic: body.public,
      maxBodyBytes: body.max_body_bytes,
    });
    await announce();
    // The secret is returned this once; it is never shown again.
    return c.json({ ...viewEndpoint(endpoint), secret }, 201);
  });

  app.get("/", async (c) => {
    const rows = await listVisibleEndpoints(deps.db, c.get("principal"));
    return c.json({ endpoints: rows.map(viewEndpoint) });
  });

  app.get("/:id", async (c) => {
    const e = await visibleEndpoint(deps.db, c.get("principal"), c.req.param("id"));
    return c.json(viewEndpoint(e));
  });

  app.post("/:id/rotate-secret", async (c) => {
    const principal = c.get("principal");
    const e = await visibleEndpoint(deps.db, principal, c.req.param("id"));
    if (!(await mayManage(deps.db, principal, ownerOf(e)))) {
      throw new BrokerError("forbidden", "you may read this endpoint but not rotate its secret");
    }
    const body = await parseJson(c, rotateBody);
    const { endpoint, secret, previousExpiresAt } = await rotateEndpointSecret(deps.db, deps.box, e.id, {
      secret: body.secret,
      previousValidFor: body.previous_valid_for,
    });
    await announce();
    // The new secret is returned this once, like at creation.
    return c.json({ ...viewEndpoint(endpoint), secret, previous_secret_expires_at: previousExpiresAt?.toISOString() ?? null });
  });

  app.delete("/:id", async (c) => {
    const principal = c.get("principal");
    const e = await visibleEndpoint(deps.db, principal, c.req.param("id"));
    if (!(await mayManage(deps.db, principal, ownerOf(e)))) {
      throw new BrokerError("forbidden", "you may read this endpoint but not delete it");
    }
    await deleteEndpoint(deps.db, e.id);
    await announce();
    return c.body(null, 204);
  });

  return app;
}

/** An endpoint the principal may read; anything else is the same 404 as a true miss. */
async function visibleEndpoint(db: Db, p: Principal, id: string) {
  const e = await getEndpoint(db, id);
  if (e && (p.isAdmin || (await readableEndpointIds(db, p.userId)).includes(e.id))) return e;
  throw new BrokerError("not_found", `endpoint ${id} not found`);
}

async function resolveOwner(
  db: Db,
  p: Principal,
  owner: { user: string } | { organization: string } | undefined,
): Promise<EndpointOwner> {
  if (!owner) return { userId: p.userId };
  if ("organization" in owner) {
    const org = await findOrganizationByName(db, owner.organization);
    // Not a member: the same 404 as an organization that does not exist (a 403 would confirm it).
    if (!p.isAdmin && !(await membershipRole(db, org.id, p.userId))) {
      throw new BrokerError("not_found", `organization ${owner.organization} not found`);
    }
    return { orgId: org.id };
  }
  if (!p.isAdmin && owner.user !== p.name) throw new BrokerError("forbidden", "only admins create endpoints for other users");
  return { userId: (await findUserByName(db, owner.user)).id };
}
