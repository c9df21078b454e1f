import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The template every generated nats-server config starts from. */
export const NATS_CONFIG_TEMPLATE = fileURLToPath(
  new URL("../../infra/nats-server.conf.template", import.meta.url),
);

/** 32 MiB: above the gateway's default 25 MiB body limit, so a full body plus headers fits. */
export const DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024;

/**
 * A value nats-server reads from its environment when it starts (`$NAME` in the config), for a
 * config rendered ahead of time and shared by several nodes (docker compose).
 */
export interface EnvRef {
  env: string;
}
/** A literal (quoted when rendered) or an {@link EnvRef}. */
export type ConfigValue = string | EnvRef;

/** One node's part of a JetStream cluster: the same name and routes on every node. */
export interface NatsClusterOptions {
  /** The cluster's name, the same on every node. */
  name: string;
  /** Interface for routes from the other nodes. Default: the client `host`. */
  host?: string;
  /** Port for routes from the other nodes. */
  port: number;
  /**
   * `host:port` of every node's route listener. This node's own may be in the list (nats-server
   * ignores a route to itself), so every node can share one list.
   */
  routes: string[];
}

export interface NatsConfigOptions {
  /** Interface for client connections (and monitoring). Default 127.0.0.1. */
  host?: string;
  /** Interface for monitoring, when it differs from `host` (docker: clients on 0.0.0.0, monitoring on 127.0.0.1). */
  httpHost?: string;
  /** Client port; must be a real port (startNats picks a free one when asked for 0). */
  port: number;
  /** HTTP monitoring port (/healthz, /varz, /jsz); omitted = no monitoring listener. */
  httpPort?: number;
  /** JetStream store directory. */
  storeDir: string;
  /** Maximum message size in bytes. Default {@link DEFAULT_MAX_PAYLOAD}. */
  maxPayload?: number;
  /** Unique within a cluster. Default `webhook-broker`. */
  serverName?: ConfigValue;
  /** Password of user `gateway` in account APP. */
  gatewayPassword: ConfigValue;
  /** Password of user `admin` in account APP (the admin CLI). */
  adminPassword: ConfigValue;
  /** Password of user `sys` in the system account SYS. */
  sysPassword: ConfigValue;
  /** Makes this server one node of a JetStream cluster; omitted = a single node. */
  cluster?: NatsClusterOptions;
  /**
   * Trusted config text spliced into the template's two auth-callout places: `accounts`
   * goes inside `accounts { }` (AUTH, CLIENTS), `authorization` at top level, `appExports`
   * inside account APP (what CLIENTS imports). Built by authz/src/callout/nats-config.ts. Reserved for
   * the auth-callout change; never put user input here.
   */
  callout?: { accounts?: string; authorization?: string; appExports?: string };
}

/**
 * Quotes a value as a nats-server config string. The config lexer only understands a few
 * escapes, so control characters (newlines included) are refused rather than escaped.
 */
export function quoteConfigString(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new Error("nats config strings must not contain control characters");
  }
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"")}"`;
}

/** `$NAME`: nats-server substitutes the variable from its environment at start. */
export function envReference(ref: EnvRef): string {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(ref.env)) throw new Error(`not an environment variable name: ${ref.env}`);
  return `$${ref.env}`;
}

function quoteValue(value: ConfigValue): string {
  return typeof value === "string" ? quoteConfigString(value) : envReference(value);
}

function quotePassword(name: string, value: ConfigValue): string {
  if (typeof value !== "string") return envReference(value);
  if (value.length === 0) throw new Error(`${name} must not be empty`);
  // nats-server treats a password that starts with "$2" as a bcrypt hash.
  if (value.startsWith("$2")) throw new Error(`${name} must not start with "$2" (bcrypt marker)`);
  return quoteConfigString(value);
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name} must be an integer port between 1 and 65535, got ${port}`);
  }
  return port;
}

function hostPort(name: string, value: string): string {
  const m = /^([^\s:]+|\[[0-9A-Fa-f:.]+\]):(\d+)$/.exec(value);
  if (!m) throw new Error(`${name} must be host:port, got ${JSON.stringify(value)}`);
  checkPort(name, Number(m[2]));
  return value;
}

function renderCluster(cluster: NatsClusterOptions | undefined, host: string): string {
  if (!cluster) return "# (a single node: no cluster block)";
  if (!/^[A-Za-z0-9_-]+$/.test(cluster.name)) throw new Error("cluster.name must be letters, digits, _ or -");
  if (cluster.routes.length === 0) throw new Error("cluster.routes must name at least one node");
  const routes = cluster.routes.map((r) => `    ${quoteConfigString(`nats-route://${hostPort("cluster.routes", r)}`)}`);
  return [
    "cluster {",
    `  name: ${quoteConfigString(cluster.name)}`,
    `  listen: ${quoteConfigString(`${cluster.host ?? host}:${checkPort("cluster.port", cluster.port)}`)}`,
    "  # Every node's route listener; a route to this node itself is ignored.",
    "  routes: [",
    ...routes,
    "  ]",
    "}",
  ].join("\n");
}

/** Renders infra/nats-server.conf.template with the given options. Pure apart from reading the template. */
export function renderNatsConfig(opts: NatsConfigOptions): string {
  const host = opts.host ?? "127.0.0.1";
  const maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (!Number.isInteger(maxPayload) || maxPayload < 1) {
    throw new Error(`maxPayload must be a positive integer, got ${maxPayload}`);
  }
  const values: Record<string, string> = {
    SERVER_NAME: quoteValue(opts.serverName ?? "webhook-broker"),
    LISTEN: quoteConfigString(`${host}:${checkPort("port", opts.port)}`),
    HTTP:
      opts.httpPort === undefined
        ? "# no HTTP monitoring listener"
        : `http: ${quoteConfigString(`${opts.httpHost ?? host}:${checkPort("httpPort", opts.httpPort)}`)}`,
    MAX_PAYLOAD: String(maxPayload),
    STORE_DIR: quoteConfigString(opts.storeDir),
    GATEWAY_PASSWORD: quotePassword("gatewayPassword", opts.gatewayPassword),
    ADMIN_PASSWORD: quotePassword("adminPassword", opts.adminPassword),
    SYS_PASSWORD: quotePassword("sysPassword", opts.sysPassword),
    CLUSTER: renderCluster(opts.cluster, host),
    CALLOUT_ACCOUNTS: opts.callout?.accounts ?? "  # (none yet)",
    AUTHORIZATION: opts.callout?.authorization ?? "# (none yet)",
    APP_EXPORTS: opts.callout?.appExports ?? "    # (no exports)",
  };
  const template = readFileSync(NATS_CONFIG_TEMPLATE, "utf8");
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nats config template: unknown placeholder {{${name}}}`);
    return value;
  });
}
