import { checkNoOptions, noOptionsSchema } from "./shared.js";
import { verifyDigestHeader, type DigestHeader } from "./digest.js";
import type { Provider } from "./types.js";

/** The first of the header names present: Shopify sends each with and without the `X-` prefix. */
function either(headers: Headers, names: readonly string[]): string | null {
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null && value !== "") return value;
  }
  return null;
}

const both = (name: string) => [`X-Shopify-${name}`, `Shopify-${name}`] as const;

/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the raw body>` keyed with the app's
 * client secret; event in `X-Shopify-Topic` (`orders/create`). Newer deliveries carry the same
 * headers without the `X-` prefix (`shopify-hmac-sha256`, `shopify-topic`, ...). The delivery id
 * is `X-Shopify-Event-Id`, which Shopify says to deduplicate on (one event can be sent under
 * several `X-Shopify-Webhook-Id`s); the webhook id only when no event id is sent.
 */
export const shopify: Provider = {
  name: "shopify",
  optionsSchema: noOptionsSchema,
  verify({ body, headers, secrets, options }) {
    checkNoOptions(options);
    const [prefixed, plain] = both("Hmac-Sha256");
    const header = headers.has(prefixed) || !headers.has(plain) ? prefixed : plain;
    const spec: DigestHeader = { header, algorithm: "sha256", encoding: "base64", prefix: "" };
    verifyDigestHeader(headers, secrets, spec, [body]);
    return {
      event: either(headers, both("Topic")) ?? "",
      deliveryId: either(headers, [...both("Event-Id"), ...both("Webhook-Id")]),
      verified: true,
    };
  },
};
