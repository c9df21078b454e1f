import type { IncomingMessage } from "node:http";
import { BrokerError } from "@wb/authz";

/**
 * Reads the raw body, refusing past `limit` bytes whatever the framing: a declared
 * Content-Length is checked first, then the bytes actually read are counted (chunked bodies,
 * lying lengths). Node's parser already rejects conflicting Content-Length/Transfer-Encoding.
 *
 * Under @hono/node-server it reads the Node request directly: touching `Request.body` makes the
 * adapter build a full fetch Request and a web stream per request, which the ingest profile
 * showed as a fifth of the gateway's CPU.
 */
export async function readBodyLimited(req: Request, limit: number, incoming?: IncomingMessage): Promise<Uint8Array> {
  const tooLarge = () => new BrokerError("payload_too_large", `the body exceeds this endpoint's limit of ${limit} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    if (incoming && Number(declared) <= DRAIN_MAX_BYTES) throw await drain(incoming, tooLarge());
    throw tooLarge();
  }
  if (incoming) return readIncoming(incoming, limit, tooLarge);
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

function readIncoming(incoming: IncomingMessage, limit: number, tooLarge: () => BrokerError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      incoming.off("data", onData).off("end", onEnd).off("error", done).off("aborted", onAborted);
      if (err) {
        // Read on and discard (bounded) so that the sender gets to read the 413.
        if (err instanceof BrokerError && err.code === "payload_too_large") void drain(incoming, err).then(reject);
        else {
          incoming.pause();
          reject(err);
        }
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onAborted = () => done(new BrokerError("invalid_request", "the client aborted the request"));
    incoming.on("data", onData).on("end", onEnd).on("error", done).on("aborted", onAborted);
  });
}

/**
 * The most a refused sender may still write after the 413. Many clients (Python's http.client,
 * for one) write the whole body before they read: closing the connection under them makes the
 * kernel answer with a reset, and they see EPIPE instead of the 413. So the rest of the body is
 * read and discarded up to this much (and REQUEST_TIMEOUT still bounds the time); past it, or
 * when the declared length is larger, the connection is closed at once.
 */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

const draining = new WeakSet<Error>();

/** True when the refused request's body is being drained: keep the connection open for the 413. */
export function isDraining(err: Error): boolean {
  return draining.has(err);
}

/**
 * Reads and discards the rest of the body, and resolves only once it has all been read (or the
 * connection is gone): the 413 is then written to a request that has ended. Answering earlier
 * hands the unread rest to @hono/node-server's own drain, which closes the socket after 500 ms,
 * under a sender that is still writing (EPIPE, no status; seen with 30 MiB under load).
 */
function drain(incoming: IncomingMessage, err: BrokerError): Promise<BrokerError> {
  draining.add(err);
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = () => {
      incoming.off("data", onData).off("end", finish).off("close", finish).off("error", finish);
      resolve(err);
    };
    const onData = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > DRAIN_MAX_BYTES) {
        incoming.socket?.destroy();
        finish();
      }
    };
    if (incoming.readableEnded || incoming.destroyed) return finish();
    incoming.on("data", onData).on("end", finish).on("close", finish).on("error", finish);
    incoming.resume();
  });
}

/** Defined with the other limits in authz (the CLI checks endpoint body limits against it too). */
export { bodyCeiling, HEADER_ALLOWANCE } from "@wb/authz";
