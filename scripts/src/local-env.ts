import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

/** The local stack's data directory: `WB_DATA_DIR`, else `.data` in the repository. */
export function dataDir(env = process.env): string {
  return resolve(env.WB_DATA_DIR ?? join(import.meta.dirname, "..", "..", ".data"));
}

/** `broker.env` holds what operator tools need to reach the local stack (mode 0600). */
export function localEnvPath(env = process.env): string {
  return join(dataDir(env), "broker.env");
}

export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export async function writeEnvFile(path: string, values: Record<string, string>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
  await chmod(path, 0o600);
}

/** Process env wins; the local stack's file fills what is unset. */
export function withLocalEnv(env = process.env): Record<string, string | undefined> {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
  return { ...readEnvFile(localEnvPath(env)), ...set };
}
