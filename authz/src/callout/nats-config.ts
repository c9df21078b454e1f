/**
 * The nats-server config text for the auth callout, spliced into infra/nats-server.conf.template
 * by renderNatsConfig (stack/src/nats-config.ts) as its `callout` option.
 *
 * Accounts: AUTH (only the callout service's user; imports the access-change announcements,
 * `wb.control.>`, from APP, which exports them to AUTH alone), CLIENTS (callout users; no JetStream; imports
 * from APP only what a reader of his own pull consumers needs, the API part renamed to
 * `APPJS.API` because a JetStream-less account answers `$JS.API.>` itself). APP exports exactly
 * those subjects. Static users (callout, gateway, admin, sys) bypass the callout.
 */
import { ANNOUNCEMENTS } from "../announcements.js";
import { CLIENT_API_PREFIX } from "./decide.js";

/**
 * A value nats-server reads from its environment at start (`$NAME`), for a config rendered ahead
 * of time (docker compose); the same shape as @wb/stack's EnvRef.
 */
export interface EnvRef {
  env: string;
}

export interface CalloutConfigOptions {
  /** Public key (`A…`) of the account nkey that signs user JWTs. */
  issuerPublicKey: string | EnvRef;
  /** Public key (`X…`) of the callout's curve key; the server encrypts requests to it. */
  xkeyPublicKey: string | EnvRef;
  /** The JetStream stream users read (STREAM_NAME). */
  stream: string;
  /** Password of user `callout` in account AUTH. */
  calloutPassword: string | EnvRef;
  /** Seconds the server waits for the callout (and for CONNECT). Default 2. */
  authTimeoutSeconds?: number;
  /** Static users in other accounts that must bypass the callout. Default gateway, admin, sys. */
  staticUsers?: string[];
  /** Limits of the CLIENTS account (callout users). Default {@link CLIENT_LIMITS}. */
  clientLimits?: Partial<ClientLimits>;
}

/**
 * What a callout user may consume. nats-server in config mode (2.15.1 checked: authz/test/callout-jwt-limits.test.ts) ignores the limits in a
 * callout-issued user JWT (it keeps only the permissions: server/auth_callout.go clears the JWT
 * before applying limits), so they are enforced as the CLIENTS account's limits, which the
 * server applies to every connection of the account: subscriptions and payload per connection,
 * connections for the account as a whole. The user JWT carries the same subscription and payload
 * limits for servers that do apply them. A per-user connection count or a data rate is not
 * something config mode can enforce (see README, "NATS hardening").
 */
export interface ClientLimits {
  /** Connections of all callout users together (account-wide). */
  maxConnections: number;
  /** Subscriptions per connection (a reader needs a handful: its inbox, a consume loop). */
  maxSubscriptions: number;
  /** Bytes a callout user may publish in one message (pull requests and acks are tiny). */
  maxPayload: number;
}

export const CLIENT_LIMITS: ClientLimits = { maxConnections: 10_000, maxSubscriptions: 256, maxPayload: 64 * 1024 };

export interface CalloutConfigBlocks {
  /** Goes inside `accounts { }`. */
  accounts: string;
  /** Goes at top level. */
  authorization: string;
  /** Goes inside account APP. */
  appExports: string;
}

export const CALLOUT_USER = "callout";
export const CALLOUT_ACCOUNT = "AUTH";
export const CLIENTS_ACCOUNT = "CLIENTS";

const q = (value: string): string => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f"\\]/.test(value)) throw new Error("config value must not contain quotes, backslashes or control characters");
  return `"${value}"`;
};

/** A literal (checked with `valid`, then quoted) or `$NAME` for an {@link EnvRef}. */
function value(name: string, v: string | EnvRef, valid: (s: string) => boolean, what: string): string {
  if (typeof v !== "string") {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(v.env)) throw new Error(`${name}: not an environment variable name: ${v.env}`);
    return `$${v.env}`;
  }
  if (!valid(v)) throw new Error(`${name} must be ${what}`);
  return q(v);
}

export function calloutNatsConfig(opts: CalloutConfigOptions): CalloutConfigBlocks {
  const { stream } = opts;
  const issuer = value("issuerPublicKey", opts.issuerPublicKey, (s) => /^A[A-Z2-7]{55}$/.test(s), "an account public nkey (A…)");
  const xkey = value("xkeyPublicKey", opts.xkeyPublicKey, (s) => /^X[A-Z2-7]{55}$/.test(s), "a curve public key (X…)");
  if (!/^[A-Za-z0-9_-]+$/.test(stream)) throw new Error("stream must be a plain subject token");
  const password = value("calloutPassword", opts.calloutPassword, (s) => s.length > 0 && !s.startsWith("$2"), "non-empty and not look like a bcrypt hash");
  const timeout = opts.authTimeoutSeconds ?? 2;
  const limits = { ...CLIENT_LIMITS, ...opts.clientLimits };
  for (const [k, v] of Object.entries(limits)) if (!Number.isInteger(v) || v < 1) throw new Error(`clientLimits.${k} must be a positive integer`);
  const users = [CALLOUT_USER, ...(opts.staticUsers ?? ["gateway", "admin", "sys"])];
  const next = `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`;
  const info = `$JS.API.CONSUMER.INFO.${stream}.*`;
  const ack = `$JS.ACK.${stream}.>`;
  const renamed = (subject: string) => subject.replace(/^\$JS\.API/, CLIENT_API_PREFIX);

  const accounts = `
  # The auth callout service's account: its user receives $SYS.REQ.USER.AUTH requests, and
  # the access-change announcements the gateways and the admin CLI publish in APP.
  ${CALLOUT_ACCOUNT} {
    users: [ { user: ${CALLOUT_USER}, password: ${password} } ]
    imports: [
      { stream: { account: APP, subject: ${q(ANNOUNCEMENTS)} } }
    ]
  }

  # Users authorized by the callout. No JetStream here, so nothing a client sends can land in
  # the stream (a forged pull-request reply subject resolves in this account, not in APP).
  ${CLIENTS_ACCOUNT} {
    # Per connection (subscriptions, payload) and for the account (connections); the user JWT's
    # own limits are not applied by nats-server (2.15.1 checked) to callout users.
    limits { max_connections: ${limits.maxConnections}, max_subscriptions: ${limits.maxSubscriptions}, max_payload: ${limits.maxPayload} }
    imports: [
      { service: { account: APP, subject: ${q(next)} }, to: ${q(renamed(next))} }
      { service: { account: APP, subject: ${q(info)} }, to: ${q(renamed(info))} }
      { service: { account: APP, subject: ${q(ack)} } }
    ]
  }
`;

  const appExports = `
    # What CLIENTS imports (auth callout): pulls, consumer info and acks of ${stream} only;
    # and what AUTH imports: the access-change announcements.
    exports: [
      { service: ${q(next)}, response_type: stream }
      { service: ${q(info)} }
      { service: ${q(ack)} }
      { stream: ${q(ANNOUNCEMENTS)}, accounts: [${CALLOUT_ACCOUNT}] }
    ]
`;

  const authorization = `
authorization {
  # Also the callout's deadline: no answer within it and the client is refused (fails closed).
  timeout: ${timeout}
  auth_callout {
    issuer: ${issuer}
    account: ${CALLOUT_ACCOUNT}
    auth_users: [ ${users.join(", ")} ]
    xkey: ${xkey}
  }
}
`;
  return { accounts, authorization, appExports };
}
