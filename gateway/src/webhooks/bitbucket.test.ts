import { createHmac } from "node:crypto";
import { describe } from "vitest";
import { bitbucket } from "./bitbucket.js";
import { digestHeaderCases } from "./testing.js";

// No oracle library exists; signed with node:crypto as Bitbucket documents it: "the header
// X-Hub-Signature ... contains the HMAC", `sha256=<hex HMAC-SHA256 of the body>` keyed with
// the webhook secret (support.atlassian.com, Bitbucket Cloud "Manage webhooks", secure
// webhooks; confluence.atlassian.com, Bitbucket Data Center "Event payload", HTTP headers).
const sign = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
const body = JSON.stringify({ push: { changes: [] }, repository: { full_name: "team/repo" } });

const variants = [
  { name: "Cloud", event: "repo:push", deliveryHeader: "X-Request-UUID", id: "3c2a9d41-6b5a-4c2e-8e1f-0a9d8b7c6e5f" },
  { name: "Data Center", event: "repo:refs_changed", deliveryHeader: "X-Request-Id", id: "b3c7a2f0-1d4e-4f6a-9b8c-7d6e5f4a3b2c" },
];

for (const v of variants) {
  describe(`bitbucket (${v.name} headers)`, () => {
    digestHeaderCases({
      provider: bitbucket,
      header: "X-Hub-Signature",
      sign,
      body,
      extra: { "X-Event-Key": v.event, [v.deliveryHeader]: v.id },
      expected: { event: v.event, deliveryId: v.id },
    });
  });
}
