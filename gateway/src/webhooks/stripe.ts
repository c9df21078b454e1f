import { z } from "zod";
import { decodeDigest, signedByAnyKey } from "./digest.js";
import { checkTimestamp, parseVerifiedJson, requireHeader, stringField, toleranceSchema } from "./shared.js";
import { VerificationError, type Provider } from "./types.js";

export const stripeOptionsSchema = z.object({ tolerance_seconds: toleranceSchema }).strict();

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, each v1 an HMAC-SHA256
 * of `${t}.${body}` keyed with the endpoint secret (`whsec_...`, used as is). Several v1 are
 * sent while Stripe rolls a secret; any one matching any of our secrets is enough. Other
 * schemes (`v0`, test-mode leftovers) are ignored. `t` must be within the tolerance either way.
 *
 * Stripe has no event or delivery header: both come from the body (`type`, `id`), read only
 * after the signature holds. `id` is the event id, the same on every retry.
 */
export const stripe: Provider = {
  name: "stripe",
  optionsSchema: stripeOptionsSchema,
  verify({ body, headers, secrets, options, now }) {
    const { tolerance_seconds } = stripeOptionsSchema.parse(options);
    const header = requireHeader(headers, "Stripe-Signature");
    const { timestamps, v1 } = parseSignatureHeader(header);
    if (v1.length === 0) throw new VerificationError("signature_invalid", "Stripe-Signature has no v1 signature");
    const [t] = timestamps;
    if (timestamps.length !== 1 || t === undefined) {
      throw new VerificationError("timestamp_invalid", "Stripe-Signature must carry exactly one t=");
    }
    checkTimestamp(t, "Stripe-Signature t", now, tolerance_seconds);
    const candidates = v1.flatMap((sig) => decodeDigest(sig, "hex", "sha256") ?? []);
    if (!signedByAnyKey(secrets, candidates, "sha256", [t, ".", body])) {
      throw new VerificationError("signature_invalid", "no v1 signature in Stripe-Signature matches the body");
    }
    const event = parseVerifiedJson(body);
    return { event: stringField(event, "type") ?? "", deliveryId: stringField(event, "id") ?? null, verified: true };
  },
};

function parseSignatureHeader(header: string): { timestamps: string[]; v1: string[] } {
  const timestamps: string[] = [];
  const v1: string[] = [];
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === "t") timestamps.push(value);
    else if (key === "v1") v1.push(value);
  }
  return { timestamps, v1 };
}
