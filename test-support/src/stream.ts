import { jetstreamManager, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";
import type { TestBroker } from "./broker.js";

/** The broker's stream seen with the admin NATS user (the broker's one admin connection). */
export interface StreamReader {
  count(): Promise<number>;
  /** The stored message at `seq` (headers and bytes exactly as stored). */
  get(seq: number): Promise<StoredMsg>;
  /** Every stored message's subject, first to last. */
  subjects(): Promise<string[]>;
  /** Nothing to release: the connection is the broker's (kept for callers that tidy up). */
  close(): Promise<void>;
}

export async function streamReader(broker: TestBroker): Promise<StreamReader> {
  const jsm: JetStreamManager = await jetstreamManager(await broker.admin());
  const stream = broker.config.STREAM_NAME;
  return {
    async count() {
      return (await jsm.streams.info(stream)).state.messages;
    },
    async get(seq) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (!m) throw new Error(`no message at ${seq}`);
      return m;
    },
    async subjects() {
      const { state } = await jsm.streams.info(stream);
      const out: string[] = [];
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (m) out.push(m.subject);
      }
      return out;
    },
    async close() {},
  };
}
