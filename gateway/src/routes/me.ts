import { createRoute, z } from "@hono/zod-openapi";
import { consumerPlan, ensureDefaultConsumer, githubStatusOf, inboxPrefixOf, listConsumers, type ConsumerManager, type Db } from "@wb/authz";
import { CLIENT_API_PREFIX } from "@wb/authz";
import type { Config } from "../config.js";
import { declare, errors, instant, json, router } from "../openapi.js";

const Me = z.object({
  user: z.object({ id: z.string(), name: z.string(), admin: z.boolean() }),
  github: z
    .object({
      login: z.string(),
      status: z.enum(["ok", "unavailable", "signed_out"]),
      synced_at: instant.nullable(),
      access_until: instant.nullable(),
      message: z.string().nullable(),
    })
    .nullable()
    .openapi({ description: "null unless the user signed in with GitHub" }),
  nats: z.object({
    stream: z.string(),
    api_prefix: z.string().openapi({ description: "The JetStream API prefix a NATS client uses" }),
    inbox_prefix: z.string().openapi({ description: "The user's own reply-subject prefix (nobody else can subscribe to it)" }),
    consumers: z.array(z.object({ name: z.string(), durable_name: z.string() })),
  }),
});

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
  const app = router();
  const route = createRoute({
    method: "get",
    path: "/",
    tags: ["me"],
    summary: "Who the token belongs to, and what a NATS client needs",
    responses: { 200: json(Me, "The caller"), ...errors() },
  });
  declare(app, route, async (c) => {
    const p = c.get("principal");
    const def = await ensureDefaultConsumer(deps.db, p.userId);
    const plan = await consumerPlan(deps.db, def);
    await deps.consumers.ensure(def, plan.filters);
    const [rows, github] = await Promise.all([listConsumers(deps.db, p.userId), githubStatusOf(deps.db, p.userId)]);
    return c.json({
      user: { id: p.userId, name: p.name, admin: p.isAdmin },
      github: github && viewGitHub(github),
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

/**
 * The state of access that follows GitHub: `ok` (GitHub's last answer is current), `unavailable`
 * (GitHub could not be asked: what it granted counts until `access_until`, then ends), or
 * `signed_out` (GitHub refused his token: sign in again).
 */
function viewGitHub(g: NonNullable<Awaited<ReturnType<typeof githubStatusOf>>>) {
  const status = !g.hasTokens ? "signed_out" : g.syncError ? "unavailable" : "ok";
  const until = g.accessUntil?.toISOString() ?? null;
  const message =
    status === "ok"
      ? null
      : status === "signed_out"
        ? "GitHub refused your token: sign in again to regain access through GitHub organizations and repositories"
        : `GitHub could not be asked since ${g.syncErrorAt?.toISOString()} (${g.syncError}); access through GitHub organizations and repositories ${g.accessUntil && g.accessUntil.getTime() > Date.now() ? `counts until ${until}` : "has ended"} and comes back once GitHub answers`;
  return { login: g.login, status, synced_at: g.syncedAt?.toISOString() ?? null, access_until: until, message };
}
