import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  CLI_ACTOR,
  cliActing,
  grantsChanged,
  migrateDatabase,
  openDatabase,
  pendingMigrations,
  SecretBox,
  secretKeySchema,
  type Acting,
  type Announcement,
  type Database,
  type Db,
  type GrantsChanged,
} from "@wb/authz";
import { z } from "zod";
import { Output, type Sink } from "./output.js";

/** What the CLI reads and writes; passed in so tests run it in-process with their own env. */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: Sink;
  stderr: Sink;
}

/** Bad invocation or configuration: exit code 2 (domain errors are BrokerError: exit code 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const configSchema = z.object({
  DATABASE_URL: z
    .string({ error: "DATABASE_URL is required (postgres://...); `pnpm start` writes it to .data/broker.env" })
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// URL"),
  SECRET_KEY: secretKeySchema("SECRET_KEY is required: the broker's 32-byte base64 key (the gateway's SECRET_KEY)"),
  NATS_URL: z.string().min(1).optional(),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
});

export type CliConfig = z.infer<typeof configSchema>;

export function parseCliConfig(env: Record<string, string | undefined>): CliConfig {
  // Empty variables count as unset, so `DATABASE_URL= pnpm cli ...` reports "required".
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = configSchema.safeParse(present);
  if (!result.success) {
    throw new UsageError(
      "invalid configuration:\n" + result.error.issues.map((i) => `  - ${i.message}`).join("\n"),
    );
  }
  return result.data;
}

const NATS_TIMEOUT_MS = 3_000;

/** The CLI's one way to reach NATS: the admin user, a private inbox, no reconnect loop. */
export function connectAdmin(
  c: { NATS_URL: string; NATS_USER?: string; NATS_PASSWORD?: string },
  timeoutMs: number,
): Promise<NatsConnection> {
  return connect({
    servers: c.NATS_URL.split(","),
    user: c.NATS_USER,
    pass: c.NATS_PASSWORD,
    name: "wb-cli",
    // A shared `_INBOX.>` would let other clients read our replies.
    inboxPrefix: `_CLI_INBOX.${randomBytes(8).toString("hex")}`,
    timeout: timeoutMs,
    reconnect: false,
  });
}

const ENDPOINTS_LATER = "gateways pick the change up within their refresh interval (ENDPOINT_REFRESH_INTERVAL, default 30s)";

/** For GRANTS_CHANGED_SUBJECT announcements: the safety sweeps catch up (authz access-changes.ts). */
export const GRANTS_LATER = "gateways' reconcilers apply it to the durable consumers, and the auth callout to open NATS connections, at their next sweep (every 15s)";

/**
 * One CLI invocation's resources, opened on first use (so `--help` needs no configuration)
 * and released by close().
 */
export class CliContext {
  readonly out: Output;
  /** Set from the global `--json` before each action runs. */
  json = false;
  #config?: CliConfig;
  #database?: Database;
  #box?: SecretBox;

  constructor(readonly io: CliIo) {
    this.out = new Output(io.stdout, io.stderr);
  }

  config(): CliConfig {
    this.#config ??= parseCliConfig(this.io.env);
    return this.#config;
  }

  /**
   * The database. The CLI does not migrate on every invocation (gateways migrate at start, and
   * `pnpm cli db migrate` does it on purpose): a schema that is behind is refused, so a newer
   * CLI never writes into an older schema.
   */
  async db(opts: { migrate?: boolean } = {}): Promise<Db> {
    if (!this.#database) {
      const { DATABASE_URL } = this.config();
      const database = openDatabase(DATABASE_URL, { max: 2 });
      this.#database = database;
      let pending: number;
      try {
        // Reaches the server first, so that an unreachable database is told apart from a stale schema.
        await database.pool.query("select 1");
        if (opts.migrate) await migrateDatabase(database.db);
        pending = await pendingMigrations(database.db);
      } catch (err) {
        // Name the server, never the URL: it carries the password.
        throw new Error(`cannot reach the database at ${describeDatabase(DATABASE_URL)}: ${describeError(err)}`, { cause: err });
      }
      if (pending > 0) {
        throw new UsageError(
          `the database at ${describeDatabase(DATABASE_URL)} is ${pending} migration(s) behind this CLI; run \`pnpm cli db migrate\` (or start a gateway, which migrates)`,
        );
      }
    }
    return this.#database.db;
  }

  box(): SecretBox {
    this.#box ??= new SecretBox(this.config().SECRET_KEY);
    return this.#box;
  }

  /** The CLI acts as a global admin; the audit log records it as `cli`. */
  acting(): Acting {
    return cliActing(CLI_ACTOR);
  }

  /**
   * A connection as the admin NATS user, for commands that need NATS (NATS_URL is then
   * required: `why` says what for). The caller closes it.
   */
  async adminNats(why: string, timeoutMs = NATS_TIMEOUT_MS): Promise<NatsConnection> {
    const { NATS_URL, NATS_USER, NATS_PASSWORD } = this.config();
    if (!NATS_URL) throw new UsageError(`NATS_URL is required ${why} (with NATS_USER/NATS_PASSWORD of the admin NATS user)`);
    try {
      return await connectAdmin({ NATS_URL, NATS_USER, NATS_PASSWORD }, timeoutMs);
    } catch (err) {
      throw new Error(`cannot connect to NATS at ${NATS_URL}: ${describeError(err)}`, { cause: err });
    }
  }

  /** The NATS server's max_payload, for the body-limit rule the API applies: a limit it could never carry is refused. */
  async maxPayload(): Promise<number> {
    const nc = await this.adminNats("to check a body limit against the NATS server's max_payload");
    try {
      const max = nc.info?.max_payload;
      if (!max) throw new Error("the NATS server did not say its max_payload");
      return max;
    } finally {
      await withTimeout(nc.close(), NATS_TIMEOUT_MS, "close timed out").catch(() => {});
    }
  }

  /**
   * Tells every gateway about a change (endpoints: reload the cache; grants: update durables'
   * filter subjects). A failure only warns: the gateways also reload or sweep on a timer, so
   * the change arrives anyway, just later (`later` says when).
   */
  async announce(a: Announcement, later = ENDPOINTS_LATER): Promise<void> {
    const { NATS_URL, NATS_USER, NATS_PASSWORD } = this.config();
    if (!NATS_URL) {
      this.out.warn(`NATS_URL is not set, so the change was not announced; ${later}`);
      return;
    }
    try {
      const nc = await connectAdmin({ NATS_URL, NATS_USER, NATS_PASSWORD }, NATS_TIMEOUT_MS);
      try {
        nc.publish(a.subject, a.payload);
        await withTimeout(nc.flush(), NATS_TIMEOUT_MS, "flush timed out");
      } finally {
        await withTimeout(nc.close(), NATS_TIMEOUT_MS, "close timed out").catch(() => {});
      }
    } catch (err) {
      this.out.warn(`could not announce the change on NATS (${describeError(err)}); ${later}`);
    }
  }

  /**
   * Announces a change of who may read what (GRANTS_CHANGED_SUBJECT, the same payload as the
   * API's), so the gateways update the users' durables' filter subjects and the auth callout
   * closes their NATS connections for a fresh connect, at once.
   */
  async announceGrants(change: GrantsChanged): Promise<void> {
    await this.announce(grantsChanged(change), GRANTS_LATER);
  }

  async close(): Promise<void> {
    await this.#database?.close().catch(() => {});
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Where a postgres:// URL points, without its password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "DATABASE_URL";
  }
}

/** A one-line reason; connection errors often have an empty message and only a code. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  if (err instanceof Error) {
    // drizzle wraps driver errors as "Failed query: <sql>"; the reason is in the cause.
    if (err.message.startsWith("Failed query") && err.cause) return describeError(err.cause);
    const code = (err as { code?: unknown }).code;
    return err.message || (typeof code === "string" ? code : err.name);
  }
  return String(err);
}
