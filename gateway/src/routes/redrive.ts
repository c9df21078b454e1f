import { Hono } from "hono";
import { z } from "zod";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { BrokerError, CONSUMER_NAME, CONSUMER_NAME_RULE, MAX_BULK_REDRIVE, redriveDeadLetter, redriveDeadLetters, type ConsumerManager, type Db } from "@wb/authz";
import type { Config } from "../config.js";
import type { AppEnv } from "../env.js";
import { parseJson } from "../validate.js";

export interface RedriveRoutesDeps {
  db: Db;
  js: JetStreamClient;
  jsm: JetStreamManager;
  consumers: ConsumerManager;
  config: Config;
}

const consumerName = z.string().regex(CONSUMER_NAME, CONSUMER_NAME_RULE);
const oneQuery = z.object({ consumer: consumerName.optional() });
const id = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const bulkBody = z
  .strictObject({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }).optional(),
    consumer: consumerName.optional(),
    limit: z.number().int().min(1).max(MAX_BULK_REDRIVE).default(MAX_BULK_REDRIVE),
  })
  .refine((b) => b.to === undefined || new Date(b.to) > new Date(b.from), { message: "to must be after from", path: ["to"] });

/**
 * Redrive (authz durables/redrive.ts): a dead letter of the caller's made deliverable again,
 * once, to the consumer that gave up on it. Mounted beside the listing at /dead-letters.
 */
export function redriveRoutes(deps: RedriveRoutesDeps) {
  const app = new Hono<AppEnv>();
  const redriveDeps = { ...deps, stream: deps.config.STREAM_NAME };
  const by = (c: { get(k: "principal"): { userId: string; name: string } }) => {
    const p = c.get("principal");
    return { userId: p.userId, name: p.name };
  };

  app.post("/redrive", async (c) => {
    const body = await parseJson(c, bulkBody);
    const result = await redriveDeadLetters(
      redriveDeps,
      c.get("principal").userId,
      { from: new Date(body.from), to: body.to ? new Date(body.to) : undefined, consumer: body.consumer, limit: body.limit },
      by(c),
    );
    return c.json(result);
  });

  app.post("/:id/redrive", async (c) => {
    const seq = id.safeParse(c.req.param("id"));
    // Not a stream sequence: no such dead letter, as for any id that is not his.
    if (!seq.success) throw new BrokerError("not_found", `dead letter ${c.req.param("id")} not found`);
    const q = oneQuery.safeParse(c.req.query());
    if (!q.success) throw new BrokerError("invalid_request", q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    return c.json(await redriveDeadLetter(redriveDeps, c.get("principal").userId, { id: seq.data, consumer: q.data.consumer }, by(c)));
  });

  return app;
}
