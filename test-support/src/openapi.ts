/**
 * The gateway's OpenAPI document as a contract: which route a request hits, and whether a real
 * response (status, content type, body) is one the document declares. Bodies are checked with
 * Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1), not by hand.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import * as ajvFormats from "ajv-formats";
import { createApp, openApiDocument } from "@wb/gateway";

// ajv-formats is CommonJS: under ESM its function arrives as `default` (or `default.default`).
type AddFormats = (ajv: Ajv2020) => unknown;
const addFormats = ((ajvFormats as unknown as { default: AddFormats & { default?: AddFormats } }).default.default ??
  (ajvFormats as unknown as { default: AddFormats }).default) as AddFormats;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
}

export interface OpenApiOperation {
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>;
  [key: string]: unknown;
}

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

/** Hono's routing path (`/a/:id`, `/webhook/*`) as an OpenAPI path (`/a/{id}`, `/webhook/{path}`). */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}").replace(/\/\*$/, "/{path}");
}

/** Every `METHOD /path` the document declares. */
export function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => METHODS.has(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/** Every `METHOD /path` the app serves (as OpenAPI paths); by default an app built on stubs: nothing is started. */
export function appRoutes(app: { routes: { method: string; path: string }[] } = stubApp()): string[] {
  // ALL: middleware and fallbacks (`app.use`, a 404 for anything else under a prefix), not routes.
  const routes = app.routes
    .filter((r) => r.method !== "ALL")
    .map((r) => `${r.method} ${openApiPath(r.path)}`);
  return [...new Set(routes)];
}

/** The OpenAPI document of an app built on stubs (what GET /openapi.json answers). */
export function stubDocument(): OpenApiDocument {
  return openApiDocument(stubApp()) as unknown as OpenApiDocument;
}

/** createApp() with every dependency a stub: enough to list its routes and generate its document. */
export function stubApp(config: Record<string, unknown> = {}) {
  const stub: any = new Proxy(() => stub, { get: (_t, k) => (k === "then" ? undefined : stub), apply: () => stub });
  return createApp({
    config: { STREAM_NAME: "STUB", CORS_ORIGINS: [], ...config },
    log: stub,
    database: { db: stub },
    box: stub,
    nc: stub,
    js: stub,
    jsm: stub,
    endpoints: stub,
    consumers: stub,
    ackTokens: stub,
    auth: stub,
  } as unknown as Parameters<typeof createApp>[0]);
}

/** Checks real responses against the document. */
export class Contract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new WeakMap<object, ValidateFunction>();
  private readonly templates: { method: string; path: string; re: RegExp; params: number }[];

  constructor(readonly doc: OpenApiDocument) {
    addFormats(this.ajv);
    // Component refs (`#/components/schemas/X`) point into the document: make them resolvable
    // from each response schema compiled on its own.
    this.ajv.addSchema({ $id: "components", $defs: doc.components?.schemas ?? {} });
    this.templates = documentedRoutes(doc)
      .map((r) => {
        const [method, path] = r.split(" ") as [string, string];
        const pattern = path
          .split("/")
          .map((seg) => (seg === "{path}" ? "(?:.+)" : /^\{.+\}$/.test(seg) ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
          .join("/");
        return { method, path, re: new RegExp(`^${pattern}$`), params: (path.match(/\{/g) ?? []).length };
      })
      // A literal segment wins over a parameter (`/docs/{file}` vs `/docs`, `/x/new` vs `/x/{id}`).
      .sort((a, b) => a.params - b.params);
  }

  /** The documented route a request goes to (`GET /api/v1/endpoints/{id}`), if any. */
  route(method: string, url: string): string | undefined {
    const path = new URL(url, "http://x").pathname;
    const t = this.templates.find((t) => t.method === method.toUpperCase() && t.re.test(path));
    return t && `${t.method} ${t.path}`;
  }

  /** What is wrong with this response for this request, per the document; empty when it conforms. */
  check(method: string, url: string, res: { status: number; contentType: string | null; body: unknown }): string[] {
    const route = this.route(method, url);
    if (!route) return [`${method} ${url}: no such route in the document`];
    const [m, path] = route.split(" ") as [string, string];
    const op = this.doc.paths[path]![m.toLowerCase()]!;
    const declared = op.responses[String(res.status)] ?? op.responses.default;
    const where = `${route} → ${res.status}`;
    if (!declared) return [`${where}: status not declared (declared: ${Object.keys(op.responses).join(", ")})`];
    if (!declared.content) return res.body === undefined || res.body === "" || res.body === null ? [] : [`${where}: a body where none is declared`];
    const essence = (res.contentType ?? "").split(";")[0]!.trim().toLowerCase();
    const media = declared.content[essence] ?? declared.content["*/*"];
    if (!media) return [`${where}: content type ${essence || "(none)"} not declared (declared: ${Object.keys(declared.content).join(", ")})`];
    // A wildcard media range (`*/*`: the sender's own bytes, e.g. ingest, raw) describes no JSON to check.
    if (!essence.endsWith("json") || media.schema === undefined || !declared.content[essence]) return [];
    const validate = this.validator(media.schema as object);
    return validate(res.body) ? [] : (validate.errors ?? []).map((e) => `${where}: body${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** fetch(), then check() the response; resolves to the response with its body read. */
  async fetch(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any; problems: string[] }> {
    const res = await fetch(url, init);
    const text = await res.text();
    const contentType = res.headers.get("content-type");
    let body: unknown = text;
    if (contentType?.includes("json") && text) body = JSON.parse(text);
    const problems = this.check(init.method ?? "GET", url, { status: res.status, contentType, body: text === "" ? undefined : body });
    return { status: res.status, headers: res.headers, body, problems };
  }

  private validator(schema: object): ValidateFunction {
    let v = this.compiled.get(schema);
    if (!v) {
      v = this.ajv.compile(retarget(schema) as object);
      this.compiled.set(schema, v);
    }
    return v;
  }
}

function retarget(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(retarget);
  if (schema && typeof schema === "object") {
    return Object.fromEntries(
      Object.entries(schema).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? v.replace("#/components/schemas/", "components#/$defs/") : retarget(v)]),
    );
  }
  return schema;
}
