import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createLogger } from "@wb/authz";
import { errorHandler } from "../../errors.js";
import { admit, rateLimit, TokenBuckets } from "./index.js";

describe("TokenBuckets", () => {
  it("admits a burst, then refills at the rate", () => {
    const b = new TokenBuckets({ rate: 2, perMs: 1000, burst: 3 });
    expect([0, 1, 2].map(() => b.take("k", 0))).toEqual([0, 0, 0]);
    expect(b.take("k", 0)).toBe(1);
    expect(b.take("k", 499)).toBe(1);
    expect(b.take("k", 500)).toBe(0);
    expect(b.take("other", 500)).toBe(0);
  });

  it("says how long until the next token, in whole seconds", () => {
    const b = new TokenBuckets({ rate: 1, perMs: 60_000, burst: 1 });
    expect(b.take("k", 0)).toBe(0);
    expect(b.take("k", 0)).toBe(60);
    expect(b.take("k", 30_000)).toBe(30);
  });

  it("keeps at most maxKeys buckets, dropping the least recently used", () => {
    const b = new TokenBuckets({ rate: 1, perMs: 1000, burst: 1 }, 2);
    b.take("a", 0);
    b.take("b", 0);
    b.take("a", 0); // a used last; b is dropped next
    b.take("c", 0);
    expect(b.size).toBe(2);
    expect(b.take("b", 0)).toBe(0); // b started again full
  });

  it("admit throws rate_limited with retryAfterSeconds", () => {
    const b = new TokenBuckets({ rate: 1, perMs: 1000, burst: 1 });
    admit(b, "k", "endpoint", 0);
    expect(() => admit(b, "k", "endpoint", 0)).toThrow(expect.objectContaining({ code: "rate_limited", status: 429, details: { retryAfterSeconds: 1 } }));
    expect(() => admit(undefined, "k", "endpoint", 0)).not.toThrow();
  });
});

describe("rateLimit middleware", () => {
  it("answers 429 with Retry-After per key, and is off with a null limit", async () => {
    let t = 0;
    const app = new Hono();
    app.onError(errorHandler(createLogger("gateway", { level: "silent" })));
    app.use("/on/*", rateLimit({ limit: { rate: 1, perMs: 1000, burst: 2 }, key: (c) => c.req.header("x-key") ?? "", now: () => t }));
    app.use("/off/*", rateLimit({ limit: null }));
    app.get("*", (c) => c.text("ok"));
    const get = (path: string, key = "a") => app.request(path, { headers: { "x-key": key } });
    expect((await get("/on/x")).status).toBe(200);
    expect((await get("/on/x")).status).toBe(200);
    const limited = await get("/on/x");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect((await limited.json()).error.code).toBe("rate_limited");
    expect((await get("/on/x", "b")).status).toBe(200);
    t = 1000;
    expect((await get("/on/x")).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await get("/off/x")).status).toBe(200);
  });
});
