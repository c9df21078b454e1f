import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { BrokerError, createLogger } from "@wb/authz";
import { errorHandler } from "../errors.js";
import { accessLog } from "./access-log.js";
import { requestId } from "./request-id.js";

function appWithLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("gateway", { level: "debug", destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
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
    expect(line).toMatchObject({ level: "info", component: "gateway", method: "GET", path: "/api/v1/secret", status: 401, reqId: res.headers.get("x-request-id") });
    expect(Date.parse(line.time as string)).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toMatch(/header-secret|query-secret/);
  });

  it("logs accepted webhooks at debug only", async () => {
    const { app, lines } = appWithLog();
    expect((await app.request("/webhook/x", { method: "POST", body: "{}" })).status).toBe(202);
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ level: "debug", status: 202 });
  });
});

describe("requestId", () => {
  it("echoes a caller's X-Request-Id into the response, the error body and the log line", async () => {
    const { app, lines } = appWithLog();
    const res = await app.request("/api/v1/secret", { headers: { "x-request-id": "lb-7f3a.42_x" } });
    expect(res.headers.get("x-request-id")).toBe("lb-7f3a.42_x");
    expect((await res.json()).error.request_id).toBe("lb-7f3a.42_x");
    expect(lines.find((l) => l.msg === "request")?.reqId).toBe("lb-7f3a.42_x");
  });

  it("replaces an id that is too long or carries other characters (log injection) with its own", async () => {
    const { app, lines } = appWithLog();
    for (const bad of ["x".repeat(129), "a b", 'a"} {"level":"fatal', "ü"]) {
      const res = await app.request("/api/v1/secret", { headers: { "x-request-id": bad } });
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(lines.at(-1)?.reqId).toBe(id);
    }
    expect((await app.request("/api/v1/secret")).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
