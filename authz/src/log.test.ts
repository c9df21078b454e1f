import { describe, expect, it } from "vitest";
import { createLogger, formatLogLine, logEnvSchema } from "./log.js";

function capture(level: "info" | "debug" = "info") {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("gateway", { level, destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { log, lines };
}

describe("createLogger", () => {
  it("writes time, level name, component and msg on every line", () => {
    const { log, lines } = capture();
    log.info({ reqId: "r1", port: 8080 }, "gateway listening");
    expect(lines).toEqual([{ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: "info", component: "gateway", reqId: "r1", port: 8080, msg: "gateway listening" }]);
  });

  it("redacts credentials at the top of a line and one level down; other fields stay", () => {
    const { log, lines } = capture();
    log.warn({ token: "whb_top", authorization: "Bearer whb_auth", req: { headers: { authorization: "Bearer whb_hdr", host: "h" } }, user: { password: "pw", refreshToken: "rt", name: "alice" } }, "x");
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/whb_top|whb_auth|whb_hdr|"pw"|"rt"/);
    expect(lines[0]).toMatchObject({ token: "[redacted]", req: { headers: { host: "h" } }, user: { name: "alice", password: "[redacted]" } });
  });

  it("logs an error without the query parameters drizzle puts in its message", () => {
    const { log, lines } = capture();
    const err = Object.assign(new Error("Failed query: select 1 where h = $1\nparams: deadbeef"), { params: ["deadbeef"] });
    log.error({ err }, "failed");
    expect(JSON.stringify(lines)).not.toContain("deadbeef");
    expect(lines[0]!.err).toMatchObject({ type: "Error", message: "Failed query: select 1 where h = $1\nparams: [not logged]" });
  });
});

describe("logEnvSchema", () => {
  it("defaults to info/auto and names a bad value", () => {
    expect(logEnvSchema.parse({})).toEqual({ LOG_LEVEL: "info", LOG_FORMAT: "auto" });
    const bad = logEnvSchema.safeParse({ LOG_LEVEL: "loud" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ["LOG_LEVEL"], message: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent" });
  });
});

describe("formatLogLine (terminal)", () => {
  it("time of day, level, component, message, then the other fields", () => {
    expect(formatLogLine({ time: "2026-11-30T22:01:33.012Z", level: "info", component: "gateway", msg: "gateway listening", port: 8080, path: "/a b" })).toBe(
      '22:01:33.012 INFO  gateway gateway listening port=8080 path="/a b"',
    );
  });

  it("puts an error's stack under the line, indented", () => {
    const line = formatLogLine({ time: "2026-11-30T22:01:33.012Z", level: "error", component: "callout", msg: "failed", err: { type: "Error", message: "boom", stack: "Error: boom\n    at x" } });
    expect(line).toBe("22:01:33.012 ERROR callout failed\n    Error: boom\n        at x");
  });
});
