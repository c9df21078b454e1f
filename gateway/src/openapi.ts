import { createRoute, OpenAPIHono, z, type RouteConfig } from "@hono/zod-openapi";
import type { Handler } from "hono";
import { BrokerError, ERROR_STATUS, type ErrorCode } from "@wb/authz";
import type { AppEnv } from "./env.js";

/**
 * The API contract: routes are declared with `createRoute` (their request and response schemas)
 * so `/openapi.json` is generated from the code that serves them, never written by hand.
 */

/** zod issues as the one human message of a 400 (`where: reason; ...`), the same for bodies, queries and paths. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], where: string): string {
  return issues.map((i) => `${i.path.join(".") || where}: ${i.message}`).join("; ");
}

/** What @hono/zod-openapi calls when a declared query or path parameter does not parse: our 400, not its raw zod error. */
export function validationHook(result: { success: boolean; error?: { issues: readonly z.core.$ZodIssue[] }; target: string }): void {
  if (!result.success) throw new BrokerError("invalid_request", describeIssues(result.error?.issues ?? [], result.target));
}

/** A sub-app whose routes end up in the OpenAPI document once mounted with `app.route()`. */
export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

const CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** Every failure, as errors.ts renders it. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(CODES).openapi({ description: "Machine-readable; the status says the class, the code says which failure." }),
      message: z.string().openapi({ description: "For people: what went wrong and, where it helps, what to do." }),
      request_id: z.string().openapi({ description: "Also in the X-Request-Id response header and the gateway's log." }),
    }),
  })
  .openapi("Error");

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request",
  401: "Unauthenticated",
  403: "Forbidden",
  404: "Not found (or not visible to the caller)",
  409: "Conflict",
  413: "Payload too large",
  414: "Path too long",
  415: "Unsupported media type",
  429: "Rate limited (see Retry-After)",
  500: "Internal error",
  502: "Upstream error",
  503: "Unavailable (see Retry-After)",
};

/** Error responses for the given statuses, each listing the codes that status carries. */
export function errors(...statuses: number[]): NonNullable<RouteConfig["responses"]> {
  const out: NonNullable<RouteConfig["responses"]> = {};
  for (const status of statuses) {
    const codes = CODES.filter((code) => ERROR_STATUS[code] === status);
    out[status] = {
      description: `${STATUS_TEXT[status] ?? "Error"}${codes.length ? ` (${codes.join(", ")})` : ""}`,
      content: { "application/json": { schema: ErrorSchema } },
    };
  }
  return out;
}

/** A JSON response. */
export function json(schema: z.ZodType, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body. */
export function jsonBody(schema: z.ZodType, description?: string) {
  return { required: true, description, content: { "application/json": { schema } } };
}

/** An ISO 8601 instant as the API renders it (`Date.toISOString()`). */
export const instant = z.string().openapi({ format: "date-time" });

type Nothing = Record<never, never>;
type Validated<R extends RouteConfig> = {
  in: Nothing;
  out: {
    query: R["request"] extends { query: infer Q extends z.ZodType } ? z.output<Q> : Nothing;
    param: R["request"] extends { params: infer P extends z.ZodType } ? z.output<P> : Nothing;
  };
};

/**
 * Declares `route` in the document and mounts `handler` for it. Query and path parameters are
 * validated before the handler (a failure is our 400 `invalid_request`, see validationHook); a
 * declared JSON body is documented but parsed by the handler with `parseJson`, so that access is
 * decided before the body is looked at (a caller who may not see a resource gets its 404, not a
 * 400 that tells it exists).
 */
export function declare<R extends RouteConfig>(app: OpenAPIHono<AppEnv>, route: R, handler: Handler<AppEnv, string, Validated<R>>): void {
  app.openAPIRegistry.registerPath(route);
  const { body: _parsedByTheHandler, ...validated } = route.request ?? {};
  app.openapi({ ...route, request: validated, hide: true } as RouteConfig, handler as never);
}

type RouteParameters = NonNullable<NonNullable<RouteConfig["request"]>["params"]>;

/** A route as `routes()` declares it: createRoute's config less the tags, with the request's parts at the top. */
export interface RouteSpec {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  summary: string;
  description?: string;
  params?: RouteParameters;
  query?: RouteParameters;
  /** The JSON request body: documented as required, parsed by the handler with parseJson (see declare). */
  body?: z.ZodType;
  /** The success answer(s): `{ 201: json(Schema, "Created") }`, `{ 204: { description: "Deleted" } }`. */
  responses: NonNullable<RouteConfig["responses"]>;
  /** The error statuses it answers (see errors()). */
  errors?: number[];
}

type SpecValidated<S> = {
  in: Nothing;
  out: {
    query: S extends { query: infer Q extends z.ZodType } ? z.output<Q> : Nothing;
    param: S extends { params: infer P extends z.ZodType } ? z.output<P> : Nothing;
  };
};

/**
 * declare() for the routes of one sub-app, its tags filled in: each route is one call that says
 * its method, path, summary, request parts, success answers and error statuses, then its handler.
 *
 *     const route = routes(app, ["tokens"]);
 *     route({ method: "delete", path: "/{id}", summary: "Revoke a token", params: z.object({ id: z.string() }),
 *             responses: { 204: { description: "Revoked" } }, errors: [404] },
 *       async (c) => { await revoke(c.req.valid("param").id); return c.body(null, 204); });
 */
export function routes(app: OpenAPIHono<AppEnv>, tags: string[]) {
  return function route<const S extends RouteSpec>(spec: S, handler: Handler<AppEnv, string, SpecValidated<S>>): void {
    const { method, path, params, query, body, responses, errors: statuses = [], ...texts } = spec;
    const request = { ...(params && { params }), ...(query && { query }), ...(body && { body: jsonBody(body) }) };
    const config = createRoute({ method, path, tags, ...texts, ...(Object.keys(request).length > 0 && { request }), responses: { ...responses, ...errors(...statuses) } });
    declare(app, config, handler as never);
  };
}

/**
 * Puts the routes of a plain Hono sub-app of pages for people (not an API: HTML, forms,
 * redirects) into the document, one generic entry per route with the content types it answers,
 * so that the document still lists every route the app serves.
 */
export function documentPages(
  app: OpenAPIHono<AppEnv>,
  prefix: string,
  pages: { routes: { method: string; path: string }[] },
  info: { tags: string[]; summary: string; description: string; content: string[] },
): void {
  const seen = new Set<string>();
  for (const r of pages.routes) {
    if (r.method === "ALL") continue;
    const path = (prefix + (r.path === "/" ? "" : r.path)).replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const key = `${r.method} ${path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    app.openAPIRegistry.registerPath({
      method: r.method.toLowerCase() as "get",
      path,
      tags: info.tags,
      summary: info.summary,
      description: info.description,
      ...(names.length && { request: { params: z.object(Object.fromEntries(names.map((n) => [n, z.string()]))) } }),
      responses: {
        default: { description: "A page, a redirect, or an asset", content: Object.fromEntries(info.content.map((t) => [t, { schema: z.string() }])) },
      },
    });
  }
}
