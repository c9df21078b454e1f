import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { shopify } from "./shopify.js";
import { digestHeaderCases, input } from "./testing.js";

// No oracle library exists and Shopify publishes no vector; signed with node:crypto as
// shopify.dev documents it ("Verify webhooks"): X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256
// of the raw body keyed with the app's client secret.
const SECRET = "shopify-client-secret";
const body = JSON.stringify({ id: 820982911946154500, email: "jon@example.com" });
const sign = (secret: string, text: string) => createHmac("sha256", secret).update(text).digest("base64");
const EVENT_ID = "98880550-7158-44d4-b7cd-2c97c8a091b5";
const WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";

describe("shopify", () => {
  digestHeaderCases({
    provider: shopify,
    header: "X-Shopify-Hmac-Sha256",
    sign,
    body,
    extra: { "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": WEBHOOK_ID, "X-Shopify-Shop-Domain": "shop.myshopify.com" },
    expected: { event: "orders/create", deliveryId: WEBHOOK_ID },
  });

  it("accepts the newer unprefixed headers (shopify-hmac-sha256, shopify-topic, ...)", () => {
    const headers = {
      "shopify-hmac-sha256": sign(SECRET, body),
      "shopify-topic": "orders/create",
      "shopify-webhook-id": WEBHOOK_ID,
      "shopify-event-id": EVENT_ID,
      "shopify-shop-domain": "shop.myshopify.com",
    };
    expect(shopify.verify(input({ body, headers, secrets: [SECRET] }))).toEqual({ event: "orders/create", deliveryId: EVENT_ID, verified: true });
    expect(() => shopify.verify(input({ body: `${body} `, headers, secrets: [SECRET] }))).toThrow(/does not match/);
  });

  it("keys duplicates on the event id: one event retried under a new webhook id is one delivery", () => {
    // shopify.dev ("Ignore duplicate webhooks"): the same event can arrive with several
    // X-Shopify-Webhook-Id values; X-Shopify-Event-Id is what stays the same.
    const headers = (webhookId: string) => ({
      "X-Shopify-Hmac-Sha256": sign(SECRET, body),
      "X-Shopify-Topic": "orders/create",
      "X-Shopify-Webhook-Id": webhookId,
      "X-Shopify-Event-Id": EVENT_ID,
    });
    const first = shopify.verify(input({ body, headers: headers(WEBHOOK_ID), secrets: [SECRET] }));
    const retry = shopify.verify(input({ body, headers: headers("0c2b0f5e-0000-4000-8000-000000000001"), secrets: [SECRET] }));
    expect(first.deliveryId).toBe(EVENT_ID);
    expect(retry.deliveryId).toBe(first.deliveryId);
  });
});
