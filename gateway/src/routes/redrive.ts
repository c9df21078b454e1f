import { createRoute, z } from "@hono/zod-openapi";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { BrokerError, CONSUMER_NAME, CONSUMER_NAME_RULE, MAX_BULK_REDRIVE, redriveDeadLetter, redriveDeadLetters, type ConsumerManager, type Db } from "@wb/authz";
import type { Config } from "../config.js";
import { declare, errors, instant, json, jsonBody, router } from "../openapi.js";

const Redriven = z.object({ consumer: z.string(), id: z.number().int(), redrive_id: z.number().int(), redriven_at: instant, redriven_by: z.string() });
const tags = ["dead letters"];
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
  const app = router();
  const redriveDeps = { ...deps, stream: deps.config.STREAM_NAME };
  const by = (c: { get(k: "principal"): { userId: string; name: string } }) => {
    const p = c.get("principal");
    return { userId: p.userId, name: p.name };
  };

  const bulk = createRoute({
    method: "post",
    path: "/redrive",
    tags,
    summary: "Redrive the caller's dead letters of a time range (each once, to the consumer that gave up on it)",
    request: { body: jsonBody(bulkBody) },
    responses: {
      200: json(z.object({ redriven: z.array(Redriven), gone: z.array(z.object({ consumer: z.string(), id: z.number().int() })), has_more: z.boolean() }), "Redriven"),
      ...errors(400, 404),
    },
  });
  declare(app, bulk, async (c) => {
    const body = await parseJson(c, bulkBody);
    const result = await redriveDeadLetters(
      redriveDeps,
      c.get("principal").userId,
      { from: new Date(body.from), to: body.to ? new Date(body.to) : undefined, consumer: body.consumer, limit: body.limit },
      by(c),
    );
    return c.json(result);
  });

  const one = createRoute({
    method: "post",
    path: "/{id}/redrive",
    tags,
    summary: "Redrive one dead letter (consumer says which, when several consumers gave up on the same message)",
    request: { params: z.object({ id: z.string() }), query: oneQuery },
    responses: { 200: json(Redriven, "Redriven"), ...errors(400, 404) },
  });
  declare(app, one, async (c) => {
    const seq = id.safeParse(c.req.valid("param").id);
    // Not a stream sequence: no such dead letter, as for any id that is not his.
    if (!seq.success) throw new BrokerError("not_found", `dead letter ${c.req.valid("param").id} not found`);
    const q = oneQuery.safeParse(c.req.query());
    if (!q.success) throw new BrokerError("invalid_request", q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    return c.json(await redriveDeadLetter(redriveDeps, c.get("principal").userId, { id: seq.data, consumer: q.data.consumer }, by(c)));
  });

  return app;
}
