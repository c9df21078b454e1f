import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { z } from "zod";

/**
 * Encrypts endpoint signing secrets at rest with AES-256-GCM under the broker's master key
 * (`SECRET_KEY`). Format: `v1.<iv>.<tag>.<ciphertext>`, each base64url.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("SECRET_KEY must decode to 32 bytes");
    this.#key = key;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv, cipher.getAuthTag(), ct].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
  }

  open(sealed: string): string {
    const [v, iv, tag, ct] = sealed.split(".");
    if (v !== "v1" || !iv || !tag || ct === undefined) throw new Error("sealed secret has an unknown format");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
  }

  // Keep the key out of logs and inspection.
  toJSON(): string {
    return "[SecretBox]";
  }
}

/**
 * Config schema of `SECRET_KEY` (32 bytes, base64), shared by every process that opens the box;
 * `missing` is the message when it is not set (each process says where its value comes from).
 */
export const secretKeySchema = (missing: string) =>
  z.string({ error: missing }).transform((v, ctx) => {
    const key = Buffer.from(v, "base64");
    if (key.length !== 32) ctx.addIssue({ code: "custom", message: "SECRET_KEY must be 32 bytes, base64-encoded" });
    return key;
  });
