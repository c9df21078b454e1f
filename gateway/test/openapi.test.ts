/**
 * The API contract: /openapi.json describes what the gateway really answers (errors included),
 * /docs renders it without reaching the internet, and CORS headers appear only for listed origins.
 */
import { createLogger, MAX_API_BODY_BYTES } from "@wb/authz";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRoutes, Contract, documentedRoutes, postGithub, startTestBroker, stubApp, stubDocument, type OpenApiDocument, type TestBroker } from "@wb/test-support";
import { startGateway, type RunningGateway } from "../src/gateway.js";

let broker: TestBroker;
let contract: Contract;
beforeAll(async () => {
  broker = await startTestBroker();
  const res = await fetch(`${broker.url}/openapi.json`);
  contract = new Contract((await res.json()) as OpenApiDocument);
});
afterAll(() => broker?.close());

const bearer = (token: string, body?: unknown) => ({
  headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
  ...(body !== undefined && { body: JSON.stringify(body) }),
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document: bearer security on /api/v1 only, one error schema", () => {
    const doc = contract.doc;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components?.schemas?.Error).toMatchObject({ required: ["error"] });
    expect(doc.paths["/api/v1/endpoints"]?.get?.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/api/v1/endpoints"]?.post?.responses["401"]).toBeDefined();
    expect(doc.paths["/healthz"]?.get?.security).toBeUndefined();
  });
});

describe("the document lists exactly the routes the app serves", () => {
  it("every route the app serves is documented (webhook ingest, sign-in and docs included), and nothing else", () => {
    const served = appRoutes();
    const documented = documentedRoutes(stubDocument());
    expect(served.filter((r) => !documented.includes(r)), "served but not in /openapi.json: declare them with declare()").toEqual([]);
    expect(documented.filter((r) => !served.includes(r)), "documented but not served").toEqual([]);
    expect(served).toEqual(expect.arrayContaining(["POST /webhook/{path}", "GET /openapi.json", "GET /api/v1/me", "DELETE /api/v1/orgs/{name}/members/{user}"]));
  });

  it("notices a route added without a declaration", () => {
    const app = stubApp();
    app.get("/api/v1/undeclared", (c) => c.json({}));
    const documented = documentedRoutes(stubDocument());
    expect(appRoutes(app).filter((r) => !documented.includes(r))).toEqual(["GET /api/v1/undeclared"]);
  });
});

describe("real responses validate against the document", () => {
  it("successes and errors alike (200, 201, 204, 400, 401, 403, 404, 413)", async () => {
    const owner = await broker.user();
    const stranger = await broker.user();
    const seen: { route: string; status: number; problems: string[] }[] = [];
    const call = async (path: string, init: RequestInit & { method?: string } = {}) => {
      const url = path.startsWith("/api") ? `${broker.url}${path}` : path.startsWith("http") ? path : `${broker.url}${path}`;
      const res = await contract.fetch(url, init);
      seen.push({ route: `${init.method ?? "GET"} ${path}`, status: res.status, problems: res.problems });
      return res;
    };

    await call("/healthz");
    await call("/readyz");
    await call("/readyz?for=ingest");
    await call("/readyz?for=everything");
    await call("/openapi.json");
    await call("/docs");
    await call("/docs/swagger-ui-bundle.js");
    await call("/docs/nothing.js");

    await call("/api/v1/me");
    await call("/api/v1/me", bearer("wbt_unknown"));
    await call("/api/v1/me", bearer(owner.token));

    const created = await call("/api/v1/endpoints", { method: "POST", ...bearer(owner.token, { path: `contract/${owner.name}`, provider: "github", description: "d" }) });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await call("/api/v1/endpoints", { method: "POST", ...bearer(owner.token, { path: "", provider: "github" }) });
    await call("/api/v1/endpoints", { method: "POST", ...bearer(owner.token, { path: `contract/${owner.name}`, provider: "github" }) });
    await call("/api/v1/endpoints", { method: "POST", ...bearer(owner.token, { path: `contract/${owner.name}/x`, provider: "github", owner: { user: stranger.name } }) });
    await call("/api/v1/endpoints", { method: "POST", headers: { ...bearer(owner.token).headers, "content-type": "application/json" }, body: "x".repeat(MAX_API_BODY_BYTES + 1) });
    await call("/api/v1/endpoints", bearer(owner.token));
    await call(`/api/v1/endpoints/${id}`, bearer(owner.token));
    await call(`/api/v1/endpoints/${id}`, bearer(stranger.token));
    await call(`/api/v1/endpoints/${id}`, { method: "PATCH", ...bearer(owner.token, { description: null, max_body_bytes: 4096 }) });
    await call(`/api/v1/endpoints/${id}`, { method: "PATCH", ...bearer(owner.token, { path: "elsewhere" }) });
    await call(`/api/v1/endpoints/${id}/rotate-secret`, { method: "POST", ...bearer(owner.token, { previous_valid_for: "1h" }) });
    await call(`/api/v1/endpoints/${id}/rotate-secret`, { method: "POST", ...bearer(owner.token, { previous_valid_for: "forever" }) });

    const token = await call("/api/v1/tokens", { method: "POST", ...bearer(owner.token, { name: "contract", expires_in: "1d" }) });
    await call("/api/v1/tokens", { method: "POST", ...bearer(owner.token, { name: "" }) });
    await call("/api/v1/tokens", bearer(owner.token));
    await call(`/api/v1/tokens/${token.body.id}`, { method: "DELETE", ...bearer(owner.token) });
    await call(`/api/v1/tokens/${token.body.id}`, { method: "DELETE", ...bearer(stranger.token) });

    await call("/api/v1/dead-letters", bearer(owner.token));
    await call("/api/v1/dead-letters?limit=0", bearer(owner.token));
    await call("/api/v1/audit", bearer(owner.token));
    await call("/api/v1/audit?limit=many", bearer(owner.token));
    const admin = await broker.user({ admin: true });
    await call("/api/v1/audit?limit=5", bearer(admin.token));

    await call(`/api/v1/endpoints/${id}`, { method: "DELETE", ...bearer(stranger.token) });
    await call(`/api/v1/endpoints/${id}`, { method: "DELETE", ...bearer(owner.token) });

    expect(seen.filter((s) => s.problems.length)).toEqual([]);
    // The test itself: it did reach every kind of answer it claims to check.
    expect(new Set(seen.map((s) => s.status))).toEqual(new Set([200, 201, 204, 400, 401, 403, 404, 409, 413]));
  });

  it("ingest, messages and sign-in: successes and errors alike (200, 202, 204, 400, 401, 404)", async () => {
    const owner = await broker.user();
    const problems: string[] = [];
    const statuses = new Set<number>();
    const record = async (method: string, path: string, res: Response) => {
      const text = await res.text();
      const contentType = res.headers.get("content-type");
      const body = text && contentType?.includes("json") ? JSON.parse(text) : text || undefined;
      problems.push(...contract.check(method, path, { status: res.status, contentType, body }));
      statuses.add(res.status);
      return body;
    };
    const call = async (path: string, init: RequestInit = {}) => record(init.method ?? "GET", path, await fetch(`${broker.url}${path}`, init));

    const ep = await broker.endpoint({ userId: owner.id });
    await record("POST", `/webhook/${ep.path}`, await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, deliveryId: "d-1" }));
    await record("POST", `/webhook/${ep.path}`, await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, deliveryId: "d-1" }));
    await record("POST", `/webhook/${ep.path}`, await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: "wrong-secret-value" }));
    await record("POST", "/webhook/no/such/endpoint", await postGithub(`${broker.url}/webhook/no/such/endpoint`, { secret: ep.secret }));
    await record("POST", `/webhook/${ep.path}`, await postGithub(`${broker.url}/webhook/${ep.path}`, { secret: ep.secret, body: "not json, stored as base64" }));

    const page = await call("/api/v1/messages?limit=10&wait=1s", bearer(owner.token));
    expect(page.messages.map((m: { payload_encoding: string }) => m.payload_encoding).sort()).toEqual(["base64", "json"]);
    await call("/api/v1/messages?limit=0", bearer(owner.token));
    await call("/api/v1/messages?consumer=nobody", bearer(owner.token));
    await call(`/api/v1/messages?after_id=0`, bearer(owner.token));
    await call("/api/v1/messages/in_progress", { method: "POST", ...bearer(owner.token, { ack_tokens: [page.messages[0].ack_token] }) });
    await call("/api/v1/messages/nak", { method: "POST", ...bearer(owner.token, { message_ids: [page.messages[1].id], delay: "1s" }) });
    await call("/api/v1/messages/nak", { method: "POST", ...bearer(owner.token, { message_ids: [page.messages[1].id], delay: "2 days" }) });
    await call("/api/v1/messages/ack", { method: "POST", ...bearer(owner.token, { message_ids: page.messages.map((m: { id: number }) => m.id) }) });
    await call("/api/v1/messages/term", { method: "POST", ...bearer(owner.token, { message_ids: [] }) });

    await call("/.well-known/jwks.json");
    await call("/auth/refresh", { method: "POST" });
    await call("/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh_token: "unknown" }) });
    await call("/auth/logout", { method: "POST" });
    const session = await broker.signIn(owner.id);
    await call("/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh_token: session.refresh_token }) });
    await call("/api/v1/sessions", bearer(session.access_token));
    await call("/auth/logout", { method: "POST", headers: { authorization: `Bearer ${session.access_token}` } });
    await call("/auth/github/login", { redirect: "manual" });
    await call("/auth/github/device", { method: "POST" });

    expect(problems).toEqual([]);
    expect(statuses).toEqual(new Set([200, 202, 204, 400, 401, 404]));
  });

  it("the checker itself refuses what the document does not say", () => {
    expect(contract.check("GET", "/api/v1/me", { status: 200, contentType: "application/json", body: { user: { id: 1 } } })).not.toEqual([]);
    expect(contract.check("GET", "/api/v1/me", { status: 418, contentType: "application/json", body: {} })).not.toEqual([]);
    expect(contract.check("GET", "/api/v1/nowhere", { status: 404, contentType: "application/json", body: {} })).not.toEqual([]);
    expect(
      contract.check("GET", "/api/v1/me", { status: 401, contentType: "application/json", body: { error: { code: "no_such_code", message: "m", request_id: "r" } } }),
    ).not.toEqual([]);
  });
});

describe("GET /docs", () => {
  it("renders the document with scripts served by the gateway itself (no CDN)", async () => {
    const page = await fetch(`${broker.url}/docs`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(src, "loaded from the gateway").toMatch(/^\/docs\//);
      const res = await fetch(`${broker.url}${src}`);
      expect(res.status, src).toBe(200);
      expect((await res.arrayBuffer()).byteLength, src).toBeGreaterThan(0);
    }
    expect(await (await fetch(`${broker.url}/docs/init.js`)).text()).toContain('"/openapi.json"');
  });
});

describe("CORS", () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/api/v1/me`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });

  it("without CORS_ORIGINS: no CORS headers at all, preflight or not", async () => {
    const user = await broker.user();
    const res = await fetch(`${broker.url}/api/v1/me`, { headers: { origin: "https://app.example.com", authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((h) => h.startsWith("access-control-"))).toEqual([]);
    const pre = await preflight(broker.url, "https://app.example.com");
    expect([...pre.headers.keys()].filter((h) => h.startsWith("access-control-"))).toEqual([]);
  });

  describe("with CORS_ORIGINS", () => {
    let gateway: RunningGateway;
    beforeAll(async () => {
      gateway = await startGateway({ ...broker.config, CORS_ORIGINS: ["https://app.example.com", "http://localhost:3000"] }, createLogger("gateway", { level: "silent" }));
    });
    afterAll(() => gateway?.close());

    it("a listed origin is allowed (preflight without a token, then the call); an unlisted one gets no CORS headers", async () => {
      const user = await broker.user();
      const pre = await preflight(gateway.url, "https://app.example.com");
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
      expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");

      const res = await fetch(`${gateway.url}/api/v1/me`, { headers: { origin: "http://localhost:3000", authorization: `Bearer ${user.token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");

      const other = await fetch(`${gateway.url}/api/v1/me`, { headers: { origin: "https://evil.example", authorization: `Bearer ${user.token}` } });
      expect(other.status).toBe(200);
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      expect((await preflight(gateway.url, "https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    });
  });
});
