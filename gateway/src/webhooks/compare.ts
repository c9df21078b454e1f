import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Constant-time string comparison. Both sides are hashed first so that neither the length
 * nor the content of the expected value leaks through timing.
 */
export function safeEqualText(expected: string, given: string): boolean {
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b) && expected.length === given.length;
}

/** Constant-time byte comparison; like `safeEqualText`, it hashes first so lengths may differ. */
export function safeEqualBytes(expected: Uint8Array, given: Uint8Array): boolean {
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b) && expected.length === given.length;
}

/**
 * Constant-time comparison of a MAC with a candidate. A MAC's length is public (the algorithm
 * fixes it), so a candidate of another length is refused at once and equal lengths are compared
 * directly, without `safeEqualBytes`'s two extra hashes (measurable per delivery at full ingest).
 */
export function safeEqualMac(expected: Uint8Array, given: Uint8Array): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}
