import { createRoute, z } from "@hono/zod-openapi";
import { listDeadLetters, viewDeadLetter, type Db } from "@wb/authz";
import { declare, errors, instant, json, router } from "../openapi.js";

export interface DeadLettersDeps {
  db: Db;
}

const query = z.object({
  consumer: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const DeadLetter = z.object({
  consumer: z.string(),
  id: z.number().int().openapi({ description: "The message's id (its stream sequence); still readable with after_id until retention removes it" }),
  endpoint_id: z.string().nullable(),
  delivery_count: z.number().int(),
  reason: z.enum(["max_deliveries", "terminated"]),
  dead_at: instant,
});

/** Messages a consumer gave up on (max deliveries reached, or terminated by the reader). */
export function deadLetterRoutes(deps: DeadLettersDeps) {
  const app = router();
  const list = createRoute({
    method: "get",
    path: "/",
    tags: ["dead letters"],
    summary: "Messages the caller's consumers gave up on",
    request: { query },
    responses: { 200: json(z.object({ dead_letters: z.array(DeadLetter) }), "Newest first"), ...errors(400, 404) },
  });
  declare(app, list, async (c) => {
    const rows = await listDeadLetters(deps.db, c.get("principal").userId, c.req.valid("query"));
    return c.json({
      dead_letters: rows.map(viewDeadLetter),
    });
  });
  return app;
}
