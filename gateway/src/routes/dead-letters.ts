import { Hono } from "hono";
import { z } from "zod";
import { BrokerError, listDeadLetters, viewDeadLetter, type Db } from "@wb/authz";
import type { AppEnv } from "../env.js";

export interface DeadLettersDeps {
  db: Db;
}

const query = z.object({
  consumer: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Messages a consumer gave up on (max deliveries reached, or terminated by the reader). */
export function deadLetterRoutes(deps: DeadLettersDeps) {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const q = query.safeParse(c.req.query());
    if (!q.success) throw new BrokerError("invalid_request", q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const rows = await listDeadLetters(deps.db, c.get("principal").userId, q.data);
    return c.json({
      dead_letters: rows.map(viewDeadLetter),
    });
  });
  return app;
}
