import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { createRoute, z } from "@hono/zod-openapi";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { BrokerError, deliverySubject, parseWebhookPath, secondsSince, SubjectError } from "@wb/authz";
import { bodyCeiling, readBodyLimited } from "../body.js";
import type { Config } from "../config.js";
import { H } from "../deliveries.js";
import { DATABASE_RETRY_AFTER_SECONDS } from "../errors.js";
import { secretsAt, type EndpointCache } from "../endpoint-cache.js";
import { errors, json, router } from "../openapi.js";
import { admit, rateLimit, TokenBuckets } from "../middleware/rate-limit/index.js";
import type { GatewayMetrics } from "../metrics.js";
import { requestThroughReconnects, type NatsLink } from "../nats/link.js";
import { directPublisher, GroupCommitPublisher } from "../nats/group-commit.js";
import { isLeaderUnavailable, isStorageFull, natsDown, publishError, STREAM_FULL_NO_PURGE_RETRY_AFTER_SECONDS, STREAM_FULL_RETRY_AFTER_SECONDS } from "../nats/publish-errors.js";
import { getProvider, VerificationError } from "../webhooks/index.js";
import { storedHeaders } from "../stored-headers.js";

export interface IngestDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  endpoints: EndpointCache;
  config: Config;
  link: NatsLink;
  /** Called when a publish is refused for lack of room (the purge of acked deliveries). */
  onStreamFull?: () => void;
  metrics: GatewayMetrics;
}

/** The document's view of `POST /webhook/*`: any body, verified per provider before it is stored. */
const receive = createRoute({
  method: "post",
  path: "/{path}",
  tags: ["ingest"],
  summary: "Receive a webhook delivery (senders call this; no bearer token)",
  description:
    "The endpoint's provider verifies the delivery (signature, timestamp) before anything is stored. `path` is the endpoint's path and may hold several segments (`/webhook/acme/github/push`).",
  request: {
    params: z.object({ path: z.string().openapi({ description: "One or more segments", example: "acme/github" }) }),
    body: { required: false, content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } } },
  },
  responses: {
    200: { description: "The provider's own handshake answer (e.g. Slack's url_verification), nothing stored", content: { "*/*": { schema: z.string() } } },
    202: json(
      z.object({
        id: z.number().int().openapi({ description: "The message id (its stream sequence)" }),
        received_at: z.string().openapi({ format: "date-time" }),
        duplicate: z.boolean().openapi({ description: "Already stored (the same delivery id within DUPLICATE_WINDOW): id and received_at are the first copy's" }),
      }),
      "Stored",
    ),
    ...errors(400, 401, 404, 413, 414, 429, 503),
  },
});

export function ingestRoutes(deps: IngestDeps) {
  const app = router();
  // Declared for the document only: the real route is the wildcard below (a path of any depth).
  app.openAPIRegistry.registerPath(receive);
  // Per client first (before any work, 404s included), per endpoint once the path names one.
  app.use(rateLimit({ limit: deps.config.RATE_LIMIT_PER_CLIENT, what: "client address" }));
  const perEndpoint = deps.config.RATE_LIMIT_PER_ENDPOINT ? new TokenBuckets(deps.config.RATE_LIMIT_PER_ENDPOINT) : undefined;
  const stream = deps.config.STREAM_NAME;
  const publisher =
    deps.config.GROUP_COMMIT === "on"
      ? new GroupCommitPublisher(deps.nc, deps.js, { stream, maxSingles: deps.config.GROUP_COMMIT_MAX_SINGLES, minBatch: deps.config.GROUP_COMMIT_MIN_BATCH })
      : directPublisher(deps.js, stream);

  app.post("/*", async (c) => {
    // The Node request, under @hono/node-server (absent in app.request() tests).
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    // The WHATWG URL has already resolved `..` and `%2E%2E`; judge the path as it was sent.
    const sent = incoming?.url?.split("?")[0] ?? new URL(c.req.url).pathname;
    const rawPath = sent.replace(/^\/webhook\/?/, "");
    const segments = clientSubjectError(() => parseWebhookPath(rawPath));
    // Before the first load (PostgreSQL unreachable since this gateway started) an unknown path
    // cannot be told from one whose table has not been read: 503, never a false 404.
    if (!deps.endpoints.ready) {
      throw new BrokerError("unavailable", "the endpoint table has not been loaded yet (the database has not been reachable since this gateway started); retry later", {
        retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
      });
    }
    const endpoint = deps.endpoints.match(segments);
    if (!endpoint) throw new BrokerError("endpoint_not_found", "no endpoint is registered for this path");
    c.set("webhookProvider", endpoint.provider);
    admit(perEndpoint, endpoint.id, "endpoint");

    // Never above what one NATS message can hold (the server's max_payload may have been
    // lowered since the endpoint was created): past it the answer is a 413, never a 5xx.
    const provider = getProvider(endpoint.provider);
    if (!provider) throw new BrokerError("unsupported_provider", `provider ${endpoint.provider} is not available`);
    const maxPayload = deps.nc.info?.max_payload;
    const configured = endpoint.maxBodyBytes ?? deps.config.MAX_BODY_BYTES;
    const body = await readBodyLimited(c.req.raw, maxPayload ? Math.min(configured, bodyCeiling(maxPayload)) : configured, incoming);

    const now = Date.now();
    let verified;
    try {
      verified = await provider.verify({
        body,
        headers: c.req.raw.headers,
        method: c.req.method,
        // Parsed only for the provider that signs the URL (Jira): a URL per delivery showed in the profile.
        get pathAndQuery() {
          const url = new URL(c.req.url);
          return url.pathname + url.search;
        },
        secrets: secretsAt(endpoint, now),
        options: endpoint.options,
        now,
      });
    } catch (err) {
      if (err instanceof VerificationError) throw new BrokerError(err.code, err.message);
      throw err;
    }
    if (verified.reply) {
      return c.body(verified.reply.body, verified.reply.status as 200, { "Content-Type": verified.reply.contentType });
    }

    // Senders without a delivery id get one derived from what they sent, so retries dedupe.
    // An empty header counts as none: as an id it would make every later delivery a duplicate.
    const deliveryId =
      verified.deliveryId || createHash("sha256").update(endpoint.id).update(body).digest("hex").slice(0, 32);
    const subject = clientSubjectError(() => deliverySubject(endpoint.id, verified.event, segments));
    const receivedAt = new Date(now).toISOString();
    const h = storedHeaders(incoming ? incoming.rawHeaders : rawHeaders(c.req.raw.headers));
    // Appended, not set: no stored sender header starts with `wb-` (storedHeaders drops them).
    h.append(H.event, verified.event);
    h.append(H.deliveryId, deliveryId);
    h.append(H.contentType, c.req.header("content-type") ?? "");
    h.append(H.receivedAt, receivedAt);
    h.append(H.endpointId, endpoint.id);
    h.append(H.source, provider.name);
    h.append(H.verified, String(verified.verified));
    h.append(H.path, segments.join("/"));

    const publishing = performance.now();
    try {
      const ack = await requestThroughReconnects(
        deps.link,
        deps.config.PUBLISH_TIMEOUT,
        (timeout) =>
          publisher.publish({
            subject,
            body,
            headers: h,
            // Scoped by endpoint: two endpoints may legitimately see the same sender id. Also
            // what makes a resend after a reconnect safe: a copy that did arrive is a duplicate.
            msgID: `${endpoint.id}:${deliveryId}`,
            timeout,
          }),
        natsDown,
        // A stream between leaders (a cluster's election takes seconds): sent again while time is left.
        isLeaderUnavailable,
      );
      const outcome = ack.duplicate ? "duplicate" : "stored";
      deps.metrics.publishDuration.observe({ result: outcome }, secondsSince(publishing));
      c.set("deliveryOutcome", outcome);
      // A duplicate answers with the first delivery's time, as stored.
      const firstReceivedAt = ack.duplicate ? await storedReceivedAt(deps.jsm, ack.stream, ack.seq) : undefined;
      return c.json({ id: ack.seq, received_at: firstReceivedAt ?? receivedAt, duplicate: ack.duplicate }, 202);
    } catch (err) {
      deps.metrics.publishDuration.observe({ result: "error" }, secondsSince(publishing));
      if (err instanceof BrokerError) throw err;
      if (isStorageFull(err)) deps.onStreamFull?.();
      throw publishError(err, deps.onStreamFull ? STREAM_FULL_RETRY_AFTER_SECONDS : STREAM_FULL_NO_PURGE_RETRY_AFTER_SECONDS);
    }
  });

  return app;
}

async function storedReceivedAt(jsm: JetStreamManager, stream: string, seq: number): Promise<string | undefined> {
  try {
    return (await jsm.direct.getMessage(stream, { seq }))?.header.get(H.receivedAt) || undefined;
  } catch {
    return undefined;
  }
}

/** A path that cannot become a subject is the sender's mistake (400 / 414), not ours. */
function clientSubjectError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof SubjectError) throw new BrokerError(err.code, err.message);
    throw err;
  }
}

/** A fetch `Headers` as Node's `rawHeaders` (for app.request() tests, which have no Node request). */
function rawHeaders(headers: Headers): string[] {
  const raw: string[] = [];
  headers.forEach((value, name) => {
    raw.push(name, value);
  });
  return raw;
}
