import type { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { ConsumerManager, Database, SecretBox } from "@wb/authz";
import type { Logger } from "pino";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { BrokerError, MAX_API_BODY_BYTES } from "@wb/authz";
import type { Config } from "./config.js";
import type { EndpointCache } from "./endpoint-cache.js";
import type { AppEnv } from "./env.js";
import { errorHandler } from "./errors.js";
import { accessLog } from "./middleware/access-log.js";
import { clientAddressMiddleware, parseTrustedProxies } from "./middleware/client-address/index.js";
import { bearerAuth } from "./middleware/auth.js";
import { requestId } from "./middleware/request-id.js";
import { requireDatabase, type DatabaseReadiness } from "./middleware/require-database.js";
import { endpointRoutes } from "./routes/endpoints.js";
import { healthRoutes } from "./routes/health.js";
import { NatsLink } from "./nats/link.js";
import { natsDown } from "./nats/publish-errors.js";
import { journalEnabled, SettledJournal } from "./nats/settled-journal.js";
import type { AckedPurger } from "./nats/purge.js";
import { ingestRoutes } from "./routes/ingest.js";
import { consumerRoutes } from "./routes/consumers.js";
import { deadLetterRoutes } from "./routes/dead-letters.js";
import { redriveRoutes } from "./routes/redrive.js";
import { rewindRoutes } from "./routes/rewind.js";
import type { AckTokens } from "./ack-token.js";
import { meRoutes } from "./routes/me.js";
import { messageRoutes } from "./routes/messages.js";
import { streamRoutes } from "./routes/stream.js";
import { rawRoutes } from "./routes/raw.js";
import { orgRoutes } from "./routes/orgs.js";
import { subscriptionRoutes } from "./routes/subscriptions.js";
import type { AuthService } from "./auth/sessions.js";
import { authRoutes, jwksRoutes } from "./routes/auth.js";
import type { GitHubLogin } from "./github/login.js";
import { githubAuthRoutes } from "./routes/github-auth.js";
import { sessionRoutes } from "./routes/sessions.js";
import { tokenRoutes } from "./routes/tokens.js";
import { userRoutes } from "./routes/users.js";
import { reservationRoutes } from "./routes/reservations.js";
import { auditRoutes } from "./routes/audit.js";
import { uiRoutes } from "./ui/index.js";
import { docsRoutes } from "./routes/docs.js";
import { documentPages, router } from "./openapi.js";
import type { ConsumerLagSampler } from "./consumer-lag.js";
import { createGatewayMetrics, type GatewayMetrics } from "./metrics.js";
import { httpMetrics } from "./middleware/metrics/index.js";
import { metricsRoutes } from "./routes/metrics.js";

export interface AppDeps {
  config: Config;
  log: Logger;
  database: Database;
  box: SecretBox;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  endpoints: EndpointCache;
  consumers: ConsumerManager;
  ackTokens: AckTokens;
  /** The broker's own tokens: access-JWT verification, sessions, signing keys. */
  auth: AuthService;
  /** Sign in with GitHub; undefined when GitHub is not configured. */
  github?: GitHubLogin;
  /** The start on PostgreSQL (migrations...); absent: the database is ready. */
  startup?: DatabaseReadiness;
  /** Aborted when the gateway begins to shut down: long-lived responses (event streams) end. */
  shutdown?: AbortSignal;
  /** Removes acked deliveries when the stream fills up; undefined when STREAM_PURGE_ACKED_AT is off. */
  purger?: AckedPurger;
  /** Where requests, deliveries, pulls and settlements are counted; a private registry when absent. */
  metrics?: GatewayMetrics;
  /** Consumer lag for /metrics (sampled on scrape). */
  lag?: ConsumerLagSampler;
}

/** Builds the HTTP app from explicit dependencies (no singletons: tests build their own). */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = router();
  const db = deps.database.db;
  const link = new NatsLink(deps.nc);
  const metrics = deps.metrics ?? createGatewayMetrics();
  const journal = new SettledJournal({
    js: deps.js,
    jsm: deps.jsm,
    link,
    createdOf: async (durable) => (await deps.consumers.info(durable))?.created,
    stream: deps.config.STREAM_NAME,
    enabled: journalEnabled(deps.config),
    timeoutMs: deps.config.PUBLISH_TIMEOUT,
    log: deps.log,
    metrics,
  });
  journal.start();
  app.use(httpMetrics(metrics));
  app.use(requestId());
  // Only behind trusted proxies: without them clientAddress() is the TCP peer, no layer needed.
  const trustedProxies = parseTrustedProxies(deps.config.TRUSTED_PROXIES);
  if (trustedProxies.ranges.length) app.use(clientAddressMiddleware(trustedProxies));
  app.use(accessLog(deps.log));
  // Only for origins listed explicitly; answered before authentication (a preflight carries no token).
  if (deps.config.CORS_ORIGINS?.length) {
    app.use(cors({ origin: deps.config.CORS_ORIGINS, allowHeaders: ["Authorization", "Content-Type"], exposeHeaders: ["Retry-After", "X-Request-Id"], maxAge: 600 }));
  }
  app.onError(errorHandler(deps.log));
  app.notFound((c) => {
    throw new BrokerError("not_found", `no route for ${c.req.method} ${c.req.path}`);
  });

  app.route("/", docsRoutes(app));
  app.route("/", healthRoutes({ ...deps, stream: deps.config.STREAM_NAME, link, purgeAckedAt: deps.config.STREAM_PURGE_ACKED_AT }));
  const purger = deps.purger;
  app.route("/", metricsRoutes({ metrics, token: deps.config.METRICS_TOKEN, lag: deps.lag }));
  app.route("/webhook", ingestRoutes({ ...deps, link, metrics, onStreamFull: purger && (() => purger.kick()) }));
  // Everything below reads PostgreSQL: 503 with Retry-After until the gateway's start on it is done.
  if (deps.startup) for (const prefix of ["/.well-known/*", "/auth/*", "/api/*"]) app.use(prefix, requireDatabase(deps.startup));
  app.route("/.well-known", jwksRoutes(deps));
  const cookies = { refreshTtlMs: deps.config.REFRESH_TOKEN_TTL, secure: deps.config.PUBLIC_URL?.startsWith("https:") ?? false };
  app.route("/auth/github", githubAuthRoutes({ login: deps.github, cookies }));
  app.route("/auth", authRoutes({ ...deps, db, cookies }));

  const api = router();
  api.use(bearerAuth(db, deps.auth.verifier));
  // JSON bodies are parsed whole: cap them (declared or chunked) before anything reads one.
  api.use(
    bodyLimit({
      maxSize: MAX_API_BODY_BYTES,
      onError: () => {
        throw new BrokerError("payload_too_large", `API request bodies are limited to ${MAX_API_BODY_BYTES} bytes`);
      },
    }),
  );
  // What cannot be answered without JetStream is refused at once while the NATS connection is
  // down, instead of after a request timeout (both are 503 unavailable, see errors.ts).
  const needsNats = createMiddleware(async (_c, next) => {
    if (!link.up) throw natsDown();
    await next();
  });
  for (const path of ["/me", "/messages", "/messages/*", "/consumers/:name"]) api.use(path, needsNats);
  api.route("/me", meRoutes({ ...deps, db }));
  api.route("/messages/stream", streamRoutes({ ...deps, db, metrics, verifier: deps.auth.verifier, journal }));
  api.route("/messages", messageRoutes({ ...deps, db, link, metrics, journal }));
  api.route("/messages", rawRoutes({ ...deps, db }));
  api.route("/endpoints", endpointRoutes({ ...deps, db }));
  api.route("/orgs", orgRoutes({ ...deps, db }));
  api.route("/consumers", consumerRoutes({ ...deps, db }));
  api.route("/consumers", rewindRoutes({ ...deps, db }));
  api.route("/subscriptions", subscriptionRoutes({ ...deps, db }));
  api.route("/dead-letters", deadLetterRoutes({ ...deps, db }));
  api.route("/dead-letters", redriveRoutes({ ...deps, db }));
  api.route("/tokens", tokenRoutes({ db, nc: deps.nc }));
  api.route("/sessions", sessionRoutes({ db, nc: deps.nc }));
  api.route("/users", userRoutes({ ...deps, db }));
  api.route("/reservations", reservationRoutes({ db }));
  api.route("/audit", auditRoutes({ db }));
  app.route("/api/v1", api);
  // The web inspector: pages over the public API above, called in-process (ui/index.tsx).
  const ui = uiRoutes({ api: (path, init) => app.request(path, init), secureCookie: cookies.secure, publicUrl: deps.config.PUBLIC_URL, github: deps.github !== undefined });
  app.route("/ui", ui);
  documentPages(app, "/ui", ui, {
    tags: ["web inspector"],
    summary: "Web inspector (HTML pages and forms; a session cookie from /ui/login)",
    description: "Pages over the API above, for people: HTML, or a 303 redirect (to /ui/login without a session); /ui/stream is an event stream and /ui/assets/* a stylesheet and a script.",
    content: ["text/html", "text/event-stream", "text/css", "text/javascript"],
  });
  return app;
}
