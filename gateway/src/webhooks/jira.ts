import { createHash } from "node:crypto";
import { z } from "zod";
import { safeEqualText } from "./compare.js";
import { signedByAnyKey, verifyDigestHeader } from "./digest.js";
import { parseVerifiedJson, stringField } from "./shared.js";
import { VerificationError, type Provider } from "./types.js";

export const jiraOptionsSchema = z
  .object({
    /**
     * For Atlassian Connect apps: the path of the app's `baseUrl` on this gateway, e.g.
     * `/webhook/jira/acme`. Atlassian signs paths relative to the base URL, so this prefix is
     * removed before the query string hash is recomputed.
     */
    context_path: z
      .string()
      .regex(/^\/[^?#]*$/, "must be a path starting with /")
      .optional(),
  })
  .strict();

/**
 * Jira, in its two shapes:
 * - admin webhooks with a secret: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`;
 * - Atlassian Connect apps: `Authorization: JWT <token>` (or a `jwt` query parameter), HS256
 *   with the shared secret from the install callback; `exp` must be after now, and the `qsh`
 *   claim must be the hash of this request's method, path and query (see `queryStringHash`),
 *   which binds the token to this URL.
 *
 * The delivery id is `X-Atlassian-Webhook-Identifier` when sent. The event type exists only in
 * the body (`webhookEvent`), so it is read from there once the signature holds.
 */
export const jira: Provider = {
  name: "jira",
  optionsSchema: jiraOptionsSchema,
  verify({ body, headers, method, pathAndQuery, secrets, options, now }) {
    const { context_path } = jiraOptionsSchema.parse(options);
    const token = connectToken(headers, pathAndQuery);
    if (token !== null) {
      verifyConnectJwt(token, secrets, now, queryStringHash(method, pathAndQuery, context_path));
    } else if (headers.get("x-hub-signature")) {
      verifyDigestHeader(headers, secrets, { header: "X-Hub-Signature", algorithm: "sha256", encoding: "hex", prefix: "sha256=" }, [body]);
    } else {
      throw new VerificationError("signature_missing", "neither X-Hub-Signature nor an Authorization: JWT header is present");
    }
    return {
      event: stringField(parseVerifiedJson(body), "webhookEvent") ?? "",
      deliveryId: headers.get("x-atlassian-webhook-identifier"),
      verified: true,
    };
  },
};

function connectToken(headers: Headers, pathAndQuery: string): string | null {
  const authorization = headers.get("authorization");
  const match = authorization ? /^JWT\s+(\S+)$/i.exec(authorization) : null;
  if (match?.[1]) return match[1];
  const query = pathAndQuery.indexOf("?");
  return query < 0 ? null : new URLSearchParams(pathAndQuery.slice(query + 1)).get("jwt");
}

/**
 * HS256 JWT verification with node:crypto rather than `jose`: jose's `jwtVerify` is async and
 * `Provider.verify` is synchronous, and HS256 is one HMAC. The header is read first only to
 * refuse any `alg` but HS256 (no `none`, no algorithm confusion); the claims are read only once
 * the signature holds.
 */
function verifyConnectJwt(token: string, secrets: readonly string[], now: number, expectedQsh: string): void {
  const segments = token.split(".");
  const [header, payload, signature] = segments;
  if (segments.length !== 3 || !header || !payload || !signature || !segments.every((s) => /^[A-Za-z0-9_-]+$/.test(s))) {
    throw new VerificationError("signature_invalid", "the JWT is not three base64url segments");
  }
  if (stringField(decodeSegment(header), "alg") !== "HS256") {
    throw new VerificationError("signature_invalid", "the JWT is not signed with HS256");
  }
  const given = Buffer.from(signature, "base64url");
  if (given.length !== 32 || !signedByAnyKey(secrets, [given], "sha256", [`${header}.${payload}`])) {
    throw new VerificationError("signature_invalid", "the JWT signature does not match the shared secret");
  }
  const claims = decodeSegment(payload);
  const exp = typeof claims === "object" && claims !== null ? (claims as { exp?: unknown }).exp : undefined;
  if (typeof exp !== "number") throw new VerificationError("timestamp_invalid", "the JWT has no numeric exp claim");
  if (now / 1000 >= exp) throw new VerificationError("timestamp_out_of_range", "the JWT has expired");
  const qsh = stringField(claims, "qsh");
  if (qsh === undefined || !safeEqualText(expectedQsh, qsh)) {
    throw new VerificationError("signature_invalid", "the JWT qsh claim does not match this request's method, path and query");
  }
}

function decodeSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** RFC 3986 percent-encoding of everything but the unreserved characters, as Atlassian asks. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Atlassian's canonical request, `METHOD&canonical-uri&canonical-query`
 * (developer.atlassian.com, "Query string hash"):
 * - the method in upper case;
 * - the path relative to the app's base URL (`contextPath` removed), `&` escaped as `%26`,
 *   starting with `/`, without a trailing `/` (`/` alone when empty);
 * - the query without `jwt`: names and values decoded then RFC 3986-encoded, sorted by encoded
 *   name, a repeated name's values sorted and joined with `,`, pairs `name=value` joined by `&`.
 */
export function canonicalRequest(method: string, pathAndQuery: string, contextPath?: string): string {
  const q = pathAndQuery.indexOf("?");
  let path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const base = contextPath?.replace(/\/+$/, "");
  if (base && (path === base || path.startsWith(`${base}/`))) path = path.slice(base.length);
  path = path.replaceAll("&", "%26");
  if (!path.startsWith("/")) path = `/${path}`;
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);

  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(q < 0 ? "" : pathAndQuery.slice(q + 1))) {
    if (name === "jwt") continue;
    const key = encodeRfc3986(name);
    values.set(key, [...(values.get(key) ?? []), encodeRfc3986(value)]);
  }
  const query = [...values.keys()]
    .sort()
    .map((key) => `${key}=${(values.get(key) ?? []).sort().join(",")}`)
    .join("&");
  return `${method.toUpperCase()}&${path}&${query}`;
}

/** The `qsh` claim Atlassian puts in a Connect JWT: hex SHA-256 of the canonical request. */
export function queryStringHash(method: string, pathAndQuery: string, contextPath?: string): string {
  return createHash("sha256").update(canonicalRequest(method, pathAndQuery, contextPath)).digest("hex");
}
