import { bodyDigestProvider } from "./digest.js";

/**
 * Bitbucket (Cloud and Data Center), webhooks with a secret:
 * `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`; event in `X-Event-Key`
 * (`repo:push`); delivery id in `X-Request-UUID` (Cloud) or `X-Request-Id` (Data Center).
 * Unlike GitHub's header of the same name, Bitbucket's is SHA-256, never SHA-1.
 */
export const bitbucket = bodyDigestProvider({
  name: "bitbucket",
  signature: { header: "X-Hub-Signature", algorithm: "sha256", encoding: "hex", prefix: "sha256=" },
  eventHeader: "X-Event-Key",
  deliveryHeaders: ["X-Request-UUID", "X-Request-Id"],
});
