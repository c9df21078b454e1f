import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.js";
import { BrokerError } from "@wb/authz";
import { declare, errors, ErrorSchema, json, router } from "../openapi.js";

export const API_TITLE = "webhook-broker";
export const API_VERSION = "1";

/** The whole app's OpenAPI 3.1 document: every declared route, the bearer scheme on /api/v1. */
export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description: "Receives webhooks, stores them in NATS JetStream, and lets their owners read them. Errors are always `{\"error\": {\"code\", \"message\", \"request_id\"}}`.",
    },
  });
  // What the /api/v1 sub-app's middleware does for every route under it (app.ts): bearer
  // authentication, the cap on bodies, and a database that may be unreachable.
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!path.startsWith(API_PREFIX)) continue;
    for (const [method, op] of Object.entries(item as Record<string, { security?: unknown; responses?: Record<string, unknown> }>)) {
      if (!HTTP_METHODS.has(method)) continue;
      op.security = [{ bearer: [] }];
      op.responses = { ...apiErrors(["post", "put", "patch"].includes(method)), ...op.responses };
    }
  }
  return doc;
}

export const API_PREFIX = "/api/v1/";
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
const errorRef = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
function apiErrors(hasBody: boolean) {
  return {
    401: errorRef("Unauthenticated (unauthenticated): no bearer token, or one that is unknown, expired or revoked"),
    ...(hasBody && { 413: errorRef("Payload too large (payload_too_large): API bodies are capped") }),
    500: errorRef("Internal error (internal)"),
    503: errorRef("Unavailable (unavailable): the database is unreachable; see Retry-After"),
  };
}

/** Where the image's build puts Swagger UI's files, relative to the bundle's directory's parent (dist/). */
export const SWAGGER_UI_DIR = "swagger-ui";
export const SWAGGER_FILES = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
} as const;

/**
 * Swagger UI's own files, from the swagger-ui-dist package: the docs work without reaching any
 * CDN. The image's bundle has no node_modules: scripts/src/build-image.ts copies them beside it.
 */
function swaggerFile(name: keyof typeof SWAGGER_FILES): Buffer {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  } catch {
    dir = fileURLToPath(new URL(`../${SWAGGER_UI_DIR}/`, import.meta.url));
  }
  return readFileSync(join(dir, name));
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${API_TITLE} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script: the page works under a Content-Security-Policy without 'unsafe-inline'.
const INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: false });\n`;

/**
 * `/openapi.json` (generated from the declared routes of `app`) and `/docs`, a Swagger UI page
 * over it. Neither needs a token: the contract is no secret, the data behind it is.
 */
export function docsRoutes(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API token, or an access token from /auth/refresh after signing in with GitHub.",
  });
  app.openAPIRegistry.register("Error", ErrorSchema);
  const docs = router();
  const files = new Map<string, Buffer>();
  let document: unknown;

  declare(
    docs,
    createRoute({
      method: "get",
      path: "/openapi.json",
      tags: ["docs"],
      summary: "This document (OpenAPI 3.1)",
      responses: { 200: json(z.object({ openapi: z.string(), info: z.object({}).passthrough(), paths: z.object({}).passthrough() }).passthrough(), "The OpenAPI document") },
    }),
    (c) => {
      // Generated once, on first request: every route is mounted by then.
      document ??= openApiDocument(app);
      return c.json(document as object);
    },
  );

  declare(
    docs,
    createRoute({
      method: "get",
      path: "/docs",
      tags: ["docs"],
      summary: "Rendered API documentation (Swagger UI, served locally)",
      responses: { 200: { description: "An HTML page", content: { "text/html": { schema: z.string() } } } },
    }),
    (c) => c.html(PAGE),
  );

  declare(
    docs,
    createRoute({
      method: "get",
      path: "/docs/{file}",
      tags: ["docs"],
      summary: "The documentation page's script and stylesheet",
      request: { params: z.object({ file: z.string().openapi({ example: "swagger-ui-bundle.js" }) }) },
      responses: {
        200: { description: "The file", content: { "text/javascript": { schema: z.string() }, "text/css": { schema: z.string() } } },
        ...errors(404),
      },
    }),
    (c) => {
      const name = c.req.valid("param").file;
      if (name === "init.js") return c.body(INIT, 200, { "Content-Type": "text/javascript; charset=utf-8" });
      if (!Object.hasOwn(SWAGGER_FILES, name)) throw new BrokerError("not_found", `no file ${name} in the documentation page`);
      const file = name as keyof typeof SWAGGER_FILES;
      let body = files.get(file);
      if (!body) {
        body = swaggerFile(file);
        files.set(file, body);
      }
      return c.body(new Uint8Array(body), 200, { "Content-Type": SWAGGER_FILES[file], "Cache-Control": "public, max-age=86400" });
    },
  );
  return docs;
}
