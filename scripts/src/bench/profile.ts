/**
 * Summarizes a V8 .cpuprofile (written by `node --cpu-prof`): where the gateway's CPU went,
 * by function (self and inclusive time) and by file, with the repository's own code marked.
 */
import { readFile } from "node:fs/promises";
import { formatTable } from "./report.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  key: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  /** Busy time: everything sampled except (idle). */
  totalMs: number;
  idleMs: number;
  functions: ProfileEntry[];
  files: ProfileEntry[];
}

function shortUrl(url: string): string {
  if (!url) return "(native)";
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    return path.slice(nm + 14).replace(/^\.pnpm\/[^/]+\/node_modules\//, "");
  }
  const repo = /\/(gateway|authz|scripts)\/src\/.*/.exec(path);
  return repo ? repo[0].slice(1) : path;
}

/** Self and inclusive time per function and per file (recursion counted once). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    for (let i = 0; i < profile.samples.length; i++) {
      const id = profile.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
    }
  }
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fnKey = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const fileKey = (n: ProfileNode) => shortUrl(n.callFrame.url);

  const fnSelf = new Map<string, number>();
  const fnTotal = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const fileTotal = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    if (node.callFrame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    fnSelf.set(fnKey(node), (fnSelf.get(fnKey(node)) ?? 0) + us);
    fileSelf.set(fileKey(node), (fileSelf.get(fileKey(node)) ?? 0) + us);
    // Inclusive: add to every distinct ancestor key once.
    const seenFn = new Set<string>();
    const seenFile = new Set<string>();
    for (let cur: ProfileNode | undefined = node; cur; cur = byId.get(parent.get(cur.id) ?? -1)) {
      const k = fnKey(cur);
      if (!seenFn.has(k)) {
        seenFn.add(k);
        fnTotal.set(k, (fnTotal.get(k) ?? 0) + us);
      }
      const f = fileKey(cur);
      if (!seenFile.has(f)) {
        seenFile.add(f);
        fileTotal.set(f, (fileTotal.get(f) ?? 0) + us);
      }
    }
  }
  const entries = (self: Map<string, number>, tot: Map<string, number>) =>
    [...tot.keys()].map((key) => ({ key, selfMs: (self.get(key) ?? 0) / 1000, totalMs: (tot.get(key) ?? 0) / 1000 }));
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    functions: entries(fnSelf, fnTotal),
    files: entries(fileSelf, fileTotal),
  };
}

/** A text report: top functions by self time, the repository's functions by inclusive time, files by self time. */
export function formatProfileSummary(s: ProfileSummary, top = 20): string {
  const busy = s.totalMs;
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1)}%`;
  const ours = (k: string) => /(^| )(gateway|authz)\/src\//.test(k);
  const bySelf = [...s.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  const oursByTotal = [...s.functions].filter((e) => ours(e.key)).sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
  const files = [...s.files].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  return [
    `profile: ${((s.totalMs + s.idleMs) / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (percentages are of busy time)`,
    "",
    "top functions by self time:",
    formatTable(["function", "self", "self %"], bySelf.map((e) => [e.key, `${e.selfMs.toFixed(0)} ms`, pct(e.selfMs)])),
    "",
    "gateway/src and authz/src functions by inclusive time:",
    formatTable(["function", "total", "total %", "self"], oursByTotal.map((e) => [e.key, `${e.totalMs.toFixed(0)} ms`, pct(e.totalMs), `${e.selfMs.toFixed(0)} ms`])),
    "",
    "files by self time:",
    formatTable(["file", "self", "self %", "inclusive %"], files.map((e) => [e.key, `${e.selfMs.toFixed(0)} ms`, pct(e.selfMs), pct(e.totalMs)])),
  ].join("\n");
}

export async function readProfile(path: string): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(path, "utf8")) as CpuProfile);
}

// `tsx scripts/src/bench/profile.ts <file.cpuprofile>` prints the summary of one profile.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"))) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: tsx scripts/src/bench/profile.ts <file.cpuprofile> [top]");
    process.exit(2);
  }
  console.log(formatProfileSummary(await readProfile(file), Number(process.argv[3] ?? 20)));
}
