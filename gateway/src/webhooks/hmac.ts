import { z } from "zod";
import { verifyDigestHeader } from "./digest.js";
import { checkTimestamp, headerNameSchema, requireHeader, toleranceSchema } from "./shared.js";
import type { Provider } from "./types.js";

/** Options of the generic HMAC provider, validated when the endpoint is created. */
export const hmacOptionsSchema = z
  .object({
    /** The header carrying the signature. */
    header: headerNameSchema,
    algorithm: z.enum(["sha256", "sha512"]).default("sha256"),
    encoding: z.enum(["hex", "base64"]).default("hex"),
    /** Text before the digest in the header, e.g. `sha256=`. */
    prefix: z.string().max(64).default(""),
    /** When set, the sender signs `${timestamp}.${body}` and sends the timestamp (Unix seconds) here. */
    timestamp_header: headerNameSchema.optional(),
    tolerance_seconds: toleranceSchema,
    event_header: headerNameSchema.optional(),
    delivery_header: headerNameSchema.optional(),
  })
  .strict();

export type HmacOptions = z.infer<typeof hmacOptionsSchema>;

/**
 * Generic HMAC for senders without a provider of their own: the header holds
 * `<prefix><hex|base64 HMAC of the signed content>`. The signed content is the raw body, or,
 * with `timestamp_header`, `${timestamp}.${body}` (the Stripe / Standard Webhooks convention),
 * the timestamp then having to lie within `tolerance_seconds` of now.
 */
export const hmacProvider: Provider = {
  name: "hmac",
  optionsSchema: hmacOptionsSchema,
  verify({ body, headers, secrets, options, now }) {
    const o = hmacOptionsSchema.parse(options);
    let parts: (string | Uint8Array)[] = [body];
    if (o.timestamp_header) {
      const ts = requireHeader(headers, o.timestamp_header);
      checkTimestamp(ts, o.timestamp_header, now, o.tolerance_seconds);
      parts = [ts, ".", body];
    }
    verifyDigestHeader(headers, secrets, { header: o.header, algorithm: o.algorithm, encoding: o.encoding, prefix: o.prefix }, parts);
    return {
      event: (o.event_header && headers.get(o.event_header)) ?? "",
      deliveryId: o.delivery_header ? headers.get(o.delivery_header) : null,
      verified: true,
    };
  },
};
