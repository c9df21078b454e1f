import { z } from "zod";
import { VerificationError } from "./types.js";

/** An HTTP header name (RFC 9110 token). */
export const headerNameSchema = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "not a valid header name");

/** How far a signed timestamp may be from now, either way. */
export const toleranceSchema = z.number().int().min(1).max(3600).default(300);

/** The header's value, or `signature_missing`. */
export function requireHeader(headers: Headers, name: string): string {
  const value = headers.get(name);
  if (value === null || value === "") throw new VerificationError("signature_missing", `${name} header is missing`);
  return value;
}

/**
 * Checks a signed Unix timestamp (seconds) against `now` (milliseconds): it must be within
 * `toleranceSeconds` in the past or the future. Returns the timestamp. Compared in whole
 * seconds, as stripe-node and standardwebhooks do: a delivery exactly at the tolerance passes
 * however late in that second it arrives.
 */
export function checkTimestamp(value: string, what: string, now: number, toleranceSeconds: number): number {
  if (!/^\d{1,15}$/.test(value)) throw new VerificationError("timestamp_invalid", `${what} is not a Unix timestamp in seconds`);
  const seconds = Number(value);
  if (Math.abs(Math.floor(now / 1000) - seconds) > toleranceSeconds) {
    throw new VerificationError("timestamp_out_of_range", `${what} is more than ${toleranceSeconds} s from now`);
  }
  return seconds;
}

/** Parses the body as JSON; call only once the signature holds. Undefined when it is not JSON. */
export function parseVerifiedJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    return undefined;
  }
}

/** A string field of a parsed JSON object, or undefined. */
export function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === "string" ? field : undefined;
}

/** A provider that takes no options still rejects unknown ones, so a typo is caught at creation. */
export const noOptionsSchema = z.object({}).strict();

/**
 * At verification, for a provider without options: throws (a ZodError, a configuration fault)
 * when the endpoint has any. The usual empty object is not handed to zod on every delivery.
 */
export function checkNoOptions(options: Record<string, unknown>): void {
  for (const _ in options) {
    noOptionsSchema.parse(options);
    return;
  }
}
