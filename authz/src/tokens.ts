import { createHash, randomBytes } from "node:crypto";

/** Prefix that makes leaked tokens greppable by secret scanners. */
export const TOKEN_PREFIX = "whb_";

/** A new API token: prefix + 256 random bits, base64url. */
export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** Tokens are stored as SHA-256 hex: high-entropy secrets need no slow hash. */
export function hashApiToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function looksLikeApiToken(token: string): boolean {
  return token.startsWith(TOKEN_PREFIX) && /^[A-Za-z0-9_-]{40,64}$/.test(token.slice(TOKEN_PREFIX.length));
}

/** What listings show instead of the token. */
export function displayPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 6);
}
