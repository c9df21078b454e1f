import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

/**
 * Opaque ack handles: `<stream sequence>.<MAC>`, the MAC binding the sequence to one durable
 * consumer (and so to its owner). A handle proves the message was delivered to that consumer,
 * so settling by handle skips the per-id ownership lookup that `message_ids` needs. Stateless:
 * every gateway sharing SECRET_KEY accepts every other's handles, across restarts.
 */
export class AckTokens {
  readonly #key: Buffer;

  constructor(secretKey: Buffer) {
    this.#key = Buffer.from(hkdfSync("sha256", secretKey, Buffer.alloc(0), "webhook-broker ack token v1", 32));
  }

  issue(durable: string, seq: number): string {
    return `${seq}.${this.#mac(durable, seq).toString("base64url")}`;
  }

  /** The sequence a handle stands for, or undefined when it was not issued for this durable. */
  open(durable: string, token: string): number | undefined {
    const m = /^([1-9]\d{0,15})\.([A-Za-z0-9_-]{22})$/.exec(token);
    if (!m) return undefined;
    const seq = Number(m[1]);
    const given = Buffer.from(m[2]!, "base64url");
    return given.length === 16 && timingSafeEqual(given, this.#mac(durable, seq)) ? seq : undefined;
  }

  #mac(durable: string, seq: number): Buffer {
    return createHmac("sha256", this.#key).update(`${durable}:${seq}`).digest().subarray(0, 16);
  }
}
