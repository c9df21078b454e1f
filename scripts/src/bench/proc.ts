/** Reads CPU time and memory of processes from /proc (Linux only, as the bench machines are). */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

interface Stat {
  ppid: number;
  /** utime + stime of the process itself (all its threads). */
  own: number;
  /** cutime + cstime: children that exited and were reaped. */
  reaped: number;
}

/** Parses /proc/<pid>/stat; the command name may contain spaces and parentheses. */
export function parseStat(text: string): Stat {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const f = (n: number) => Number(rest[n - 3]);
  return { ppid: f(4), own: f(14) + f(15), reaped: f(16) + f(17) };
}

function readStat(pid: number): Stat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by `pid` and all its descendants (live ones, plus the reaped ones
 * the kernel has added to their parents), so a before/after difference covers PostgreSQL's
 * backends as well as the postmaster.
 */
export function treeCpuSeconds(pid: number): number {
  const stats = new Map<number, Stat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s) stats.set(Number(entry), s);
  }
  const root = stats.get(pid);
  if (!root) return Number.NaN;
  let ticks = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    const s = stats.get(p);
    if (!s) continue;
    ticks += s.own + s.reaped;
    for (const [child, cs] of stats) if (cs.ppid === p) stack.push(child);
  }
  return ticks / ticksPerSecond();
}

/** Resident set size of one process in MiB (NaN once it is gone). */
export function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Measures the CPU share of named process trees over a window: call `start()` before and
 * `stop()` after; returns % of one core for each (100 = one core busy the whole window).
 */
export function cpuMeter(pids: Record<string, number | undefined>) {
  const t0 = performance.now();
  const before = new Map<string, number>();
  for (const [name, pid] of Object.entries(pids)) if (pid) before.set(name, treeCpuSeconds(pid));
  const self0 = process.cpuUsage();
  return {
    stop(extraSeconds: Record<string, number> = {}): Record<string, number> {
      const seconds = (performance.now() - t0) / 1000;
      const out: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const b = before.get(name);
        if (pid && b !== undefined) out[name] = ((treeCpuSeconds(pid) - b) / seconds) * 100;
      }
      const self = process.cpuUsage(self0);
      out.bench = ((self.user + self.system) / 1e6 / seconds) * 100;
      for (const [name, s] of Object.entries(extraSeconds)) out[name] = (s / seconds) * 100;
      return out;
    },
  };
}
