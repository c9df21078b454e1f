/**
 * One log format for every process of the broker (the gateway, the auth callout and `pnpm start`
 * itself): pino, one line per event with `time` (ISO 8601), `level` (a name), `component`, `msg`,
 * `reqId` on request lines, and the event's own fields. JSON when stdout is not a terminal (log
 * collectors, containers), a short readable line when it is; LOG_FORMAT overrides the guess.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import { z } from "zod";
import { errorForLog } from "./log-safety.js";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** LOG_LEVEL and LOG_FORMAT as every process's config schema reads them. */
export const logEnvSchema = z.object({
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  LOG_FORMAT: z.enum(LOG_FORMATS, { message: `LOG_FORMAT must be one of ${LOG_FORMATS.join(", ")}` }).default("auto"),
});
export type LogEnv = z.infer<typeof logEnvSchema>;

/**
 * Backstop, not the policy: handlers never log headers, bodies or credentials in the first place.
 * Any of these keys, at the top of a line or one level down, is written as "[redacted]".
 */
export const REDACTED_KEYS = [
  "authorization",
  "cookie",
  "token",
  "accessToken",
  "refreshToken",
  "access_token",
  "refresh_token",
  "secret",
  "password",
  "seed",
  "tokenHash",
] as const;
const redactPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  ...REDACTED_KEYS.flatMap((k) => [k, `*.${k}`]),
];

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stdout when absent. A given destination always receives JSON. */
  destination?: DestinationStream;
}

/**
 * The root logger of a process (no component: use `log.child({ component })`, or
 * createLogger). pino writes to stdout synchronously, so nothing is lost on exit.
 */
export function createRootLogger(o: LoggerOptions = {}): Logger {
  const options = {
    level: o.level ?? "info",
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: redactPaths, censor: "[redacted]" },
    serializers: { err: errorForLog },
  };
  if (o.destination) return pino(options, o.destination);
  const pretty = o.format === "pretty" || (o.format !== "json" && process.stdout.isTTY === true);
  return pino(options, pretty ? prettyStdout() : pino.destination({ dest: 1, sync: true }));
}

/** A logger for one component of a process: `createLogger("gateway", { level })`. */
export function createLogger(component: string, o: LoggerOptions = {}): Logger {
  return createRootLogger(o).child({ component });
}

function prettyStdout(): DestinationStream {
  const colors = process.stdout.hasColors?.() ?? false;
  return {
    write(line: string) {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line);
      } catch {
        return void process.stdout.write(line);
      }
      process.stdout.write(`${formatLogLine(obj, colors)}\n`);
    },
  };
}

const LEVEL_COLORS: Record<string, number> = { fatal: 35, error: 31, warn: 33, info: 32, debug: 36, trace: 90 };

/**
 * One JSON log line as a person reads it in a terminal:
 * `22:01:33.012 INFO  gateway  gateway listening port=8080`, with an error's stack below it.
 */
export function formatLogLine(obj: Record<string, unknown>, colors = false): string {
  const { time, level, component, msg, err, ...rest } = obj;
  const clock = typeof time === "string" ? time.slice(11, 23) : new Date().toISOString().slice(11, 23);
  const name = String(level ?? "").toUpperCase().padEnd(5);
  const paint = (code: number | undefined, s: string) => (colors && code ? `\x1b[${code}m${s}\x1b[0m` : s);
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  let out = [clock, paint(LEVEL_COLORS[String(level)], name), component ? paint(90, String(component)) : undefined, msg, ...fields]
    .filter((p) => p !== undefined && p !== "")
    .join(" ");
  if (err && typeof err === "object") {
    const e = err as { type?: string; message?: string; stack?: string };
    out += `\n    ${e.stack ? e.stack.replace(/\n/g, "\n    ") : `${e.type ?? "Error"}: ${e.message ?? ""}`}`;
  } else if (err !== undefined) {
    out += ` err=${JSON.stringify(err)}`;
  }
  return out;
}
