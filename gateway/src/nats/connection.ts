import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsOptions {
  url: string;
  user?: string;
  password?: string;
  name: string;
}

/**
 * Connects with a private inbox prefix: with the shared `_INBOX.>` any client allowed to
 * subscribe there could read our request replies (publish acks, fetched messages).
 */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  return connect({
    servers: opts.url.split(","),
    user: opts.user,
    pass: opts.password,
    name: opts.name,
    inboxPrefix: `_GW_INBOX.${randomBytes(8).toString("hex")}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
}
