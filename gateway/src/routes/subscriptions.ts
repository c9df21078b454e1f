import { z } from "@hono/zod-openapi";
import {
  createSubscription,
  deleteSubscription,
  listSubscriptions,
  subscriptionFiltersSchema,
  type ConsumerManager,
  type Db,
  type schema,
} from "@wb/authz";
import { instant, json, router, routes } from "../openapi.js";
import { parseJson } from "../validate.js";

export interface SubscriptionsDeps {
  db: Db;
  consumers: ConsumerManager;
}

const createBody = z.strictObject({
  webhook_path_pattern: z.string().min(1).max(1024),
  filters: subscriptionFiltersSchema.default({}),
  consumer: z.string().min(1).max(64).default("default"),
});

const Subscription = z
  .object({
    id: z.string(),
    consumer: z.string(),
    webhook_path_pattern: z.string(),
    filters: z.record(z.string(), z.unknown()),
    created_at: instant,
  })
  .openapi("Subscription");
const tags = ["subscriptions"];

function view(s: schema.Subscription, consumer: string) {
  return {
    id: s.id,
    consumer,
    webhook_path_pattern: s.webhookPathPattern,
    filters: s.filters,
    created_at: s.createdAt.toISOString(),
  };
}

/**
 * Subscriptions narrow one of the caller's consumers. Each change is applied to the durable at
 * once (its filter subjects are recomputed from all its subscriptions and current grants).
 */
export function subscriptionRoutes(deps: SubscriptionsDeps) {
  const app = router();
  const route = routes(app, tags);

  route(
    {
      method: "post",
      path: "/",
      summary: "Narrow one of the caller's consumers to a path pattern and filters",
      body: createBody,
      responses: { 201: json(Subscription, "Created") },
      errors: [400, 403, 404, 409],
    },
    async (c) => {
      const body = await parseJson(c, createBody);
      const userId = c.get("principal").userId;
      const { subscription, consumer } = await createSubscription(deps.db, userId, {
        pattern: body.webhook_path_pattern,
        filters: body.filters,
        consumer: body.consumer,
      });
      await deps.consumers.applyPlan(deps.db, consumer);
      return c.json(view(subscription, consumer.name), 201);
    },
  );

  route({ method: "get", path: "/", summary: "The caller's subscriptions", responses: { 200: json(z.object({ subscriptions: z.array(Subscription) }), "Subscriptions") } }, async (c) => {
    const rows = await listSubscriptions(deps.db, c.get("principal").userId);
    return c.json({ subscriptions: rows.map((s) => view(s, s.consumerName)) });
  });

  route(
    { method: "delete", path: "/{id}", summary: "Delete a subscription", params: z.object({ id: z.string() }), responses: { 204: { description: "Deleted" } }, errors: [404] },
    async (c) => {
      const userId = c.get("principal").userId;
      const { consumer } = await deleteSubscription(deps.db, userId, c.req.valid("param").id);
      await deps.consumers.applyPlan(deps.db, consumer);
      return c.body(null, 204);
    },
  );

  return app;
}
