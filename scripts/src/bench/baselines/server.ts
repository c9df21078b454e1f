/**
 * The baselines, each run as its own child process (like the gateway) so its CPU and memory
 * are its own: `node --import tsx scripts/src/bench/baselines/server.ts <kind>`, configured
 * by environment, prints `listening <port>` when ready. Kinds:
 * - node-http: bare node:http: read the body, check the HMAC, answer 202;
 * - hono: the same on Hono + @hono/node-server;
 * - jetstream-publish: hono + publish the body (with a dedupe id) to JetStream, await the PubAck;
 * - postgres-insert: hono + one INSERT per webhook into the seed-style `webhooks` table.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import pg from "pg";
import { verifyGithubSignature } from "./verify.js";

const kind = process.argv[2];
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const secret = env("BENCH_SECRET");
const accepted = JSON.stringify({ accepted: true });

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function announce(port: number): void {
  process.stdout.write(`listening ${port}\n`);
}

/** A Hono app whose POST /webhook/* verifies and then calls `store`. */
function honoApp(store?: (body: Uint8Array, headers: Headers, path: string) => Promise<void>): Hono {
  const app = new Hono();
  app.post("/webhook/*", async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (!verifyGithubSignature(secret, body, c.req.header("x-hub-signature-256"))) return c.json({ error: "bad signature" }, 401);
    if (store) await store(body, c.req.raw.headers, c.req.path);
    return c.body(accepted, 202, { "Content-Type": "application/json" });
  });
  return app;
}

function serveHono(app: Hono): void {
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => {
    announce((server.address() as AddressInfo).port);
  });
}

if (kind === "node-http") {
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.method !== "POST" || !verifyGithubSignature(secret, body, req.headers["x-hub-signature-256"] as string | undefined)) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(202, { "Content-Type": "application/json" }).end(accepted);
  });
  server.listen(0, "127.0.0.1", () => announce((server.address() as AddressInfo).port));
} else if (kind === "hono") {
  serveHono(honoApp());
} else if (kind === "jetstream-publish") {
  const nc = await connect({ servers: env("NATS_URL"), user: env("NATS_USER"), pass: env("NATS_PASSWORD") });
  const js = jetstream(nc);
  const subjectPrefix = env("BENCH_SUBJECT_PREFIX");
  serveHono(
    honoApp(async (body, headers) => {
      // The least a durable, idempotent ingest can do: the body, the sender's delivery id as
      // the dedupe id, one PubAck awaited (file storage, fsync before the ack).
      const h = natsHeaders();
      h.set("X-GitHub-Event", headers.get("x-github-event") ?? "");
      await js.publish(`${subjectPrefix}.push`, body, { headers: h, msgID: headers.get("x-github-delivery") ?? undefined });
    }),
  );
} else if (kind === "postgres-insert") {
  const pool = new pg.Pool({ connectionString: env("DATABASE_URL"), max: Number(process.env.BENCH_PG_POOL ?? 10) });
  const sql =
    "INSERT INTO webhooks (webhook_path, event, delivery_id, headers, payload) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb) ON CONFLICT (delivery_id) DO NOTHING";
  serveHono(
    honoApp(async (body, headers, path) => {
      const stored: Record<string, string> = {};
      headers.forEach((v, k) => {
        if (k !== "authorization" && k !== "cookie") stored[k] = v;
      });
      await pool.query(sql, [
        path.replace(/^\/webhook\//, ""),
        headers.get("x-github-event") ?? "",
        headers.get("x-github-delivery") ?? "",
        JSON.stringify(stored),
        Buffer.from(body).toString("utf8"),
      ]);
    }),
  );
} else {
  console.error(`unknown baseline ${kind}`);
  process.exit(2);
}

process.once("SIGTERM", () => process.exit(0));
