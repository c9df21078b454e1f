import { createRoute, z } from "@hono/zod-openapi";
import { findOrganizationByName, listAudit, organizationAccess, requireAccess, viewAudit, type Db } from "@wb/authz";
import { declare, errors, instant, json, router } from "../openapi.js";
import { actingOf } from "../middleware/auth.js";

export interface AuditDeps {
  db: Db;
}

const query = z.strictObject({
  organization: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

const Entry = z.object({
  id: z.number().int(),
  at: instant,
  actor: z.object({
    user_id: z.string().nullable().openapi({ description: "null for the CLI" }),
    name: z.string(),
    via: z.string().openapi({ example: "api" }),
    source: z.string().openapi({ description: "The client address (API) or `cli`" }),
  }),
  action: z.string().openapi({ example: "endpoint.created" }),
  target: z.object({ type: z.string(), id: z.string() }),
  organization_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

/**
 * The audit log: global admins read every entry, organization admins those of their
 * organizations; anyone else gets 403 (that the log exists is no secret).
 */
export function auditRoutes(deps: AuditDeps) {
  const app = router();
  const list = createRoute({
    method: "get",
    path: "/",
    tags: ["audit"],
    summary: "Audit entries the caller may read, newest first",
    request: { query },
    responses: {
      200: json(z.object({ entries: z.array(Entry), next_before_id: z.number().int().nullable().openapi({ description: "Pass as before_id for the next page; null on the last" }) }), "A page of entries"),
      ...errors(400, 403, 404),
    },
  });
  declare(app, list, async (c) => {
    const q = { data: c.req.valid("query") };
    const { actor } = await actingOf(c, deps.db);
    let organizationId: string | undefined;
    if (q.data.organization !== undefined) {
      const org = await findOrganizationByName(deps.db, q.data.organization);
      requireAccess(organizationAccess(actor, org.id), "manage", {
        notFound: `organization ${q.data.organization} not found`,
        forbidden: `only admins of ${q.data.organization} read its audit entries`,
      });
      organizationId = org.id;
    }
    const rows = await listAudit(deps.db, actor, { organizationId, limit: q.data.limit, beforeId: q.data.before_id });
    const last = rows.at(-1);
    return c.json({ entries: rows.map(viewAudit), next_before_id: rows.length === q.data.limit && last ? last.id : null });
  });
  return app;
}
