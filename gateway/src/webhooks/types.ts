import type { z } from "zod";

/**
 * A provider verifier is a pure function of the raw request and the endpoint's secrets.
 * It never parses the body before the signature is checked, and compares in constant time.
 */

export type VerificationCode =
  | "signature_missing"
  | "signature_invalid"
  | "timestamp_invalid"
  | "timestamp_out_of_range";

/** The one error verifiers throw; the ingest route maps it to 401. */
export class VerificationError extends Error {
  constructor(
    readonly code: VerificationCode,
    message: string,
  ) {
    super(message);
    this.name = "VerificationError";
  }
}

export interface VerifyInput {
  /** The body exactly as received. */
  body: Uint8Array;
  /** Request headers; lookups are case-insensitive (a WHATWG Headers object). */
  headers: Headers;
  method: string;
  /** Path and query as received, e.g. `/webhook/jira/x?a=1` (Atlassian's qsh needs them). */
  pathAndQuery: string;
  /** Secrets that currently verify: the current one first, then an unexpired previous one. */
  secrets: readonly string[];
  /** Provider-specific options stored on the endpoint (validated by the provider's schema). */
  options: Record<string, unknown>;
  /** Unix time in milliseconds. */
  now: number;
}

export interface Verified {
  /** Event type, e.g. `push`; empty string when the sender does not say. */
  event: string;
  /** The sender's delivery id, or null when it has none (the route then derives one). */
  deliveryId: string | null;
  /** False only for the `none` provider. */
  verified: boolean;
  /**
   * Set when the sender expects an immediate answer instead of storage, e.g. Slack's
   * url_verification challenge. The route returns it and stores nothing.
   */
  reply?: { status: number; contentType: string; body: string };
}

export interface Provider {
  name: string;
  /**
   * Validates the endpoint's `options` for this provider; the admin API runs it when an endpoint
   * is created, and `verify` parses with it again (a ZodError there is a configuration fault, not
   * a failed verification).
   */
  optionsSchema: z.ZodType;
  /** Throws `VerificationError`; never parses the body before the signature holds. */
  verify(input: VerifyInput): Verified;
}
