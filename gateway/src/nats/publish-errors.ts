import { BrokerError } from "@wb/authz";
import { NATS_RETRY_AFTER_SECONDS } from "../errors.js";

/** JetStream refused the publish for lack of room (discard new at max bytes or max messages). */
export function isStorageFull(err: unknown): boolean {
  return /maximum (bytes|messages)|resource limits exceeded|insufficient storage/i.test(String((err as Error)?.message ?? err));
}

/**
 * Maps a failed JetStream publish to 503 + Retry-After. Whatever went wrong, the sender must
 * retry: we never answer 2xx for a delivery JetStream did not confirm. A full stream asks for
 * `fullRetryAfterSeconds` (room comes from readers' acks and the purge, see purge.ts).
 */
export function publishError(err: unknown, fullRetryAfterSeconds = STREAM_FULL_RETRY_AFTER_SECONDS): BrokerError {
  const full = isStorageFull(err);
  return new BrokerError(
    "unavailable",
    full ? "the broker's storage is full; retry later" : "the broker could not store the delivery right now; retry later",
    { retryAfterSeconds: full ? fullRetryAfterSeconds : 5 },
  );
}

/**
 * Retry-After for a full stream: with the purge on, it runs at once on the refusal and room that
 * acks allow is there within seconds, so a retry after this finds it; with it off, room comes only
 * from STREAM_MAX_AGE or an operator, and senders are asked to wait longer.
 */
export const STREAM_FULL_RETRY_AFTER_SECONDS = 30;
export const STREAM_FULL_NO_PURGE_RETRY_AFTER_SECONDS = 300;

/** The answer while the NATS connection is down or reconnecting: at once, not after a timeout. */
export function natsDown(): BrokerError {
  return new BrokerError("unavailable", "the broker is reconnecting to its message store; retry shortly", { retryAfterSeconds: NATS_RETRY_AFTER_SECONDS });
}
