/**
 * Limits and names: one definition each, for the API, the CLI and the services alike.
 */

/** The largest per-endpoint body limit anyone may ask for, before the server's max_payload. */
export const MAX_BODY_LIMIT = 64 * 1024 * 1024;

/**
 * Room kept in a NATS message for headers: the sender's (node:http caps them at 16 KiB by
 * default) plus the broker's own (`Wb-*`, under 1 KiB), with a wide margin.
 */
export const HEADER_ALLOWANCE = 64 * 1024;

/**
 * The largest body that fits in one NATS message under the server's `max_payload`, which
 * bounds headers and body together. A body limit above this could never be stored.
 */
export function bodyCeiling(maxPayload: number): number {
  return Math.max(0, maxPayload - HEADER_ALLOWANCE);
}

/**
 * Why `maxBodyBytes` is not a valid per-endpoint body limit on a server with `maxPayload`, or
 * undefined when it is. Without a known max_payload only the fixed ceiling applies.
 */
export function bodyLimitProblem(maxBodyBytes: number, maxPayload: number | undefined): string | undefined {
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > MAX_BODY_LIMIT) {
    return `max_body_bytes must be a whole number of bytes from 1 to ${MAX_BODY_LIMIT} (64 MiB), got ${maxBodyBytes}`;
  }
  if (maxPayload !== undefined && maxBodyBytes > bodyCeiling(maxPayload)) {
    return `max_body_bytes: ${maxBodyBytes} does not fit in a NATS message; this broker's max_payload of ${maxPayload} bytes allows at most ${bodyCeiling(maxPayload)}`;
  }
  return undefined;
}

/** Consumer names users may choose: short, subject-token safe. */
export const CONSUMER_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const CONSUMER_NAME_RULE = "consumer names are 1-32 chars of a-z, 0-9, '_', '-', starting with a letter or digit";

/** User and organization names: they are also the second segment of their namespaces (`u/<name>`, `o/<name>`). */
export const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const USER_NAME_RULE = "user name must be 1-64 chars of a-z, 0-9, '.', '_', '-'";
export const ORG_NAME_RULE = "organization name must be 1-64 chars of a-z, 0-9, '.', '_', '-'";

/** Canonical UUID (what ids in URLs must look like before they reach PostgreSQL). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Earliest consumer start time accepted: nothing was stored before the Unix epoch. */
export const EARLIEST_START = new Date("1970-01-01T00:00:00Z");

/** Why `time` is not a usable consumer start time, or undefined. */
export function startTimeProblem(time: Date): string | undefined {
  if (Number.isNaN(time.getTime())) return "start.time is not a valid time";
  if (time < EARLIEST_START) return "start.time must be 1970-01-01 or later";
  if (time.getUTCFullYear() > 9999) return "start.time must be before the year 10000";
  return undefined;
}

/** Largest JSON body the API reads (413 beyond). */
export const MAX_API_BODY_BYTES = 1024 * 1024;

/** Length of an endpoint description. */
export const MAX_DESCRIPTION = 1024;
