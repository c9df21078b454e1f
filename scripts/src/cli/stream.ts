import type { Command } from "commander";
import type { StreamInfo } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { BrokerError, formatDuration, parseBytes, parseDuration } from "@wb/authz";
import { percentFull, retentionLoss } from "@wb/gateway";
import { UsageError, type CliContext } from "./context.js";
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
    /** Of the tighter of max_bytes and max_msgs; at 100 new deliveries are refused (503). */
    percent_full: percentFull(info),
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
        full: `${view.percent_full}%${view.percent_full >= 100 ? " (new webhooks are refused with 503 until readers ack and room is made)" : ""}`,
        retention: r.policy,
        max_age: r.max_age,
        max_bytes: r.max_bytes < 0 ? "unlimited" : `${r.max_bytes} (${humanBytes(r.max_bytes)})`,
        discard: r.discard === "new" ? "new (when full, new webhooks are refused with 503)" : r.discard,
        duplicate_window: r.duplicate_window,
        storage: r.storage,
        replicas: r.replicas,
      });
    });

  setRetentionCommand(stream, ctx);
}

/**
 * `stream set-retention`: changes the stream's max age and/or max bytes. A change that deletes
 * stored deliveries at once (a shorter max age) is only shown, unless `--confirm` is given; the
 * gateway refuses to start over such a change and names this command (issue 16 #6).
 */
function setRetentionCommand(stream: Command, ctx: CliContext): void {
  stream
    .command("set-retention")
    .description("change the stream's max age / max bytes; deleting stored deliveries needs --confirm")
    .option("--max-age <duration>", "e.g. 7d, 24h (also set STREAM_MAX_AGE to this for the gateways)")
    .option("--max-bytes <size>", "e.g. 10GiB (also set STREAM_MAX_BYTES to this for the gateways)")
    .option("--confirm", "apply even though stored deliveries are deleted")
    .action(async (o: { maxAge?: string; maxBytes?: string; confirm?: boolean }) => {
      if (o.maxAge === undefined && o.maxBytes === undefined) throw new UsageError("give --max-age and/or --max-bytes");
      const maxAgeMs = o.maxAge === undefined ? undefined : parseDuration(o.maxAge);
      if (maxAgeMs === undefined && o.maxAge !== undefined) throw new UsageError(`--max-age ${o.maxAge}: not a duration (7d, 24h, 90m)`);
      const maxBytes = o.maxBytes === undefined ? undefined : parseBytes(o.maxBytes);
      if (maxBytes === undefined && o.maxBytes !== undefined) throw new UsageError(`--max-bytes ${o.maxBytes}: not a size (10GiB, 512MiB)`);
      const result = await withJetStream(ctx, async ({ jsm, stream }) => {
        const info = await orNotFound(jsm.streams.info(stream), `stream ${stream} not found (is STREAM_NAME right? the gateway creates it on start)`);
        const maxAgeNs = maxAgeMs === undefined ? info.config.max_age : nanos(maxAgeMs);
        if (maxAgeMs !== undefined && info.config.duplicate_window > maxAgeNs && maxAgeNs > 0) {
          throw new UsageError(`--max-age ${o.maxAge} is shorter than the stream's duplicate window (${formatNanos(info.config.duplicate_window)}): lower DUPLICATE_WINDOW first (restart the gateways with it)`);
        }
        const loss = await retentionLoss(jsm, info, maxAgeNs);
        const change = {
          stream,
          max_age: { from: formatNanos(info.config.max_age), to: formatNanos(maxAgeNs) },
          max_bytes: { from: info.config.max_bytes, to: maxBytes ?? info.config.max_bytes },
        };
        if (loss && !o.confirm) {
          throw new BrokerError(
            "conflict",
            `max age ${formatDuration(maxAgeMs!)} would delete ${loss.count} stored deliveries of ${stream} at once (received before ${new Date(loss.cutoffMs).toISOString()}); ` +
              "nothing was changed. Run again with --confirm to delete them.",
          );
        }
        await jsm.streams.update(stream, { ...info.config, max_age: maxAgeNs, max_bytes: change.max_bytes.to });
        const after = await jsm.streams.info(stream);
        return { ...change, deleted: Math.max(0, info.state.messages - after.state.messages), messages: after.state.messages };
      });
      if (ctx.json) return ctx.out.json(result);
      ctx.out.record({
        stream: result.stream,
        max_age: `${result.max_age.from} -> ${result.max_age.to}`,
        max_bytes: `${result.max_bytes.from} -> ${result.max_bytes.to}`,
        deleted: result.deleted,
        messages: result.messages,
        note: "set STREAM_MAX_AGE / STREAM_MAX_BYTES to the same values for every gateway",
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
