import { describe, expect, it } from "vitest";
import { gitlab } from "./gitlab.js";
import { expectCode, input, without } from "./testing.js";

// GitLab does not sign: "GitLab sends the secret token in the X-Gitlab-Token header"
// (docs.gitlab.com, user/project/integrations/webhooks, "Validate payloads by using a secret
// token"). Headers as in its "Delivery headers" section; Idempotency-Key since GitLab 17.4.
const SECRET = "gitlab-token-current";
const PREVIOUS = "gitlab-token-previous";
const body = JSON.stringify({ object_kind: "push", ref: "refs/heads/main" });
const headers = {
  "X-Gitlab-Token": SECRET,
  "X-Gitlab-Event": "Push Hook",
  "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e",
  "Idempotency-Key": "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
};
const verify = (h: Record<string, string>, secrets: string[] = [SECRET]) => gitlab.verify(input({ body, headers: h, secrets }));

describe("gitlab", () => {
  it("accepts the token and prefers Idempotency-Key (stable across retries) as delivery id", () => {
    expect(verify(headers)).toEqual({ event: "Push Hook", deliveryId: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", verified: true });
  });

  it("falls back to X-Gitlab-Event-UUID, then to no delivery id", () => {
    expect(verify(without(headers, "Idempotency-Key")).deliveryId).toBe("13792a34-cac6-4fda-95a8-c58e00a3954e");
    expect(verify(without(without(headers, "Idempotency-Key"), "X-Gitlab-Event-UUID")).deliveryId).toBeNull();
  });

  it("does not authenticate the body (GitLab signs none): a changed body still passes", () => {
    expect(gitlab.verify(input({ body: "{}", headers, secrets: [SECRET] })).verified).toBe(true);
  });

  it("rejects the wrong token, a prefix of it and a longer one", () => {
    for (const token of ["wrong", SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase()]) {
      expectCode(() => verify({ ...headers, "X-Gitlab-Token": token }), "signature_invalid");
    }
  });

  it("rejects a missing or empty token", () => {
    expectCode(() => verify(without(headers, "X-Gitlab-Token")), "signature_missing");
    expectCode(() => verify({ ...headers, "X-Gitlab-Token": "" }), "signature_missing");
  });

  it("accepts the previous token during rotation, and no token outside the list", () => {
    expect(verify({ ...headers, "X-Gitlab-Token": PREVIOUS }, [SECRET, PREVIOUS]).verified).toBe(true);
    expectCode(() => verify({ ...headers, "X-Gitlab-Token": PREVIOUS }), "signature_invalid");
  });
});
