import { createRoute, z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  announceGrantsChanged,
  BrokerError,
  CONSUMER_NAME,
  CONSUMER_NAME_RULE,
  consumerPlan,
  countDeadLetters,
  createConsumer,
  deleteConsumer,
  listConsumers,
  requireConsumer,
  startOf,
  isInvalidStart,
  startTimeProblem,
  type ConsumerManager,
  type ConsumerStart,
  type Db,
  type schema,
} from "@wb/authz";
import { declare, errors, instant, json, jsonBody, router } from "../openapi.js";
import { parseJson } from "../validate.js";

export interface ConsumersDeps {
  db: Db;
  nc: NatsConnection;
  consumers: ConsumerManager;
}

const startSchema = z.union([
  z.enum(["new", "all"]),
  z.strictObject({
    time: z.iso.datetime({ offset: true }).refine((t) => startTimeProblem(new Date(t)) === undefined, { message: "must be a time from 1970-01-01 to 9999-12-31" }),
  }),
  z.strictObject({ sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
]);

const createBody = z.strictObject({
  name: z.string().regex(CONSUMER_NAME, CONSUMER_NAME_RULE),
  start: startSchema.default("new"),
  max_deliver: z.number().int().min(1).max(1000).optional(),
});

function toStart(s: z.infer<typeof startSchema>): ConsumerStart {
  if (s === "new" || s === "all") return { policy: s };
  if ("time" in s) return { policy: "time", time: new Date(s.time) };
  return { policy: "sequence", sequence: s.sequence };
}

function viewStart(row: schema.Consumer): unknown {
  const s = startOf(row);
  return s.policy === "time" ? { time: s.time.toISOString() } : s.policy === "sequence" ? { sequence: s.sequence } : s.policy;
}

function view(row: schema.Consumer) {
  return {
    name: row.name,
    durable_name: row.durableName,
    start: viewStart(row),
    max_deliver: row.maxDeliver,
    filtered: row.filteredCount,
    created_at: row.createdAt.toISOString(),
  };
}

const Consumer = z
  .object({
    name: z.string(),
    durable_name: z.string(),
    start: z.union([z.enum(["new", "all"]), z.object({ time: instant }), z.object({ sequence: z.number().int() })]),
    max_deliver: z.number().int().nullable(),
    filtered: z.number().int().nullable(),
    created_at: instant,
  })
  .openapi("Consumer");
const ConsumerState = Consumer.extend({
  pending: z.number().int(),
  ack_pending: z.number().int(),
  redelivered: z.number().int(),
  last_active: z.string().nullable(),
  delivered_id: z.number().int().nullable(),
  ack_floor_id: z.number().int().nullable(),
  dead_letters: z.number().int(),
  filter_subjects: z.array(z.string()),
});
const name = z.object({ name: z.string() });
const tags = ["consumers"];

/**
 * A user's named consumers: each its own JetStream durable, position and subscriptions.
 * Names are per user; another user's consumer of the same name is simply not found.
 */
export function consumerRoutes(deps: ConsumersDeps) {
  const app = router();

  const create = createRoute({
    method: "post",
    path: "/",
    tags,
    summary: "Create a named consumer (its own durable, position and subscriptions)",
    request: { body: jsonBody(createBody) },
    responses: { 201: json(Consumer, "Created"), ...errors(400, 409) },
  });
  declare(app, create, async (c) => {
    const body = await parseJson(c, createBody);
    const principal = c.get("principal");
    const row = await createConsumer(deps.db, principal.userId, { name: body.name, start: toStart(body.start), maxDeliver: body.max_deliver });
    // Created now, so that `new` and a time are anchored at creation, not at the first pull.
    const plan = await consumerPlan(deps.db, row);
    try {
      await deps.consumers.remove(row.durableName); // a leftover durable of a deleted row
      await deps.consumers.create(row, plan.filters);
    } catch (err) {
      await deleteConsumer(deps.db, principal.userId, row.name).catch(() => {});
      if (isInvalidStart(err)) throw new BrokerError("invalid_request", `start: ${(err as Error).message}`);
      throw err;
    }
    // His NATS permissions name his durables: the callout closes his connections for a fresh connect.
    await announceGrantsChanged(deps.nc, { user_ids: [principal.userId], change: "consumer_created" });
    return c.json(view(row), 201);
  });

  const list = createRoute({ method: "get", path: "/", tags, summary: "The caller's consumers", responses: { 200: json(z.object({ consumers: z.array(Consumer) }), "Consumers") } });
  declare(app, list, async (c) => {
    const rows = await listConsumers(deps.db, c.get("principal").userId);
    return c.json({ consumers: rows.map(view) });
  });

  const get = createRoute({ method: "get", path: "/{name}", tags, summary: "One consumer, with its position and backlog", request: { params: name }, responses: { 200: json(ConsumerState, "The consumer"), ...errors(404) } });
  declare(app, get, async (c) => {
    const row = await requireConsumer(deps.db, c.get("principal").userId, c.req.valid("param").name);
    const [info, deadLetters] = await Promise.all([deps.consumers.info(row.durableName), countDeadLetters(deps.db, row.id)]);
    return c.json({
      ...view(row),
      // Absent until the durable exists (the default consumer is created on first pull).
      pending: info?.num_pending ?? 0,
      ack_pending: info?.num_ack_pending ?? 0,
      redelivered: info?.num_redelivered ?? 0,
      last_active: info?.delivered.last_active ?? null,
      delivered_id: info?.delivered.stream_seq ?? null,
      ack_floor_id: info?.ack_floor.stream_seq ?? null,
      dead_letters: deadLetters,
      filter_subjects: info ? (info.config.filter_subjects ?? [info.config.filter_subject]) : [],
    });
  });

  const remove = createRoute({ method: "delete", path: "/{name}", tags, summary: "Delete a consumer (and its durable)", request: { params: name }, responses: { 204: { description: "Deleted" }, ...errors(400, 404) } });
  declare(app, remove, async (c) => {
    const row = await deleteConsumer(deps.db, c.get("principal").userId, c.req.valid("param").name);
    await deps.consumers.remove(row.durableName);
    await announceGrantsChanged(deps.nc, { user_ids: [row.userId], change: "consumer_deleted" });
    return c.body(null, 204);
  });

  return app;
}
