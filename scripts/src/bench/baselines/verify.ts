import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The minimum every baseline does, as the broker does for GitHub: HMAC-SHA256 of the raw body
 * compared in constant time with `X-Hub-Signature-256: sha256=<hex>`.
 */
export function verifyGithubSignature(secret: string, body: Uint8Array, header: string | null | undefined): boolean {
  if (!header?.startsWith("sha256=")) return false;
  const given = Buffer.from(header.slice(7), "hex");
  const want = createHmac("sha256", secret).update(body).digest();
  return given.length === want.length && timingSafeEqual(given, want);
}
