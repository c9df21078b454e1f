/**
 * `pnpm chaos`: the fault suite (issue 16). Each scenario starts a real nats-server, a gateway
 * process and a database on a PostgreSQL of the run's own, drives a sender and a reader, breaks
 * one process, and judges the run from the ledger: every 2xx stored, every stored delivery read,
 * no 2xx for anything not stored, acked deliveries never delivered again (nats-server SIGKILLed
 * included), and 503 + Retry-After (never another 5xx) while something is down. Exit code 1 when a promise was broken.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { ensureNatsServer, natsServerVersion } from "@wb/stack";
import { Postgres } from "./rig.js";
import { runScenario, SCENARIOS, type ScenarioResult } from "./scenarios.js";

const program = new Command("chaos")
  .description("Kill nats-server, the gateway and PostgreSQL under load, fill the stream, send slow clients; check every promise from the ledger")
  .option("--short", "one round per scenario, shorter phases (what the test suite runs)")
  .option("--only <names>", `comma-separated subset of ${SCENARIOS.map((s) => s.name).join(",")}`)
  .option("--rate <n>", "deliveries per second", "50")
  .option("--rounds <n>", "kills of nats-server in nats-kill (default 3, --short 1)")
  .option("--json", "print the results as JSON")
  .option("--keep", "keep the run's directory (gateway and nats-server logs) instead of removing it");

export async function main(argv: string[]): Promise<number> {
  const o = program.parse(argv, { from: "user" }).opts<{ short?: boolean; only?: string; rate: string; rounds?: string; json?: boolean; keep?: boolean }>();
  const only = o.only?.split(",").map((x) => x.trim());
  const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
    return 2;
  }
  const natsBinary = await ensureNatsServer();
  const dir = await mkdtemp(join(tmpdir(), "wb-chaos-"));
  const postgres = new Postgres(join(dir, "postgres"));
  const results: ScenarioResult[] = [];
  try {
    await postgres.start();
    const version = (await natsServerVersion(natsBinary))?.join(".") ?? "?";
    console.error(`chaos: nats-server ${version}, ${o.rate} deliveries/s${o.short ? ", short" : ""}; data in ${dir}`);
    for (const s of SCENARIOS.filter((x) => !only || only.includes(x.name))) {
      console.error(`- ${s.name}: ${s.what}`);
      const r = await runScenario(s, { natsBinary, dir, postgresUrl: postgres.server.url, postgres, rate: Number(o.rate), short: o.short ?? false, rounds: o.rounds === undefined ? undefined : Number(o.rounds) });
      results.push(r);
      console.error(`  ${r.broken.length === 0 ? "kept" : `BROKEN: ${r.broken.join("; ")}`} (${r.seconds} s)`);
    }
  } finally {
    await postgres.server?.stop().catch(() => {});
    if (o.keep) console.error(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
  if (o.json) console.log(JSON.stringify(results, null, 2));
  else console.log(formatTable(results));
  return results.some((r) => r.broken.length > 0) ? 1 : 0;
}

/** The Markdown table the README's Reliability section shows. */
export function formatTable(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const v = r.verdict;
    const sent = v.sent;
    const refused = v.outage.ingest.unavailable;
    const retryAfter = [...new Set([...v.outage.ingest.retryAfter, ...v.outage.pull.retryAfter, ...v.outage.ack.retryAfter])].join("/") || "-";
    const api503 = v.outage.pull.unavailable + v.outage.ack.unavailable;
    const noAnswer = v.outage.ingest.noAnswer + v.outage.pull.noAnswer + v.outage.ack.noAnswer;
    return `| ${r.name} | ${sent} | ${v.accepted} | ${refused} | ${api503} | ${retryAfter} | ${noAnswer} | ${v.acceptedNotStored} | ${v.refusedButStored} | ${v.unread} | ${v.redeliveredAfterAck} | ${v.badAnswers.length} | ${r.latency.p99} | ${notesOf(r)} | ${r.broken.length === 0 ? "kept" : "**broken**"} |`;
  });
  return [
    "| scenario | sent | 202 | ingest 503 | API 503 | Retry-After | no answer | 2xx not stored | 503 but stored | unread | redelivered after ack | other 5xx | p99 202 ms | notes | promises |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function notesOf(r: ScenarioResult): string {
  return Object.entries(r.notes)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join("; ")
    .replaceAll("|", "/");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
  process.exit();
}
