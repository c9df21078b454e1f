import { z } from "zod";
import { decodeDigest, signedByAnyKey } from "./digest.js";
import { checkTimestamp, parseVerifiedJson, stringField, toleranceSchema } from "./shared.js";
import { VerificationError, type Provider } from "./types.js";

export const standardWebhooksOptionsSchema = z.object({ tolerance_seconds: toleranceSchema }).strict();

/** `webhook-<name>`, else Svix's older `svix-<name>`. */
function pick(headers: Headers, name: string): string {
  const value = headers.get(`webhook-${name}`) || headers.get(`svix-${name}`);
  if (!value) throw new VerificationError("signature_missing", `webhook-${name} (or svix-${name}) header is missing`);
  return value;
}

/** `whsec_<base64>` (or bare base64, as the reference libraries also accept): the key is the decoded bytes. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
}

/**
 * Standard Webhooks (https://www.standardwebhooks.com), which is also what Svix sends:
 * `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>` of
 * `${webhook-id}.${webhook-timestamp}.${body}`; `webhook-timestamp` must be within the
 * tolerance either way. Other versions (`v1a`, asymmetric) are ignored. The delivery id is
 * `webhook-id`, the same on every retry. The spec puts the event type only in the body
 * (`type`), so it is read from there once the signature holds.
 */
export const standardWebhooks: Provider = {
  name: "standard-webhooks",
  optionsSchema: standardWebhooksOptionsSchema,
  verify({ body, headers, secrets, options, now }) {
    const { tolerance_seconds } = standardWebhooksOptionsSchema.parse(options);
    const id = pick(headers, "id");
    const timestamp = pick(headers, "timestamp");
    const signature = pick(headers, "signature");
    checkTimestamp(timestamp, "webhook-timestamp", now, tolerance_seconds);
    const candidates = signature
      .split(" ")
      .flatMap((entry) => (entry.startsWith("v1,") ? (decodeDigest(entry.slice(3), "base64", "sha256") ?? []) : []));
    if (candidates.length === 0) throw new VerificationError("signature_invalid", "webhook-signature has no v1,<base64> signature");
    if (!signedByAnyKey(secrets.map(keyOf), candidates, "sha256", [id, ".", timestamp, ".", body])) {
      throw new VerificationError("signature_invalid", "no signature in webhook-signature matches the body");
    }
    return { event: stringField(parseVerifiedJson(body), "type") ?? "", deliveryId: id, verified: true };
  },
};
