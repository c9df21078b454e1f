import { Hono } from "hono";
import { z } from "zod";
import {
  createSubscription,
  deleteSubscription,
  listSubscriptions,
  subscriptionFiltersSchema,
  type ConsumerManager,
  type Db,
  type schema,
} from "@wb/authz";
import type { AppEnv } from "../env.js";
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
  const app = new Hono<AppEnv>();

  app.post("/", async (c) => {
    const body = await parseJson(c, createBody);
    const userId = c.get("principal").userId;
    const { subscription, consumer } = await createSubscription(deps.db, userId, {
      pattern: body.webhook_path_pattern,
      filters: body.filters,
      consumer: body.consumer,
    });
    await deps.consumers.applyPlan(deps.db, consumer);
    return c.json(view(subscription, consumer.name), 201);
  });

  app.get("/", async (c) => {
    const rows = await listSubscriptions(deps.db, c.get("principal").userId);
    return c.json({ subscriptions: rows.map((s) => view(s, s.consumerName)) });
  });

  app.delete("/:id", async (c) => {
    const userId = c.get("principal").userId;
    const { consumer } = await deleteSubscription(deps.db, userId, c.req.param("id"));
    await deps.consumers.applyPlan(deps.db, consumer);
    return c.body(null, 204);
  });

  return app;
}
