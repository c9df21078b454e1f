import { BrokerError } from "@wb/authz";

/**
 * Reads the raw body, refusing past `limit` bytes whatever the framing: a declared
 * Content-Length is checked first, then the bytes actually read are counted (chunked bodies,
 * lying lengths). Node's parser already rejects conflicting Content-Length/Transfer-Encoding.
 */
export async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () => new BrokerError("payload_too_large", `the body exceeds this endpoint's limit of ${limit} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
