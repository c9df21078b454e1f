import { Hono } from "hono";
import { consumerPlan, ensureDefaultConsumer, inboxPrefixOf, listConsumers, type ConsumerManager, type Db } from "@wb/authz";
import { CLIENT_API_PREFIX } from "@wb/authz";
import type { Config } from "../config.js";
import type { AppEnv } from "../env.js";

export interface MeDeps {
  db: Db;
  consumers: ConsumerManager;
  config: Config;
}

/**
 * Who the token belongs to, and what a NATS client needs to read his consumers directly. It
 * also creates his default durable, so a NATS reader can start without an HTTP pull first.
 */
export function meRoutes(deps: MeDeps) {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const p = c.get("principal");
    const def = await ensureDefaultConsumer(deps.db, p.userId);
    const plan = await consumerPlan(deps.db, def);
    await deps.consumers.ensure(def, plan.filters);
    const rows = await listConsumers(deps.db, p.userId);
    return c.json({
      user: { id: p.userId, name: p.name, admin: p.isAdmin },
      nats: {
        stream: deps.config.STREAM_NAME,
        api_prefix: CLIENT_API_PREFIX,
        inbox_prefix: await inboxPrefixOf(deps.db, p.userId),
        consumers: rows.map((r) => ({ name: r.name, durable_name: r.durableName })),
      },
    });
  });
  return app;
}
