/**
 * The auth callout responder: nats-server sends every non-static client's CONNECT here
 * (`$SYS.REQ.USER.AUTH` in account AUTH) and admits the client only with a signed answer.
 *
 * One request, in named steps (after nats-server's server/auth_callout.go):
 *   open     decrypt with our xkey (the server's xkey is in the Nats-Server-Xkey header)
 *   verify   the request JWT: signed by the server it names, for us, not expired, known server
 *   identify pick the credential from the CONNECT options
 *   authorize  look the credential and the user's durables up in PostgreSQL (bounded in time)
 *   decide   permissions by the pure decide()
 *   answer   user JWT (aud CLIENTS, short exp) inside an authorization response, encrypted
 *
 * Anything unexpected denies. Requests carry the raw token: they are never logged; deny
 * reasons are, and go back in the response's `error` (which the server logs).
 */
import { encodeAuthorizationResponse, encodeUser, type AuthorizationRequest } from "@nats-io/jwt";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Db } from "../db/client.js";
import {
  credentialAuthenticator,
  credentialFromConnectOpts,
  userDurables,
  userInboxToken,
  fingerprintOf,
  type Authenticated,
  type Authenticator,
} from "./credentials.js";
import { readableEndpointIds } from "../acl.js";
import { AccessTokenVerifier } from "../auth/access-token.js";
import { decide, isDenied } from "./decide.js";
import { type CurveKey, type NodeKeyPair, Prefix, verifyNkeySignature } from "./keys.js";
import { CLIENT_LIMITS, CLIENTS_ACCOUNT, type ClientLimits } from "./nats-config.js";
import { withoutQueryParams } from "../log-safety.js";
import { secondsSince, type CalloutMetrics } from "../metrics.js";

export const AUTH_CALLOUT_SUBJECT = "$SYS.REQ.USER.AUTH";
export const XKEY_HEADER = "Nats-Server-Xkey";
/** The `aud` of every authorization request the server sends. */
export const AUTH_REQUEST_AUDIENCE = "nats-authorization-request";
/**
 * The user JWT's name: `<user id>:<credential id>:<access fingerprint>`. nats-server 2.10 shows
 * it in CONNZ as `authorized_user` (JWT tags of callout users are not shown there), so this is
 * how the revoker learns which credential and which access each connection holds.
 */
export function connectionName(userId: string, credentialId: string, access: string): string {
  return `${userId}:${credentialId}:${access}`;
}

export function parseConnectionName(name: string): { user: string; credentialId?: string; access?: string } {
  const [user = "", credentialId, access] = name.split(":");
  return { user, credentialId: credentialId || undefined, access: access || undefined };
}

export interface CalloutLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CalloutServiceOptions {
  /** Connected as user `callout` in account AUTH. */
  nc: NatsConnection;
  db: Db;
  /** Signs user JWTs and responses; its public key is the config's `issuer`. */
  issuer: NodeKeyPair;
  /** Opens requests and seals responses; its public key is the config's `xkey`. */
  xkey: CurveKey;
  stream: string;
  /** Lifetime of issued user JWTs; the server disconnects at expiry and the client re-authenticates. */
  jwtTtlSeconds: number;
  /** PostgreSQL must answer within this, or the client is denied. Keep it below the server's auth timeout. */
  dbTimeoutMs?: number;
  /** Server names accepted (`server_name` in the config). Undefined accepts any server that signs correctly. */
  serverNames?: readonly string[];
  /** The credential check; default: API tokens and access tokens, as the gateway checks them. */
  authenticate?: Authenticator;
  log: CalloutLogger;
  /** The CLIENTS account's limits, carried in the user JWT too (default CLIENT_LIMITS; keep equal to the server config's). */
  clientLimits?: Partial<ClientLimits>;
  /** Queue group so several instances share the load. */
  queue?: string;
  /** Counts requests by result and reason, and times them. */
  metrics?: CalloutMetrics;
}

export interface CalloutService {
  /** Counts since start (for health and the benchmark). */
  readonly stats: { allowed: number; denied: number; dropped: number };
  stop(): Promise<void>;
}

/** Why a request was denied: a code for metrics (bounded), beside the message the server logs. */
export type DenyReason =
  | "wrong_audience"
  | "wrong_issuer"
  | "request_expired"
  | "unknown_server"
  | "no_credential"
  | "credential_invalid"
  | "database_timeout"
  | "database_error"
  | "not_permitted"
  | "internal";

class Deny extends Error {
  constructor(
    readonly reason: DenyReason,
    message: string,
  ) {
    super(message);
  }
}

interface VerifiedRequest {
  userNkey: string;
  serverId: string;
  serverXkey: string | undefined;
  request: AuthorizationRequest;
  claims: { aud?: string; sub?: string; exp?: number };
}

const td = new TextDecoder();
const te = new TextEncoder();

export function startCalloutService(opts: CalloutServiceOptions): CalloutService {
  const stats = { allowed: 0, denied: 0, dropped: 0 };
  const authenticate = opts.authenticate ?? credentialAuthenticator(opts.db, new AccessTokenVerifier(opts.db));
  const dbTimeoutMs = opts.dbTimeoutMs ?? 1_500;
  const issuerPublic = opts.issuer.getPublicKey();

  /** open + verify. Throws a plain Error when no signed answer is possible (the request is dropped). */
  const openRequest = (msg: Msg): VerifiedRequest => {
    const serverXkey = msg.headers?.get(XKEY_HEADER) || undefined;
    let raw = msg.data;
    if (serverXkey) {
      const opened = opts.xkey.open(raw, serverXkey);
      if (!opened) throw new Error("request does not decrypt with our xkey");
      raw = opened;
    } else {
      // The config always sets xkey; a plaintext request did not come from our server set-up.
      throw new Error("request is not encrypted");
    }
    const jwt = td.decode(raw);
    const parts = jwt.split(".");
    if (parts.length !== 3) throw new Error("request is not a JWT");
    const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")) as { alg?: string };
    if (header.alg !== "ed25519-nkey") throw new Error("request JWT has an unexpected algorithm");
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as {
      iss?: string;
      sub?: string;
      aud?: string;
      exp?: number;
      nats?: AuthorizationRequest & { type?: string };
    };
    const req = claims.nats;
    if (req?.type !== "authorization_request") throw new Error("not an authorization request");
    if (typeof claims.iss !== "string" || claims.iss !== req.server_id?.id) throw new Error("request issuer is not the server it names");
    const signed = verifyNkeySignature(Prefix.Server, claims.iss, te.encode(`${parts[0]}.${parts[1]}`), Buffer.from(parts[2]!, "base64url"));
    if (!signed) throw new Error("request signature is invalid");
    if (typeof req.user_nkey !== "string" || !req.user_nkey.startsWith("U")) throw new Error("request has no user nkey");
    if (serverXkey !== req.server_id.xkey) throw new Error("xkey header does not match the signed server xkey");
    return { userNkey: req.user_nkey, serverId: claims.iss, serverXkey, request: req, claims };
  };

  /** Checks a verified request is meant for us; throws Deny (answered with an error). */
  const checkAudience = (v: VerifiedRequest) => {
    const { claims } = v;
    if (claims.aud !== AUTH_REQUEST_AUDIENCE) throw new Deny("wrong_audience", "wrong audience");
    if (claims.sub !== issuerPublic) throw new Deny("wrong_issuer", "request is for another issuer");
    if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) throw new Deny("request_expired", "request expired");
    if (opts.serverNames && !opts.serverNames.includes(v.request.server_id.name)) throw new Deny("unknown_server", "unknown server");
  };

  const withTimeout = async <T>(what: string, work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Deny("database_timeout", `${what} timed out after ${dbTimeoutMs} ms`)), dbTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (err) {
      if (err instanceof Deny) throw err;
      throw new Deny("database_error", `${what} failed: ${(err as Error).message?.split("\n")[0] ?? "error"}`);
    } finally {
      clearTimeout(timer);
    }
  };

  const authorize = async (v: VerifiedRequest): Promise<{ who: Authenticated; durables: string[]; access: string; inboxToken: string }> => {
    const credential = credentialFromConnectOpts(v.request.connect_opts);
    if (!credential) throw new Deny("no_credential", "no credential in CONNECT");
    return withTimeout("database", (async () => {
      const who = await authenticate(credential);
      if (!who) throw new Deny("credential_invalid", `${credential.kind} not valid`);
      const [durables, readable, inboxToken] = await Promise.all([
        userDurables(opts.db, who.userId),
        readableEndpointIds(opts.db, who.userId),
        userInboxToken(opts.db, who.userId),
      ]);
      return { who, durables, access: fingerprintOf(readable, durables), inboxToken };
    })());
  };

  const answer = async (msg: Msg, v: VerifiedRequest, data: { jwt?: string; error?: string }) => {
    const response = await encodeAuthorizationResponse(v.userNkey, v.serverId, opts.issuer, data, {});
    const body = v.serverXkey ? opts.xkey.seal(te.encode(response), v.serverXkey) : te.encode(response);
    msg.respond(body);
  };

  const handle = async (msg: Msg) => {
    const started = performance.now();
    let v: VerifiedRequest;
    try {
      v = openRequest(msg);
    } catch (err) {
      // Without a verified request there is no one to answer: the server times out and denies.
      stats.dropped++;
      opts.metrics?.requests.inc({ result: "dropped", reason: "unverifiable" });
      opts.metrics?.duration.observe({ result: "dropped" }, secondsSince(started));
      opts.log.warn({ reason: withoutQueryParams((err as Error).message) }, "auth callout: request dropped");
      return;
    }
    const client = { server: v.request.server_id.name, cid: v.request.client_info?.id, host: v.request.client_info?.host };
    try {
      checkAudience(v);
      const { who, durables, access, inboxToken } = await authorize(v);
      const decision = decide({ userId: who.userId, inboxToken }, durables, opts.stream, { ...CLIENT_LIMITS, ...opts.clientLimits });
      if (isDenied(decision)) throw new Deny("not_permitted", decision.deny);
      // Never longer than the credential itself: an access token's connection ends with it.
      const exp = Math.min(Math.floor(Date.now() / 1000) + opts.jwtTtlSeconds, who.expiresAt ?? Number.POSITIVE_INFINITY);
      const userJwt = await encodeUser(
        connectionName(who.userId, who.credentialId, access),
        v.userNkey,
        opts.issuer,
        { pub: decision.pub, sub: decision.sub, ...decision.limits },
        { aud: CLIENTS_ACCOUNT, exp },
      );
      await answer(msg, v, { jwt: userJwt });
      stats.allowed++;
      opts.metrics?.requests.inc({ result: "allowed", reason: "none" });
      opts.metrics?.duration.observe({ result: "allowed" }, secondsSince(started));
      opts.log.info({ ...client, userId: who.userId, ms: Math.round(performance.now() - started) }, "auth callout: allowed");
    } catch (err) {
      const reason = err instanceof Deny ? err.message : "internal error";
      if (!(err instanceof Deny)) opts.log.error({ ...client, err: withoutQueryParams((err as Error).message) }, "auth callout: internal error");
      stats.denied++;
      opts.metrics?.requests.inc({ result: "denied", reason: err instanceof Deny ? err.reason : "internal" });
      opts.log.warn({ ...client, reason }, "auth callout: denied");
      await answer(msg, v, { error: reason }).catch(() => {});
      opts.metrics?.duration.observe({ result: "denied" }, secondsSince(started));
    }
  };

  const sub: Subscription = opts.nc.subscribe(AUTH_CALLOUT_SUBJECT, {
    queue: opts.queue ?? "wb-auth-callout",
    callback: (err, msg) => {
      if (err) {
        opts.log.error({ err: err.message }, "auth callout: subscription error");
        return;
      }
      void handle(msg);
    },
  });

  return {
    stats,
    async stop() {
      await sub.drain().catch(() => {});
    },
  };
}
