import { BrokerError } from "@wb/authz";
import { NATS_RETRY_AFTER_SECONDS } from "../errors.js";

/**
 * Maps a failed JetStream publish to 503 + Retry-After. Whatever went wrong, the sender must
 * retry: we never answer 2xx for a delivery JetStream did not confirm.
 */
export function publishError(err: unknown): BrokerError {
  const text = String((err as Error)?.message ?? err);
  const full = /maximum (bytes|messages)|resource limits exceeded|insufficient storage/i.test(text);
  return new BrokerError(
    "unavailable",
    full ? "the broker's storage is full; retry later" : "the broker could not store the delivery right now; retry later",
    { retryAfterSeconds: full ? 60 : 5 },
  );
}

/** The answer while the NATS connection is down or reconnecting: at once, not after a timeout. */
export function natsDown(): BrokerError {
  return new BrokerError("unavailable", "the broker is reconnecting to its message store; retry shortly", { retryAfterSeconds: NATS_RETRY_AFTER_SECONDS });
}
