import { createRoute, z } from "@hono/zod-openapi";
import { BrokerError, consumerPlan, isInvalidStart, requireConsumer, startTimeProblem, type ConsumerManager, type ConsumerStart, type Db } from "@wb/authz";
import { declare, errors, instant, json, jsonBody, router } from "../openapi.js";
import { parseJson } from "../validate.js";

export interface RewindDeps {
  db: Db;
  consumers: ConsumerManager;
}

const rewindBody = z.union([
  z.strictObject({ sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
  z.strictObject({
    time: z.iso.datetime({ offset: true }).refine((t) => startTimeProblem(new Date(t)) === undefined, { message: "must be a time from 1970-01-01 to 9999-12-31" }),
  }),
]);

/**
 * `POST /consumers/:name/rewind`: the admin CLI's `consumers rewind` for the consumer's owner,
 * through the same ConsumerManager.rebuild (delete and create again from its definition with
 * the chosen start; see the CLI's help). Another user's consumer is not found.
 */
export function rewindRoutes(deps: RewindDeps) {
  const app = router();
  const rewind = createRoute({
    method: "post",
    path: "/{name}/rewind",
    tags: ["consumers"],
    summary: "Move a consumer back (or forward) to a message id or a time",
    request: { params: z.object({ name: z.string() }), body: jsonBody(rewindBody) },
    responses: {
      200: json(
        z.object({
          name: z.string(),
          start: z.union([z.object({ sequence: z.number().int() }), z.object({ time: instant })]),
          pending: z.number().int(),
          ack_pending: z.number().int(),
          delivered_id: z.number().int().nullable(),
        }),
        "Rewound",
      ),
      ...errors(400, 404),
    },
  });
  declare(app, rewind, async (c) => {
    const row = await requireConsumer(deps.db, c.get("principal").userId, c.req.valid("param").name);
    const body = await parseJson(c, rewindBody);
    const start: ConsumerStart = "sequence" in body ? { policy: "sequence", sequence: body.sequence } : { policy: "time", time: new Date(body.time) };
    const plan = await consumerPlan(deps.db, row);
    try {
      // The default consumer's durable exists only after its first pull: then it is created at the start.
      let info = await deps.consumers.rebuild(row, plan.filters, start);
      if (!info) {
        await deps.consumers.create(row, plan.filters, start);
        info = await deps.consumers.info(row.durableName);
      }
      return c.json({
        name: row.name,
        start: "sequence" in body ? { sequence: body.sequence } : { time: new Date(body.time).toISOString() },
        pending: info?.num_pending ?? 0,
        ack_pending: info?.num_ack_pending ?? 0,
        delivered_id: info?.delivered.stream_seq ?? null,
      });
    } catch (err) {
      if (isInvalidStart(err)) throw new BrokerError("invalid_request", `start: ${(err as Error).message}`);
      throw err;
    }
  });
  return app;
}
