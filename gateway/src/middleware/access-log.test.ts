import { Hono } from "hono";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { BrokerError } from "@wb/authz";
import { errorHandler } from "../errors.js";
import { accessLog } from "./access-log.js";
import { requestId } from "./request-id.js";

function appWithLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const app = new Hono();
  app.use(requestId());
  app.use(accessLog(log));
  app.onError(errorHandler(log));
  app.get("/api/v1/secret", () => {
    throw new BrokerError("unauthenticated", "no");
  });
  app.post("/webhook/x", (c) => c.json({ id: 1 }, 202));
  return { app, lines };
}

describe("accessLog", () => {
  it("logs failures at info with status and request id, and never headers or query", async () => {
    const { app, lines } = appWithLog();
    const res = await app.request("/api/v1/secret?token=query-secret", { headers: { authorization: "Bearer whb_header-secret" } });
    expect(res.status).toBe(401);
    const line = lines.find((l) => l.msg === "request")!;
    expect(line).toMatchObject({ level: 30, method: "GET", path: "/api/v1/secret", status: 401, request_id: res.headers.get("x-request-id") });
    expect(JSON.stringify(lines)).not.toMatch(/header-secret|query-secret/);
  });

  it("logs accepted webhooks at debug only", async () => {
    const { app, lines } = appWithLog();
    expect((await app.request("/webhook/x", { method: "POST", body: "{}" })).status).toBe(202);
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ level: 20, status: 202 });
  });
});
