/**
 * What a JetStream failure means, told by nats.js's error classes and the server's JetStream
 * API error codes (nats-server `server/errors.json`), never by the wording of a message.
 *
 * Two kinds of failure reach us:
 * - `JetStreamApiError`: an answer of the JetStream API (`$JS.API.…`), with the server's
 *   `err_code` as `.code` and an HTTP-like `.status`. nats.js exports the codes it knows as
 *   `JetStreamApiCodes`; the others used here are named below with their errors.json names.
 * - `JetStreamError` with a numeric `.code` (nats.js's `JetStreamStatusError`, not exported): a
 *   status message answering a pull request (`$JS.API.CONSUMER.MSG.NEXT.…`).
 */
import { JetStreamApiCodes, JetStreamApiError, JetStreamError } from "@nats-io/jetstream";

/** JetStream API error codes we act on that nats.js does not name (nats-server errors.json). */
export const ApiCodes = {
  ...JetStreamApiCodes,
  /** JSConsumerAlreadyExists: "consumer already exists" (create of a name that exists with another config). */
  ConsumerAlreadyExists: 10148,
  /** JSConsumerNameExistErr: "consumer name already in use". */
  ConsumerNameExists: 10013,
  /** JSConsumerInvalidPolicyErrF: a deliver policy and its start options do not fit together. */
  ConsumerInvalidPolicy: 10094,
} as const;

/** The JetStream API's error code, if `err` is an API answer. */
export function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** The durable (consumer) does not exist. */
export function isConsumerNotFound(err: unknown): boolean {
  return apiCode(err) === ApiCodes.ConsumerNotFound;
}

/** The stream does not exist. */
export function isStreamNotFound(err: unknown): boolean {
  return apiCode(err) === ApiCodes.StreamNotFound;
}

/** The consumer or its stream does not exist (what "not found" meant to every caller so far). */
export function isNotFound(err: unknown): boolean {
  return isConsumerNotFound(err) || isStreamNotFound(err);
}

/** No message at that sequence (a get that does not answer null for it). */
export function isMessageNotFound(err: unknown): boolean {
  return apiCode(err) === ApiCodes.NoMessageFound;
}

/** A create refused because a consumer of that name exists (someone recreated it in between). */
export function isConsumerExists(err: unknown): boolean {
  const code = apiCode(err);
  return code === ApiCodes.ConsumerAlreadyExists || code === ApiCodes.ConsumerNameExists;
}

/** A create refused because the start settings do not fit the deliver policy. */
export function isInvalidStart(err: unknown): boolean {
  return apiCode(err) === ApiCodes.ConsumerInvalidPolicy;
}

/**
 * A pull (`next`/`fetch`) failed because the durable is gone: the pull request found no
 * responder (503: no such consumer any more), the server ended a waiting pull with
 * `409 Consumer Deleted`, or an API call answered consumer-not-found. A 409 is also how the
 * server reports exceeded pull limits, so only its "consumer deleted" status counts; nats.js
 * itself tells those apart by the status description (`JetStreamStatus.isConsumerDeleted`).
 */
export function isConsumerGone(err: unknown): boolean {
  if (isNotFound(err)) return true;
  if (!(err instanceof JetStreamError) || err instanceof JetStreamApiError) return false;
  const code = (err as { code?: unknown }).code;
  return code === 503 || (code === 409 && err.message === CONSUMER_DELETED);
}

/** nats.js lowercases the status description into the error's message. */
const CONSUMER_DELETED = "consumer deleted";
