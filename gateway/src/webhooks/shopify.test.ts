import { createHmac } from "node:crypto";
import { describe } from "vitest";
import { shopify } from "./shopify.js";
import { digestHeaderCases } from "./testing.js";

// No oracle library exists and Shopify publishes no vector; signed with node:crypto as
// shopify.dev documents it ("Verify webhooks"): X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256
// of the raw body keyed with the app's client secret.
describe("shopify", () => {
  digestHeaderCases({
    provider: shopify,
    header: "X-Shopify-Hmac-Sha256",
    sign: (secret, body) => createHmac("sha256", secret).update(body).digest("base64"),
    body: JSON.stringify({ id: 820982911946154500, email: "jon@example.com" }),
    extra: { "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "X-Shopify-Shop-Domain": "shop.myshopify.com" },
    expected: { event: "orders/create", deliveryId: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043" },
  });
});
