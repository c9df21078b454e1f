import type { Command } from "commander";
import type { StreamInfo } from "@nats-io/jetstream";
import type { CliContext } from "./context.js";
import { formatNanos, jsTime, orNotFound, withJetStream } from "./jetstream.js";

/** The JSON shape of `stream info` (also what the table shows). */
export function streamJson(info: StreamInfo) {
  const { config: c, state: s } = info;
  return {
    name: c.name,
    subjects: c.subjects ?? [],
    messages: s.messages,
    bytes: s.bytes,
    first_seq: s.first_seq,
    first_time: s.messages > 0 ? jsTime(s.first_ts) : null,
    last_seq: s.last_seq,
    last_time: s.messages > 0 || s.last_seq > 0 ? jsTime(s.last_ts) : null,
    consumers: s.consumer_count,
    retention: {
      policy: c.retention,
      max_age: formatNanos(c.max_age),
      max_bytes: c.max_bytes,
      max_msgs: c.max_msgs,
      discard: c.discard,
      duplicate_window: formatNanos(c.duplicate_window),
      storage: c.storage,
      replicas: c.num_replicas,
    },
  };
}

export function streamCommand(program: Command, ctx: CliContext): void {
  const stream = program
    .command("stream")
    .description("the JetStream stream holding every webhook (STREAM_NAME, default WEBHOOKS)");

  stream
    .command("info")
    .description("messages, bytes, first/last message and the retention limits")
    .action(async () => {
      const view = await withJetStream(ctx, async ({ jsm, stream }) =>
        streamJson(await orNotFound(jsm.streams.info(stream), `stream ${stream} not found (is STREAM_NAME right? the gateway creates it on start)`)),
      );
      if (ctx.json) return ctx.out.json(view);
      const r = view.retention;
      ctx.out.record({
        stream: view.name,
        subjects: view.subjects.join(" "),
        messages: view.messages,
        bytes: `${view.bytes} (${humanBytes(view.bytes)})`,
        first: view.first_time ? `#${view.first_seq} at ${view.first_time}` : "-",
        last: view.last_time ? `#${view.last_seq} at ${view.last_time}` : "-",
        consumers: view.consumers,
        retention: r.policy,
        max_age: r.max_age,
        max_bytes: r.max_bytes < 0 ? "unlimited" : `${r.max_bytes} (${humanBytes(r.max_bytes)})`,
        discard: r.discard === "new" ? "new (when full, new webhooks are refused with 503)" : r.discard,
        duplicate_window: r.duplicate_window,
        storage: r.storage,
        replicas: r.replicas,
      });
    });
}

function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
