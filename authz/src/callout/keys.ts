/**
 * NATS keys over Node's built-in crypto.
 *
 * The pure-JS ed25519 in @nats-io/nkeys signs in ~25 ms and verifies in ~45-85 ms here, which
 * caps a callout at under 10 connections/s (shared/NATS-FACTS.md). Node's OpenSSL ed25519 does
 * both in well under a millisecond. For xkeys (x25519 + xsalsa20poly1305, NaCl `box`), the
 * expensive part is the x25519 agreement (~1.5 ms in tweetnacl); the server's xkey is fixed for
 * the life of the server process, so the shared key is computed once per peer and cached, and
 * only the cheap secretbox (~0.1 ms for a request-sized payload) runs per message.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from "node:crypto";
import nacl from "tweetnacl";

/** The one-byte role prefixes of NATS nkeys (nkeys `Prefix`). */
export const Prefix = {
  Seed: 18 << 3, // 'S'
  Private: 15 << 3, // 'P'
  Server: 13 << 3, // 'N'
  Account: 0, // 'A'
  User: 20 << 3, // 'U'
  Curve: 23 << 3, // 'X'
} as const;
export type Role = (typeof Prefix)[Exclude<keyof typeof Prefix, "Seed" | "Private">];

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

// --- encoding: base32 (RFC 4648, no padding) + CRC-16/XMODEM, as nkeys does ---------------

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function base32Decode(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const idx = B32.indexOf(ch);
    if (idx < 0) throw new KeyError("not a base32 nkey");
    value = ((value << 5) | idx) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function withCrc(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 2);
  out.set(payload);
  const crc = crc16(payload);
  out[payload.length] = crc & 0xff;
  out[payload.length + 1] = crc >>> 8;
  return out;
}

function checkCrc(raw: Uint8Array): Uint8Array {
  if (raw.length < 3) throw new KeyError("nkey too short");
  const payload = raw.subarray(0, raw.length - 2);
  const crc = raw[raw.length - 2]! | (raw[raw.length - 1]! << 8);
  if (crc16(payload) !== crc) throw new KeyError("nkey checksum mismatch");
  return payload;
}

/** `role` + 32 raw bytes → public nkey text (`A…`, `U…`, `N…`, `X…`). */
export function encodePublicKey(role: Role, raw: Uint8Array): string {
  if (raw.length !== 32) throw new KeyError("a public key has 32 bytes");
  const payload = new Uint8Array(33);
  payload[0] = role;
  payload.set(raw, 1);
  return base32Encode(withCrc(payload));
}

/** Public nkey text → 32 raw bytes, checking the role and the checksum. */
export function decodePublicKey(role: Role, text: string): Uint8Array {
  const payload = checkCrc(base32Decode(text));
  if (payload.length !== 33 || payload[0] !== role) throw new KeyError("unexpected public nkey type");
  return payload.subarray(1);
}

/** `role` + 32 raw seed bytes → seed text (`SA…`, `SX…`). */
export function encodeSeed(role: Role, raw: Uint8Array): string {
  if (raw.length !== 32) throw new KeyError("a seed has 32 bytes");
  const payload = new Uint8Array(34);
  payload[0] = Prefix.Seed | (role >> 5);
  payload[1] = (role & 31) << 3;
  payload.set(raw, 2);
  return base32Encode(withCrc(payload));
}

/** Seed text → 32 raw bytes; throws unless it is a seed of `role`. */
export function decodeSeed(role: Role, text: string): Uint8Array {
  const payload = checkCrc(base32Decode(text.trim()));
  if (payload.length !== 34) throw new KeyError("not an nkey seed");
  const kind = payload[0]! & 0xf8;
  const seedRole = ((payload[0]! & 7) << 5) | ((payload[1]! & 0xf8) >> 3);
  if (kind !== Prefix.Seed || seedRole !== role) throw new KeyError("unexpected nkey seed type");
  return payload.slice(2);
}

// --- ed25519 key pairs ----------------------------------------------------------------------

const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: "der", type: "spki" });
}

/**
 * An ed25519 nkey pair backed by Node's crypto. It has the methods the @nats-io/jwt encoders
 * call on a key (`getPublicKey`, `getPrivateKey`, `getSeed`, `sign`, `verify`, `clear`), so it
 * can be passed wherever they take a `KeyPair`.
 */
export class NodeKeyPair {
  readonly #seed: Uint8Array;
  readonly #role: Role;
  readonly #private: KeyObject;
  readonly #public: KeyObject;
  readonly #publicText: string;

  private constructor(role: Role, seed: Uint8Array) {
    this.#role = role;
    this.#seed = seed;
    this.#private = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" });
    this.#public = createPublicKey(this.#private);
    const spki = this.#public.export({ format: "der", type: "spki" });
    this.#publicText = encodePublicKey(role, spki.subarray(SPKI_ED25519.length));
  }

  static fromSeed(role: Role, seedText: string): NodeKeyPair {
    return new NodeKeyPair(role, decodeSeed(role, seedText));
  }

  static generate(role: Role): NodeKeyPair {
    return new NodeKeyPair(role, randomBytes(32));
  }

  getPublicKey(): string {
    return this.#publicText;
  }

  /** nkeys' `P…` form (seed + public key); only here because the jwt encoders probe for it. */
  getPrivateKey(): Uint8Array {
    const raw = new Uint8Array(64);
    raw.set(this.#seed);
    raw.set(decodePublicKey(this.#role, this.#publicText), 32);
    const payload = new Uint8Array(65);
    payload[0] = Prefix.Private;
    payload.set(raw, 1);
    return new TextEncoder().encode(base32Encode(withCrc(payload)));
  }

  getSeed(): Uint8Array {
    return new TextEncoder().encode(encodeSeed(this.#role, this.#seed));
  }

  sign(input: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, input, this.#private));
  }

  verify(input: Uint8Array, sig: Uint8Array): boolean {
    return verify(null, input, this.#public, sig);
  }

  clear(): void {
    this.#seed.fill(0);
  }

  seal(): Uint8Array {
    throw new KeyError("an ed25519 key cannot seal");
  }

  open(): Uint8Array | null {
    throw new KeyError("an ed25519 key cannot open");
  }
}

const verifiers = new Map<string, KeyObject>();

/** Verifies an ed25519 signature by the public nkey `signer` (KeyObjects cached per signer). */
export function verifyNkeySignature(role: Role, signer: string, input: Uint8Array, sig: Uint8Array): boolean {
  let key = verifiers.get(signer);
  if (!key) {
    key = ed25519PublicKey(decodePublicKey(role, signer));
    if (verifiers.size > 1000) verifiers.clear();
    verifiers.set(signer, key);
  }
  return verify(null, input, key, sig);
}

// --- curve (xkey) ---------------------------------------------------------------------------

const XKEY_V1 = new TextEncoder().encode("xkv1");
const NONCE_LEN = 24;

/**
 * An xkey (x25519) that seals and opens messages in nkeys' format: `xkv1` + 24-byte nonce +
 * NaCl box. Shared keys are cached per peer (a few servers at most).
 */
export class CurveKey {
  readonly #secret: Uint8Array;
  readonly #publicText: string;
  readonly #shared = new Map<string, Uint8Array>();

  private constructor(secret: Uint8Array) {
    this.#secret = secret;
    this.#publicText = encodePublicKey(Prefix.Curve, nacl.scalarMult.base(secret));
  }

  static fromSeed(seedText: string): CurveKey {
    return new CurveKey(decodeSeed(Prefix.Curve, seedText));
  }

  static generate(): CurveKey {
    return new CurveKey(new Uint8Array(randomBytes(32)));
  }

  getPublicKey(): string {
    return this.#publicText;
  }

  getSeed(): string {
    return encodeSeed(Prefix.Curve, this.#secret);
  }

  #sharedKey(peer: string): Uint8Array {
    let key = this.#shared.get(peer);
    if (!key) {
      key = nacl.box.before(decodePublicKey(Prefix.Curve, peer), this.#secret);
      if (this.#shared.size > 100) this.#shared.clear();
      this.#shared.set(peer, key);
    }
    return key;
  }

  seal(message: Uint8Array, recipient: string): Uint8Array {
    const nonce = new Uint8Array(randomBytes(NONCE_LEN));
    const boxed = nacl.box.after(message, nonce, this.#sharedKey(recipient));
    const out = new Uint8Array(XKEY_V1.length + NONCE_LEN + boxed.length);
    out.set(XKEY_V1);
    out.set(nonce, XKEY_V1.length);
    out.set(boxed, XKEY_V1.length + NONCE_LEN);
    return out;
  }

  /** The plaintext, or null when the message is not a valid box from `sender`. */
  open(message: Uint8Array, sender: string): Uint8Array | null {
    if (message.length <= XKEY_V1.length + NONCE_LEN) return null;
    for (let i = 0; i < XKEY_V1.length; i++) if (message[i] !== XKEY_V1[i]) return null;
    const nonce = message.subarray(XKEY_V1.length, XKEY_V1.length + NONCE_LEN);
    return nacl.box.open.after(message.subarray(XKEY_V1.length + NONCE_LEN), nonce, this.#sharedKey(sender));
  }
}

/** The secrets the callout needs, as the set-up command generates them. */
export interface CalloutKeys {
  /** Issuer account seed (`SA…`); its public key (`A…`) goes into the server config. */
  issuerSeed: string;
  issuerPublicKey: string;
  /** Curve seed (`SX…`); its public key (`X…`) goes into the server config. */
  xkeySeed: string;
  xkeyPublicKey: string;
}

export function generateCalloutKeys(): CalloutKeys {
  const issuer = NodeKeyPair.generate(Prefix.Account);
  const xkey = CurveKey.generate();
  return {
    issuerSeed: new TextDecoder().decode(issuer.getSeed()),
    issuerPublicKey: issuer.getPublicKey(),
    xkeySeed: xkey.getSeed(),
    xkeyPublicKey: xkey.getPublicKey(),
  };
}

/** Public halves of the configured seeds (throws on malformed seeds). */
export function publicKeysOf(keys: { issuerSeed: string; xkeySeed: string }): { issuer: string; xkey: string } {
  return {
    issuer: NodeKeyPair.fromSeed(Prefix.Account, keys.issuerSeed).getPublicKey(),
    xkey: CurveKey.fromSeed(keys.xkeySeed).getPublicKey(),
  };
}
