import { inject } from "vitest";

/**
 * What global-setup.ts provides to every test: ONE nats-server and ONE PostgreSQL
 * shared by the whole run. Tests must therefore use random names (streams, consumers, users,
 * databases) and clean up after themselves. A test that crashes or restarts NATS must start
 * its own server (see ./nats.ts), never touch the shared one.
 */
export interface TestStack {
  natsUrl: string;
  natsMonitorUrl: string;
  natsGatewayUser: string;
  natsGatewayPassword: string;
  natsAdminUser: string;
  natsAdminPassword: string;
  natsSysUser: string;
  natsSysPassword: string;
  /** The nats-server binary, for tests that start their own server. */
  natsServerBin: string;
  /** Superuser URL of the shared cluster's `postgres` database; create your own database (./database.ts). */
  databaseUrl: string;
}

declare module "vitest" {
  export interface ProvidedContext extends TestStack {}
}

const KEYS = [
  "natsUrl",
  "natsMonitorUrl",
  "natsGatewayUser",
  "natsGatewayPassword",
  "natsAdminUser",
  "natsAdminPassword",
  "natsSysUser",
  "natsSysPassword",
  "natsServerBin",
  "databaseUrl",
] as const satisfies readonly (keyof TestStack)[];

/** The shared stack's coordinates; throws if the global setup did not run. */
export function testStack(): TestStack {
  const stack = {} as Record<keyof TestStack, string>;
  for (const key of KEYS) {
    const value = inject(key);
    if (typeof value !== "string" || value === "") {
      throw new Error(`inject("${key}") is empty: run the tests through vitest.config.ts (globalSetup)`);
    }
    stack[key] = value;
  }
  return stack;
}
