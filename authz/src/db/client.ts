import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { fileURLToPath } from "node:url";
import pg from "pg";
import * as schema from "./schema/index.js";
import { instrumentPool, type DbMetrics } from "../metrics.js";

export type Db = NodePgDatabase<typeof schema>;

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** Opens a pool; callers own its lifetime (no module singleton). `metrics` times every query. */
export function openDatabase(url: string, opts: { max?: number; metrics?: DbMetrics } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, connectionTimeoutMillis: 5_000 });
  // An idle client's error (server restart) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  if (opts.metrics) instrumentPool(pool, opts.metrics);
  const db = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** The pool behind a database opened by openDatabase (drizzle keeps it as `$client`). */
function poolOf(db: Db): pg.Pool {
  return (db as Db & { $client: pg.Pool }).$client;
}

/** Any 64-bit number that no other advisory lock of this database uses: "wbmigrat". */
const MIGRATION_LOCK = 0x77626d6967726174n;

/**
 * Applies the committed, generated migrations (never `drizzle-kit push`), under a PostgreSQL
 * advisory lock: several gateways starting at once take turns, and each after the first finds
 * nothing left to do. drizzle's migrator is not safe to run concurrently on its own (two
 * processes both create the same tables).
 */
export async function migrateDatabase(db: Db): Promise<void> {
  const client = await poolOf(db).connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK.toString()]);
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder });
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK.toString()]);
    }
  } finally {
    client.release();
  }
}

/** How many committed migrations the database has not applied yet (0: its schema is current). */
export async function pendingMigrations(db: Db): Promise<number> {
  const migrations = readMigrationFiles({ migrationsFolder });
  // No migrations table yet (a fresh database): everything is pending.
  const { rows } = await poolOf(db)
    .query<{ last: string | null }>("select max(created_at) as last from drizzle.__drizzle_migrations")
    .catch(() => ({ rows: [] as { last: string | null }[] }));
  const last = rows[0]?.last == null ? -1 : Number(rows[0].last);
  return migrations.filter((m) => m.folderMillis > last).length;
}
