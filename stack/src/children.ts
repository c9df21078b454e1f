import type { ChildProcess } from "node:child_process";

/**
 * Child servers that must not outlive this process. On a normal exit (or process.exit) they
 * are SIGKILLed synchronously. On SIGINT/SIGTERM/SIGHUP they are killed only when nobody else
 * handles the signal (we then re-raise it, so the default "terminate" still happens); a program
 * with its own handler is expected to stop them itself, e.g. after draining, and the exit
 * handler catches whatever it forgets. A SIGKILLed parent cannot clean up: startNats also
 * removes a stale server left in the same directory (see its pid file handling).
 */
const live = new Set<ChildProcess>();
let installed = false;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Registers a child to be killed when this process goes away; unregisters it when it exits. */
export function trackChild(child: ChildProcess): void {
  install();
  live.add(child);
  child.once("exit", () => live.delete(child));
}
