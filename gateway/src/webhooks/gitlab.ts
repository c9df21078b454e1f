import { safeEqualText } from "./compare.js";
import { checkNoOptions, noOptionsSchema, requireHeader } from "./shared.js";
import { VerificationError, type Provider } from "./types.js";

/**
 * GitLab signs nothing: `X-Gitlab-Token` carries the secret token itself, so the body is not
 * authenticated beyond TLS. Compared in constant time against every current secret.
 * Event in `X-Gitlab-Event` (`Push Hook`). Delivery id: `Idempotency-Key` (GitLab 17.4+, the
 * same on every retry of a delivery), else `X-Gitlab-Event-UUID`.
 */
export const gitlab: Provider = {
  name: "gitlab",
  optionsSchema: noOptionsSchema,
  verify({ headers, secrets, options }) {
    checkNoOptions(options);
    const token = requireHeader(headers, "X-Gitlab-Token");
    if (!secrets.some((secret) => safeEqualText(secret, token))) {
      throw new VerificationError("signature_invalid", "X-Gitlab-Token does not match the endpoint's secret");
    }
    return {
      event: headers.get("x-gitlab-event") ?? "",
      deliveryId: headers.get("idempotency-key") ?? headers.get("x-gitlab-event-uuid"),
      verified: true,
    };
  },
};
