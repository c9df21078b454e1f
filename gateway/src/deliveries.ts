import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";
import {
  endpointOfSubject,
  filterMatches,
  isMessageNotFound,
  isStreamNotFound,
  parseDeliverySubject,
  parseRedriveSubject,
  payloadMatches,
  REDRIVE_OF_HEADER,
  subjectFilterOf,
  type ConsumerPlan,
} from "@wb/authz";
import { isJsonWithinDepth } from "./json-depth.js";
import { headersOf, type StoredHeaders } from "./nats/stored-headers.js";
import { passes, type QueryFilter } from "./query-filter.js";

/** NATS headers the broker writes on every stored delivery. */
export const H = {
  event: "Wb-Event",
  deliveryId: "Wb-Delivery-Id",
  contentType: "Wb-Content-Type",
  receivedAt: "Wb-Received-At",
  endpointId: "Wb-Endpoint-Id",
  source: "Wb-Source",
  verified: "Wb-Verified",
  path: "Wb-Path",
  /** On a redrive copy: the stream sequence of the message first dead-lettered (authz durables/redrive.ts). */
  redriveOf: REDRIVE_OF_HEADER,
} as const;

const OURS = new Set(Object.values(H).map((h) => h.toLowerCase()));

/**
 * JSON payloads nested deeper than this are returned base64 (per message): jq 1.6 refuses
 * documents deeper than 256 levels and Python's json about 1,000, and the page adds three.
 */
export const MAX_JSON_DEPTH = 128;

/** Whether a NATS header is one the sender sent (not the broker's `Wb-*`, not NATS's own). */
export function isSenderHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return !OURS.has(lower) && !lower.startsWith("nats-");
}
/** Bodies above this are not inspected for JSON; they are returned base64 (bounded CPU). */
const MAX_JSON_INSPECT = 8 * 1024 * 1024;

export interface StoredMessage {
  seq: number;
  subject: string;
  headers?: StoredHeaders;
  data: Uint8Array;
  redeliveryCount?: number;
  /** Opaque handle for settling this delivery (durable consumers only; see ack-token.ts). */
  ackToken?: string;
}

/** A delivered message as the renderer takes it: from a JetStream `JsMsg` (headers parsed by headersOf) or a take-waiting Delivery. */
export function fromJsMsg(m: Pick<StoredMessage, "seq" | "subject" | "headers" | "data"> & { info: Pick<JsMsg["info"], "deliveryCount"> } | JsMsg): StoredMessage {
  return { seq: m.seq, subject: m.subject, headers: "msg" in m ? headersOf(m as JsMsg) : m.headers, data: m.data, redeliveryCount: m.info.deliveryCount };
}

/**
 * One message as the API shows it, serialized directly: a JSON body is spliced in verbatim
 * (after checking that it is JSON) instead of parsed and re-stringified, which is cheaper and
 * immune to deep-nesting stack limits.
 */
export function renderMessage(m: StoredMessage, opts: { base64?: boolean } = {}): string {
  const r = renderParts(m, opts);
  return r.json === undefined ? r.head : `${r.head}${Buffer.from(r.json.buffer, r.json.byteOffset, r.json.byteLength).toString("utf8")}}`;
}

/**
 * A page of messages as the pull returns it, as bytes: `{"messages":[...]<rest>`. The stored
 * JSON bodies are copied into the page as they are, never decoded to a string and encoded back.
 */
export function renderPage(messages: readonly StoredMessage[], opts: { base64?: boolean }, rest: string): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  let text = '{"messages":[';
  for (let i = 0; i < messages.length; i++) {
    const r = renderParts(messages[i]!, opts);
    text += i === 0 ? r.head : `,${r.head}`;
    if (r.json !== undefined) {
      parts.push(Buffer.from(text), r.json);
      text = "}";
    }
  }
  parts.push(Buffer.from(`${text}]${rest}`));
  // Buffer.concat allocates a fresh ArrayBuffer (never a SharedArrayBuffer).
  return Buffer.concat(parts) as Uint8Array<ArrayBuffer>;
}

/**
 * The message's JSON up to its payload. With `json` (a body inlined as it is) the message is
 * `head` + `json` + `}`; without, `head` is the whole message (the payload base64).
 */
function renderParts(m: StoredMessage, opts: { base64?: boolean }): { head: string; json?: Uint8Array } {
  const h = m.headers;
  const get = (k: string) => h?.get(k) ?? "";
  const q = JSON.stringify;
  // Built as text, field by field, in the documented order (cheaper than an object + JSON.stringify).
  let head =
    `{"id":${m.seq},"endpoint_id":${q(get(H.endpointId))},"webhook_path":${q("/webhook/" + get(H.path).split("/").map(encodeURIComponent).join("/"))}` +
    `,"source":${q(get(H.source))},"event":${q(get(H.event))},"delivery_id":${q(get(H.deliveryId))},"verified":${get(H.verified) === "true"}` +
    `,"received_at":${q(get(H.receivedAt))},"content_type":${q(get(H.contentType))}`;
  const redriveOf = get(H.redriveOf);
  if (redriveOf) head += `,"redrive_of":${q(Number(redriveOf))}`;
  if (m.redeliveryCount !== undefined) head += `,"delivery_count":${q(m.redeliveryCount)}`;
  if (m.ackToken !== undefined) head += `,"ack_token":${q(m.ackToken)}`;
  head += ',"headers":{';
  let first = true;
  if (h) {
    for (const k of h.keys()) {
      if (!isSenderHeader(k)) continue;
      head += `${first ? "" : ","}${q(k)}:${q(h.values(k).join(", "))}`;
      first = false;
    }
  }
  head += "}";
  return !opts.base64 && isInlineJson(m.data)
    ? { head: `${head},"payload_encoding":"json","payload":`, json: m.data }
    : { head: `${head},"payload_encoding":"base64","payload":${q(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString("base64"))}}` };
}

/** Whether a body is returned inline as JSON: a JSON text (in practice an object or array) within MAX_JSON_DEPTH. */
function isInlineJson(data: Uint8Array): boolean {
  if (data.byteLength === 0 || data.byteLength > MAX_JSON_INSPECT) return false;
  // Only objects and arrays (after JSON's leading whitespace): a bare number or string body is
  // more useful as raw bytes, as the README says.
  let i = 0;
  while (i < data.byteLength && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)) i++;
  if (data[i] !== 0x7b && data[i] !== 0x5b) return false;
  return isJsonWithinDepth(data, MAX_JSON_DEPTH);
}

/** What the pull path does with a fetched message. */
export type Verdict = "show" | "hide" | "filter";

/**
 * The gateway's side of a consumer's plan: a message is hidden when its endpoint is no longer
 * readable, filtered when none of the consumer's subscriptions (path, event, payload) wants
 * it, shown otherwise. Payload filters need the body parsed, so it is parsed at most once and
 * only when a candidate subscription has one.
 */
export function deliveryFilter(plan: ConsumerPlan): (m: { subject: string; data: Uint8Array }) => Verdict {
  const subs = plan.subscriptions.map((s) => ({ filter: subjectFilterOf(s), payload: s.filters.payload }));
  return (m) => {
    // A redrive copy: the original passed this consumer's subscriptions when it was delivered.
    const copy = parseRedriveSubject(m.subject);
    if (copy) return plan.readable.has(copy.endpointId) ? "show" : "hide";
    const parsed = parseDeliverySubject(m.subject);
    if (!plan.readable.has(parsed.endpointId)) return "hide";
    if (subs.length === 0) return "show";
    const candidates = subs.filter((s) => filterMatches(s.filter, parsed.event, parsed.segments));
    if (candidates.some((s) => s.payload === undefined)) return "show";
    if (candidates.length === 0) return "filter";
    const doc = parseJsonBody(m.data);
    if (doc === undefined) return "filter";
    return candidates.some((s) => payloadMatches(s.payload!, doc.value)) ? "show" : "filter";
  };
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function parseJsonBody(data: Uint8Array): { value: unknown } | undefined {
  if (data.byteLength === 0 || data.byteLength > MAX_JSON_INSPECT) return undefined;
  try {
    return { value: JSON.parse(decoder.decode(data)) };
  } catch {
    return undefined;
  }
}

/** The endpoint id of a stored message, or undefined when there is no such message. */
export async function lookup(jsm: JetStreamManager, stream: string, seq: number): Promise<string | undefined> {
  try {
    const m = await jsm.direct.getMessage(stream, { seq });
    if (!m) return undefined;
    return endpointOfSubject(m.subject);
  } catch (err) {
    if (isMessageNotFound(err) || isStreamNotFound(err)) return undefined;
    throw err;
  }
}

/** Most messages one batch lookup reads (the ack routes take at most 1,000 ids). */
const MAX_LOOKUP_BATCH = 2_000;

/**
 * The endpoint ids of stored messages by sequence (a sequence with no message is absent). Ids a
 * reader acks are mostly consecutive (he acks the page he just pulled), so when they are dense
 * (the span from the lowest to the highest is at most twice their number) they are read with one
 * batch direct get over the span instead of one request per id; anything else, or a batch that
 * fails, falls back to one lookup per id.
 */
export async function lookupMany(jsm: JetStreamManager, stream: string, seqs: readonly number[]): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  if (seqs.length === 0) return found;
  const wanted = new Set(seqs);
  const min = Math.min(...seqs);
  const span = Math.max(...seqs) - min + 1;
  if (seqs.length > 1 && span <= Math.min(2 * wanted.size, MAX_LOOKUP_BATCH)) {
    try {
      for await (const m of await jsm.direct.getBatch(stream, { seq: min, batch: span })) {
        if (wanted.has(m.seq)) found.set(m.seq, endpointOfSubject(m.subject));
        if (m.seq >= min + span - 1) break;
      }
      return found;
    } catch {
      // Not answered as a batch (an older server, nothing stored from min on): one by one.
      found.clear();
    }
  }
  const each = await Promise.all(seqs.map((seq) => lookup(jsm, stream, seq)));
  seqs.forEach((seq, i) => {
    if (each[i] !== undefined) found.set(seq, each[i]!);
  });
  return found;
}

/** Whether a stored delivery passes a read's query filters (`source`, `event`, `endpoint_id`, `path`). */
export function passesQuery(f: QueryFilter, m: { subject: string; headers?: StoredHeaders }): boolean {
  const p = parseDeliverySubject(m.subject);
  return passes(f, { source: m.headers?.get(H.source) ?? "", event: p.event, endpointId: p.endpointId, segments: p.segments });
}
