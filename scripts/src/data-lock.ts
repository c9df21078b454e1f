import { openSync, readFileSync, rmSync, writeSync, closeSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** The running stack's PID, when the data directory is locked by a live process. */
export class DataDirLocked extends Error {
  constructor(
    readonly pid: number,
    readonly dir: string,
  ) {
    super(
      `another \`pnpm start\` (PID ${pid}) is running on ${dir}; stop it first (kill -TERM ${pid}) or use another data directory (WB_DATA_DIR)`,
    );
    this.name = "DataDirLocked";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the data directory for this process: `broker.lock` holds our PID, created exclusively.
 * A lock whose process is gone is stale and taken over; a live one throws {@link DataDirLocked}
 * before anything in the directory is touched. Returns the release function.
 */
export function lockDataDir(dir: string, pid = process.pid): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "broker.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return () => {
        // Only our own lock: a later process may have taken over a lock we thought stale.
        if (readLockPid(path) === pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = readLockPid(path);
      if (holder !== undefined && holder !== pid && alive(holder)) throw new DataDirLocked(holder, dir);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`cannot lock ${path}: another process keeps taking it`);
}

function readLockPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The PID in the data directory's lock, if a live process holds it (for operator messages). */
export function lockHolder(dir: string): number | undefined {
  const pid = readLockPid(join(dir, "broker.lock"));
  return pid !== undefined && alive(pid) ? pid : undefined;
}
