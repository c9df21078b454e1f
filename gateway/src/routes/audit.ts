import { Hono } from "hono";
import { z } from "zod";
import { BrokerError, findOrganizationByName, listAudit, organizationAccess, requireAccess, viewAudit, type Db } from "@wb/authz";
import type { AppEnv } from "../env.js";
import { actingOf } from "../middleware/auth.js";

export interface AuditDeps {
  db: Db;
}

const query = z.strictObject({
  organization: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * The audit log: global admins read every entry, organization admins those of their
 * organizations; anyone else gets 403 (that the log exists is no secret).
 */
export function auditRoutes(deps: AuditDeps) {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const q = query.safeParse(c.req.query());
    if (!q.success) throw new BrokerError("invalid_request", q.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
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
