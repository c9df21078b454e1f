import { bodyDigestProvider } from "./digest.js";

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`; event in
 * `X-GitHub-Event` (`ping` is just an event), delivery id in `X-GitHub-Delivery`.
 */
export const github = bodyDigestProvider({
  name: "github",
  signature: { header: "X-Hub-Signature-256", algorithm: "sha256", encoding: "hex", prefix: "sha256=" },
  eventHeader: "X-GitHub-Event",
  deliveryHeaders: ["X-GitHub-Delivery"],
});
