import { createHmac } from "node:crypto";
import { safeEqualMac } from "./compare.js";
import { checkNoOptions, noOptionsSchema, requireHeader } from "./shared.js";
import { VerificationError, type Provider } from "./types.js";

export type HmacAlgorithm = "sha256" | "sha512";
export type DigestEncoding = "hex" | "base64";

const digestLength: Record<HmacAlgorithm, number> = { sha256: 32, sha512: 64 };

/** HMAC of the concatenated parts; the body goes in as bytes, never through a string. */
export function hmac(algorithm: HmacAlgorithm, key: string | Uint8Array, parts: readonly (string | Uint8Array)[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Decodes a digest as the sender wrote it, or null when it is not a well-formed digest of the
 * algorithm's length (so a malformed header is told apart from a wrong signature).
 */
export function decodeDigest(text: string, encoding: DigestEncoding, algorithm: HmacAlgorithm): Buffer | null {
  const form = encoding === "hex" ? /^[0-9a-fA-F]+$/ : /^[A-Za-z0-9+/]+={0,2}$/;
  if (!form.test(text)) return null;
  const bytes = Buffer.from(text, encoding);
  return bytes.length === digestLength[algorithm] ? bytes : null;
}

/**
 * True when one of the candidate signatures is the HMAC of `parts` under one of the keys.
 * Every comparison is constant-time; trying all keys is what makes secret rotation work.
 * An empty key never verifies: anyone could compute that HMAC.
 */
export function signedByAnyKey(
  keys: readonly (string | Uint8Array)[],
  candidates: readonly Uint8Array[],
  algorithm: HmacAlgorithm,
  parts: readonly (string | Uint8Array)[],
): boolean {
  return keys.some((key) => {
    if (key.length === 0) return false;
    const expected = hmac(algorithm, key, parts);
    return candidates.some((given) => safeEqualMac(expected, given));
  });
}

export interface DigestHeader {
  /** Header name, e.g. `X-Hub-Signature-256` (lookups are case-insensitive). */
  header: string;
  algorithm: HmacAlgorithm;
  encoding: DigestEncoding;
  /** Text before the digest, e.g. `sha256=`; empty for none. */
  prefix: string;
}

/**
 * The scheme most providers share: one header holding `<prefix><encoded HMAC of the signed
 * content>`. Throws `signature_missing` without the header, `signature_invalid` when it is
 * malformed or no secret produced it.
 */
export function verifyDigestHeader(
  headers: Headers,
  secrets: readonly string[],
  spec: DigestHeader,
  parts: readonly (string | Uint8Array)[],
): void {
  const value = requireHeader(headers, spec.header);
  const form = `${spec.prefix}<${spec.encoding} ${spec.algorithm} HMAC>`;
  if (!value.startsWith(spec.prefix)) {
    throw new VerificationError("signature_invalid", `${spec.header} is not of the form ${form}`);
  }
  const given = decodeDigest(value.slice(spec.prefix.length), spec.encoding, spec.algorithm);
  if (!given) throw new VerificationError("signature_invalid", `${spec.header} is not of the form ${form}`);
  if (!signedByAnyKey(secrets, [given], spec.algorithm, parts)) {
    throw new VerificationError("signature_invalid", `${spec.header} does not match the body`);
  }
}

/**
 * A provider whose whole scheme is one signature header over the raw body, with the event and
 * delivery id in headers of their own (the first present of `deliveryHeaders` wins).
 */
export function bodyDigestProvider(spec: { name: string; signature: DigestHeader; eventHeader: string; deliveryHeaders: readonly string[] }): Provider {
  return {
    name: spec.name,
    optionsSchema: noOptionsSchema,
    verify({ body, headers, secrets, options }) {
      checkNoOptions(options);
      verifyDigestHeader(headers, secrets, spec.signature, [body]);
      return {
        event: headers.get(spec.eventHeader) ?? "",
        deliveryId: spec.deliveryHeaders.map((name) => headers.get(name)).find((value) => value !== null) ?? null,
        verified: true,
      };
    },
  };
}
