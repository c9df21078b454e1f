import { bodyDigestProvider } from "./digest.js";

/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the raw body>` keyed with the app's
 * client secret; event in `X-Shopify-Topic` (`orders/create`), delivery id in
 * `X-Shopify-Webhook-Id`.
 */
export const shopify = bodyDigestProvider({
  name: "shopify",
  signature: { header: "X-Shopify-Hmac-Sha256", algorithm: "sha256", encoding: "base64", prefix: "" },
  eventHeader: "X-Shopify-Topic",
  deliveryHeaders: ["X-Shopify-Webhook-Id"],
});
