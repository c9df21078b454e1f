import { z } from "@hono/zod-openapi";
import { instant } from "../openapi.js";

/** A stored delivery as pulls render it (deliveries.ts renderMessage). */
export const Message = z
  .object({
    id: z.number().int().openapi({ description: "The message id (its stream sequence): ack with it, or replay after it" }),
    endpoint_id: z.string(),
    webhook_path: z.string(),
    source: z.string().openapi({ description: "The provider that verified it", example: "github" }),
    event: z.string(),
    delivery_id: z.string(),
    verified: z.boolean(),
    received_at: instant,
    content_type: z.string(),
    redrive_of: z.number().int().optional().openapi({ description: "A redrive copy: the id of the dead-lettered message it copies" }),
    delivery_count: z.number().int().optional().openapi({ description: "How often it was delivered (absent in a replay)" }),
    ack_token: z.string().optional().openapi({ description: "Settles this delivery without an ownership lookup (absent in a replay)" }),
    headers: z.record(z.string(), z.string()).openapi({ description: "The sender's headers (credentials are never stored)" }),
    payload_encoding: z.enum(["json", "base64"]),
    payload: z.unknown().openapi({ description: "The body: as JSON when it was JSON, else base64" }),
  })
  .openapi("Message");

export const Pull = z.object({
  messages: z.array(Message),
  has_more: z.boolean(),
  next_cursor: z.string().nullable().openapi({ description: "The last id returned: pass as after_id to replay from there" }),
});

const ids = z.array(z.number().int());

/** What a settlement answers: the ids settled (under the field named for it), and those not delivered to the consumer. */
export const Settled = z.object({
  acked: ids.optional(),
  naked: ids.optional(),
  in_progress: ids.optional(),
  terminated: ids.optional(),
  not_delivered: ids.optional().openapi({ description: "Readable, but not delivered to this consumer now (nothing to settle)" }),
});
