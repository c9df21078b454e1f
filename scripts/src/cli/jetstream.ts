import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { BrokerError, formatDuration, isNotFound } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";

const NATS_TIMEOUT_MS = 5_000;

export interface JetStreamSession {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** STREAM_NAME, default WEBHOOKS (the gateway's). */
  stream: string;
  /** The server's version, e.g. `2.10.27`. */
  serverVersion: string;
}

/**
 * Runs `fn` with a JetStream manager connected as the admin NATS user (NATS_URL, NATS_USER,
 * NATS_PASSWORD), and closes the connection afterwards whatever happens.
 */
export async function withJetStream<T>(ctx: CliContext, fn: (s: JetStreamSession) => Promise<T>): Promise<T> {
  const nc = await ctx.adminNats("for this command", NATS_TIMEOUT_MS);
  try {
    const jsm = await jetstreamManager(nc, { timeout: NATS_TIMEOUT_MS });
    const stream = ctx.io.env.STREAM_NAME || "WEBHOOKS";
    return await fn({ nc, jsm, stream, serverVersion: nc.info?.version ?? "unknown" });
  } finally {
    await nc.close().catch(() => {});
  }
}

/** Maps JetStream's stream or consumer not-found to the CLI's domain error (exit 1) with a clear message. */
export async function orNotFound<T>(p: Promise<T>, message: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) throw new BrokerError("not_found", message);
    throw err;
  }
}

/** `2.10.27` ≥ `2.11`? */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split(".").map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!;
  }
  return true;
}

/** Nanoseconds as the shortest exact duration (`30d`, `24h`, `1500ms`); 0 is `unlimited`. */
export function formatNanos(ns: number | undefined): string {
  return ns ? formatDuration(ns / 1e6) : "unlimited";
}

/** JetStream reports times as RFC 3339 strings (typed as Nanos in nats.js); the zero time means never. */
export function jsTime(v: unknown): string | null {
  if (typeof v !== "string" || v === "" || v.startsWith("0001-")) return null;
  return new Date(v).toISOString();
}

/** Parses an ISO 8601 time option; a bad one is a usage error. */
export function parseTime(option: string, value: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) {
    throw new UsageError(`${option}: not an ISO 8601 time: ${value} (e.g. 2026-11-29T10:00:00Z)`);
  }
  return d;
}
