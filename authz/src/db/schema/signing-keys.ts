import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, instant } from "./columns.js";

/** The public half of a signing key as published in the JWKS (an OKP Ed25519 JWK). */
export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  alg: "EdDSA";
  use: "sig";
}

/**
 * Keys that sign the broker's access JWTs. The private key is sealed with SECRET_KEY (the same
 * box as endpoint secrets); the public key is stored in the clear so that verifiers without
 * SECRET_KEY (the auth callout) can check tokens. The newest unretired key signs; a retired key
 * keeps verifying until `verify_until` (its last token's expiry), then it leaves the JWKS.
 */
export const signingKeys = pgTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    publicJwk: jsonb("public_jwk").$type<PublicJwk>().notNull(),
    privateKeyEnc: text("private_key_enc").notNull(),
    createdAt: createdAt(),
    /** When it stopped signing (a newer key took over); null while it is the signing key. */
    retiredAt: instant("retired_at"),
    /** Set at retirement: tokens it signed are accepted until then. */
    verifyUntil: instant("verify_until"),
  },
  (t) => [index("signing_keys_created_idx").on(t.createdAt)],
);

export type SigningKey = typeof signingKeys.$inferSelect;
