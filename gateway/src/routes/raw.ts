/**
 * `GET /api/v1/messages/:id/raw`: one stored delivery exactly as the sender sent it (body byte
 * for byte, its content type, its headers as `X-Wb-Header-<name>`), so a reader can verify the
 * sender's signature itself. Same read rule and same 404 as settling by id.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { JetStreamManager } from "@nats-io/jetstream";
import { BrokerError, isMessageNotFound, isStreamNotFound, parseDeliverySubject, readableEndpointIds, type Db } from "@wb/authz";
import { H, isSenderHeader } from "../deliveries.js";
import { declare, errors, router } from "../openapi.js";

export interface RawDeps {
  db: Db;
  jsm: JetStreamManager;
  config: { STREAM_NAME: string };
}

/** The broker's facts about a delivery, as response headers. */
const FACTS: [string, string][] = [
  ["X-Wb-Endpoint-Id", H.endpointId],
  ["X-Wb-Source", H.source],
  ["X-Wb-Event", H.event],
  ["X-Wb-Delivery-Id", H.deliveryId],
  ["X-Wb-Received-At", H.receivedAt],
  ["X-Wb-Verified", H.verified],
];

const messageId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const raw = createRoute({
  method: "get",
  path: "/{id}/raw",
  tags: ["messages"],
  summary: "One stored delivery exactly as sent: the body byte for byte, the sender's headers as X-Wb-Header-<name>",
  request: { params: z.object({ id: z.string().openapi({ description: "The message id (a stream sequence)" }) }) },
  responses: {
    200: { description: "The sender's body, under the sender's content type", content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } } },
    ...errors(400, 404),
  },
});

export function rawRoutes(deps: RawDeps) {
  const app = router();
  declare(app, raw, async (c) => {
    const id = messageId.safeParse(c.req.valid("param").id);
    if (!id.success) throw new BrokerError("invalid_request", "the message id must be a positive integer (a stream sequence)");
    const notFound = () => new BrokerError("message_not_found", `message ${id.data} not found`);
    let m;
    try {
      m = await deps.jsm.direct.getMessage(deps.config.STREAM_NAME, { seq: id.data });
    } catch (err) {
      if (isMessageNotFound(err) || isStreamNotFound(err)) throw notFound();
      throw err;
    }
    if (!m) throw notFound();
    // A message of an endpoint the caller may not read gets the same answer as a missing one.
    const readable = await readableEndpointIds(deps.db, c.get("principal").userId);
    if (!readable.includes(parseDeliverySubject(m.subject).endpointId)) throw notFound();

    const headers = new Headers({
      "content-type": m.header.get(H.contentType) || "application/octet-stream",
      "x-wb-message-id": String(m.seq),
      "x-wb-webhook-path": `/webhook/${m.header.get(H.path).split("/").map(encodeURIComponent).join("/")}`,
      // The sender chose the content type: never let a browser run or sniff it.
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "cache-control": "private, no-store",
    });
    for (const [name, stored] of FACTS) headers.set(name, m.header.get(stored));
    for (const k of m.header.keys()) {
      if (isSenderHeader(k)) for (const v of m.header.values(k)) headers.append(`x-wb-header-${k}`, v);
    }
    return new Response(m.data as Uint8Array<ArrayBuffer>, { status: 200, headers });
  });

  return app;
}
