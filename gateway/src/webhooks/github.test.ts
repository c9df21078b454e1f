import { createRequire } from "node:module";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import { sign } from "@octokit/webhooks-methods";
import { beforeAll, describe, expect, it } from "vitest";
import { github } from "./github.js";
import { expectCode, input, without } from "./testing.js";

// Real payloads from GitHub's own examples; signatures from Octokit's signer, not ours.
// (The package is plain JSON with hand-written ESM-style types; require sidesteps the mismatch.)
const examples: WebhookDefinition[] = createRequire(import.meta.url)("@octokit/webhooks-examples");
const example = (name: string) => {
  const found = examples.find((e) => e.name === name)?.examples[0];
  if (!found) throw new Error(`no ${name} example`);
  return JSON.stringify(found);
};
const push = example("push");
const ping = example("ping");
const SECRET = "It's a Secret to Everybody";
const PREVIOUS = "the secret before rotation";

let headers: Record<string, string>;
beforeAll(async () => {
  headers = {
    "X-Hub-Signature-256": await sign(SECRET, push),
    "X-GitHub-Event": "push",
    "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
  };
});

describe("github", () => {
  it("verifies a real push payload signed by Octokit and extracts event and delivery id", () => {
    expect(github.verify(input({ body: push, headers, secrets: [SECRET] }))).toEqual({
      event: "push",
      deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      verified: true,
    });
  });

  it("treats ping as just another event", async () => {
    const h = { "X-Hub-Signature-256": await sign(SECRET, ping), "X-GitHub-Event": "ping" };
    expect(github.verify(input({ body: ping, headers: h, secrets: [SECRET] }))).toMatchObject({ event: "ping", deliveryId: null });
  });

  it("matches GitHub's documented example", () => {
    // docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody",
    // payload "Hello, World!".
    const h = { "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" };
    expect(github.verify(input({ body: "Hello, World!", headers: h, secrets: [SECRET] })).verified).toBe(true);
  });

  it("rejects a tampered body", () => {
    expectCode(() => github.verify(input({ body: `${push} `, headers, secrets: [SECRET] })), "signature_invalid", /does not match/);
  });

  it("rejects the wrong secret", () => {
    expectCode(() => github.verify(input({ body: push, headers, secrets: ["wrong"] })), "signature_invalid", /does not match/);
  });

  it("rejects a missing signature header", () => {
    expectCode(() => github.verify(input({ body: push, headers: without(headers, "X-Hub-Signature-256"), secrets: [SECRET] })), "signature_missing");
  });

  it("rejects malformed signature headers", () => {
    for (const bad of ["sha1=abc", "sha256=xyz", "sha256=", headers["X-Hub-Signature-256"]!.slice(0, -2)]) {
      const h = { ...headers, "X-Hub-Signature-256": bad };
      expectCode(() => github.verify(input({ body: push, headers: h, secrets: [SECRET] })), "signature_invalid", /not of the form/);
    }
  });

  it("accepts the previous secret during rotation, and no secret outside the list", async () => {
    const h = { ...headers, "X-Hub-Signature-256": await sign(PREVIOUS, push) };
    expect(github.verify(input({ body: push, headers: h, secrets: [SECRET, PREVIOUS] })).verified).toBe(true);
    expectCode(() => github.verify(input({ body: push, headers: h, secrets: [SECRET] })), "signature_invalid");
  });

  it("never verifies with an empty secret or none at all", () => {
    const h = { "X-Hub-Signature-256": "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad" }; // HMAC("", "")
    expectCode(() => github.verify(input({ body: "", headers: h, secrets: [""] })), "signature_invalid");
    expectCode(() => github.verify(input({ body: push, headers, secrets: [] })), "signature_invalid");
  });

  it("refuses options it does not know", () => {
    expect(() => github.verify(input({ body: push, headers, secrets: [SECRET], options: { prefix: "x" } }))).toThrow();
  });
});
