import { z } from "zod";
import { verifyDigestHeader } from "./digest.js";
import { checkTimestamp, parseVerifiedJson, requireHeader, stringField, toleranceSchema } from "./shared.js";
import type { Provider, Verified } from "./types.js";

export const slackOptionsSchema = z.object({ tolerance_seconds: toleranceSchema }).strict();

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">` keyed with the
 * app's signing secret; `X-Slack-Request-Timestamp` must be within the tolerance (Slack says
 * five minutes) either way. Only after that is the body read:
 * - `url_verification` (Events API handshake): answered with the challenge, nothing stored;
 * - Events API JSON: event `event.type` (else `type`), delivery id `event_id`, which stays the
 *   same on Slack's retries;
 * - form-encoded bodies, best effort: interactivity (`payload=<json>`) gives the payload's
 *   `type` (`block_actions`, `view_submission`, ...); a slash command gives `slash_command`.
 *   Neither has a delivery id.
 */
export const slack: Provider = {
  name: "slack",
  optionsSchema: slackOptionsSchema,
  verify({ body, headers, secrets, options, now }) {
    const { tolerance_seconds } = slackOptionsSchema.parse(options);
    requireHeader(headers, "X-Slack-Signature");
    const ts = requireHeader(headers, "X-Slack-Request-Timestamp");
    checkTimestamp(ts, "X-Slack-Request-Timestamp", now, tolerance_seconds);
    verifyDigestHeader(headers, secrets, { header: "X-Slack-Signature", algorithm: "sha256", encoding: "hex", prefix: "v0=" }, ["v0:", ts, ":", body]);
    return describe(body);
  },
};

function describe(body: Uint8Array): Verified {
  const text = Buffer.from(body).toString("utf8");
  if (text.trimStart().startsWith("{")) {
    const json = parseVerifiedJson(body);
    const type = stringField(json, "type") ?? "";
    const challenge = stringField(json, "challenge");
    if (type === "url_verification" && challenge !== undefined) {
      return { event: type, deliveryId: null, verified: true, reply: { status: 200, contentType: "text/plain", body: challenge } };
    }
    const inner = json !== null && typeof json === "object" ? (json as { event?: unknown }).event : undefined;
    return { event: stringField(inner, "type") ?? type, deliveryId: stringField(json, "event_id") ?? null, verified: true };
  }
  const form = new URLSearchParams(text);
  const payload = form.get("payload");
  if (payload !== null) {
    return { event: stringField(parseVerifiedJson(Buffer.from(payload)), "type") ?? "", deliveryId: null, verified: true };
  }
  return { event: form.has("command") ? "slash_command" : "", deliveryId: null, verified: true };
}
