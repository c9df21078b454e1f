import { JetStreamApiError } from "@nats-io/jetstream";
import { NoRespondersError, RequestError } from "@nats-io/transport-node";
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

/** JetStream's "temporarily unavailable" (a cluster between leaders, or without quorum). */
const CLUSTER_NOT_AVAILABLE = 10008;

/**
 * The stream has no leader to take the publish right now: nobody answers on its subject (nats.js:
 * "no responders", which a JetStream publish reports as "jetstream is not enabled") or JetStream
 * says it is temporarily unavailable. On a cluster that is a leader election, over in a few
 * seconds, so ingest sends the publish again while PUBLISH_TIMEOUT lasts. The error or any of
 * its causes counts.
 */
export function isLeaderUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof NoRespondersError) return true;
    if (e instanceof RequestError && e.isNoResponders()) return true;
    // Only this code: other 503s (e.g. 10023 "insufficient resources") do not pass by themselves.
    if (e instanceof JetStreamApiError && e.code === CLUSTER_NOT_AVAILABLE) return true;
  }
  return false;
}
