/**
 * Webhook path <-> NATS subject encoding, shared by the gateway, the CLI and the auth callout.
 *
 * Subject layout: `wh.<endpointId>.<event>.<seg1>.<seg2>...` where segments are the
 * percent-decoded path below `/webhook/`. The endpoint id comes first so that an ACL grant is
 * one exact wildcard (`wh.<endpointId>.>`) that can never cover a nested endpoint owned by
 * someone else; the event comes next so JetStream itself can filter by event type.
 *
 * Token encoding (reversible): `[A-Za-z0-9_-]` stay; every other UTF-8 byte becomes `~XX`
 * (upper-case hex); an empty token is `~`. The result can never contain `*`, `>`, `.`,
 * whitespace or a leading `$`, and is never empty.
 */

export const SUBJECT_ROOT = "wh";
/** The server's control line is 4096 bytes; leave room for the verb, reply subject and sizes. */
export const MAX_SUBJECT_BYTES = 1024;

const SAFE = /^[A-Za-z0-9_-]$/;

export class SubjectError extends Error {
  constructor(
    readonly code: "path_invalid" | "path_too_long",
    message: string,
  ) {
    super(message);
    this.name = "SubjectError";
  }
}

/** Encodes one already-decoded string as a single subject token. */
export function encodeToken(value: string): string {
  if (value === "") return "~";
  let out = "";
  for (const ch of value) {
    if (SAFE.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, "utf8")) {
      out += "~" + byte.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/** Inverse of {@link encodeToken}; throws on anything encodeToken cannot produce. */
export function decodeToken(token: string): string {
  if (token === "~") return "";
  if (!/^(?:[A-Za-z0-9_-]|~[0-9A-F]{2})+$/.test(token)) {
    throw new SubjectError("path_invalid", `not an encoded subject token: ${JSON.stringify(token)}`);
  }
  // Nothing escaped (the common case, read for every delivered message): the token is the text.
  if (!token.includes("~")) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; ) {
    if (token[i] === "~") {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(token.charCodeAt(i));
      i += 1;
    }
  }
  const decoded = Buffer.from(bytes);
  const text = decoded.toString("utf8");
  // Reject byte sequences that are not valid UTF-8: they would not round-trip.
  if (!Buffer.from(text, "utf8").equals(decoded)) {
    throw new SubjectError("path_invalid", "subject token is not valid UTF-8");
  }
  return text;
}

/**
 * Splits a webhook path (the part after `/webhook/`, still percent-encoded as it came on the
 * wire) into decoded segments. Rejects what no sender legitimately sends: dot segments,
 * NUL/control characters, malformed escapes, empty paths.
 */
export function parseWebhookPath(rawPath: string): string[] {
  const trimmed = rawPath.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === "") throw new SubjectError("path_invalid", "the webhook path is empty");
  const segments = trimmed.split("/").map((raw) => {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new SubjectError("path_invalid", "the webhook path has a malformed percent-escape");
    }
    // NFKC folds fullwidth dots and the like, so `．．` is caught as `..` too.
    const folded = seg.normalize("NFKC");
    if (seg === "" || folded === "." || folded === "..") {
      throw new SubjectError("path_invalid", "the webhook path has an empty or dot segment");
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
    if (/[\u0000-\u001f\u007f]/.test(seg) || seg.includes("/")) {
      throw new SubjectError("path_invalid", "the webhook path has a control character or an encoded slash");
    }
    return seg;
  });
  return segments;
}

/** Canonical text form of a path: decoded segments joined by `/`, no leading slash. */
export function joinPath(segments: readonly string[]): string {
  return segments.join("/");
}

/** Subject for one delivery. Throws `path_too_long` past {@link MAX_SUBJECT_BYTES}. */
export function deliverySubject(endpointId: string, event: string, segments: readonly string[]): string {
  const subject = [SUBJECT_ROOT, endpointToken(endpointId), encodeToken(event), ...segments.map(encodeToken)].join(".");
  if (Buffer.byteLength(subject) > MAX_SUBJECT_BYTES) {
    throw new SubjectError("path_too_long", `the webhook path is too long (subject over ${MAX_SUBJECT_BYTES} bytes)`);
  }
  return subject;
}

export interface ParsedSubject {
  endpointId: string;
  event: string;
  segments: string[];
}

/** Inverse of {@link deliverySubject}. */
export function parseDeliverySubject(subject: string): ParsedSubject {
  const [root, endpoint, event, ...segments] = subject.split(".");
  if (root !== SUBJECT_ROOT || !endpoint || event === undefined || segments.length === 0) {
    throw new SubjectError("path_invalid", `not a delivery subject: ${subject}`);
  }
  return { endpointId: endpointFromToken(endpoint), event: decodeToken(event), segments: segments.map(decodeToken) };
}

/** Endpoint ids are UUIDs; in subjects they are written without dashes. */
export function endpointToken(endpointId: string): string {
  const token = endpointId.replace(/-/g, "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(token)) throw new SubjectError("path_invalid", `not an endpoint id: ${endpointId}`);
  return token;
}

export function endpointFromToken(token: string): string {
  if (!/^[0-9a-f]{32}$/.test(token)) throw new SubjectError("path_invalid", `not an endpoint token: ${token}`);
  return `${token.slice(0, 8)}-${token.slice(8, 12)}-${token.slice(12, 16)}-${token.slice(16, 20)}-${token.slice(20)}`;
}

/** The filter subject that grants one endpoint's deliveries (every event, every sub-path). */
export function endpointGrantSubject(endpointId: string): string {
  return `${SUBJECT_ROOT}.${endpointToken(endpointId)}.>`;
}

/** Filter subjects that grant exactly these endpoints (sorted, so comparable); never empty. */
export function grantFilterSubjects(endpointIds: readonly string[]): string[] {
  return endpointIds.length === 0 ? [NOTHING_SUBJECT] : endpointIds.map(endpointGrantSubject).sort();
}

/**
 * A filter subject that matches nothing the broker ever publishes. JetStream treats an empty
 * filter as "everything", so a principal with no grants gets this instead.
 */
export const NOTHING_SUBJECT = `${SUBJECT_ROOT}.none.none`;

/** The stream's subject space. */
export const STREAM_SUBJECTS = [`${SUBJECT_ROOT}.>`];

/**
 * Redrive copies: a dead-lettered message made deliverable again to one consumer is published
 * anew on `wh.rd.<durable>.<endpoint token>`. The second token (`rd`) is never an endpoint token
 * (32 hex), so no grant (`wh.<endpoint>.>`), replay or other durable ever selects it; only the
 * gateway publishes there (readers' NATS accounts cannot publish into the stream). The endpoint
 * stays in the subject so that the durable's filter for it follows the owner's grants like the
 * rest of its filters (see redriveFilters).
 */
export const REDRIVE_TOKEN = "rd";

export function redriveSubject(durable: string, endpointId: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(durable)) throw new SubjectError("path_invalid", `not a durable name: ${durable}`);
  return `${SUBJECT_ROOT}.${REDRIVE_TOKEN}.${durable}.${endpointToken(endpointId)}`;
}

/** The durable and endpoint of a redrive subject; undefined for any other subject. */
export function parseRedriveSubject(subject: string): { durable: string; endpointId: string } | undefined {
  const parts = subject.split(".");
  if (parts.length !== 4 || parts[0] !== SUBJECT_ROOT || parts[1] !== REDRIVE_TOKEN || !/^[0-9a-f]{32}$/.test(parts[3]!)) return undefined;
  return { durable: parts[2]!, endpointId: endpointFromToken(parts[3]!) };
}

/** The endpoint a stored message belongs to: a delivery or a redrive copy. Throws on anything else. */
export function endpointOfSubject(subject: string): string {
  return parseRedriveSubject(subject)?.endpointId ?? parseDeliverySubject(subject).endpointId;
}

/**
 * The redrive subjects a durable selects besides `filters` (its delivery filters): one per
 * endpoint those filters name, so a revoked grant removes both the endpoint's deliveries and
 * its redrive copies from the durable. Sorted; empty when the filters name no endpoint.
 */
export function redriveFilters(durable: string, filters: readonly string[]): string[] {
  const endpoints = new Set<string>();
  for (const f of filters) {
    const token = f.split(".")[1];
    if (f.startsWith(`${SUBJECT_ROOT}.`) && token && /^[0-9a-f]{32}$/.test(token)) endpoints.add(token);
  }
  return [...endpoints].map((t) => `${SUBJECT_ROOT}.${REDRIVE_TOKEN}.${durable}.${t}`).sort();
}
