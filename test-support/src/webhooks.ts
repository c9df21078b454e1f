import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";
import { jetstreamManager } from "@nats-io/jetstream";
import { expect } from "vitest";
import type { TestBroker } from "./broker.js";

// Node's own require for the examples' 4 MB JSON: through vite's import it was transformed into
// a module in every test file that uses test-support, at 1-3 s each on this machine.
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: unknown[] }[];

/** A real GitHub `push` payload from @octokit/webhooks-examples (~7 KB). */
export const pushPayload: string = JSON.stringify(examples.find((e) => e.name === "push")!.examples[0]);

/** Posts a delivery signed by GitHub's own library (the independent oracle). */
export async function postGithub(
  url: string,
  opts: { secret: string; body?: string; event?: string; deliveryId?: string; signature?: string | null; headers?: Record<string, string> },
): Promise<Response> {
  const body = opts.body ?? pushPayload;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": opts.event ?? "push",
    "x-github-delivery": opts.deliveryId ?? randomUUID(),
    ...opts.headers,
  };
  const signature = opts.signature === undefined ? await sign(opts.secret, body) : opts.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  return fetch(url, { method: "POST", headers, body });
}

/** How many messages the broker's stream holds, read with the admin NATS user. */
export async function streamCount(broker: TestBroker): Promise<number> {
  const jsm = await jetstreamManager(await broker.admin());
  return (await jsm.streams.info(broker.config.STREAM_NAME)).state.messages;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Posts a signed GitHub delivery to endpoint `ep` of the broker at `url`; returns the stored id (202 asserted). */
export async function deliverGithub(url: string, ep: { path: string; secret: string }, opts: { event?: string; body?: string } = {}): Promise<number> {
  const res = await postGithub(`${url}/webhook/${ep.path}`, { secret: ep.secret, ...opts });
  expect(res.status).toBe(202);
  return (await res.json()).id;
}

/** The message ids of a pull page, in order. */
export const messageIds = (body: any): number[] => body.messages.map((m: any) => m.id);

export async function pull(url: string, token: string, query = "wait=1s"): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/v1/messages?${query}`, { headers: bearer(token) });
  return { status: res.status, body: await res.json() };
}

export async function ack(url: string, token: string, ids: unknown[], extra: Record<string, unknown> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/v1/messages/ack`, {
    method: "POST",
    headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify({ message_ids: ids, ...extra }),
  });
  return { status: res.status, body: await res.json() };
}

/** One call to the API as `token`; the body is parsed when there is one. */
export async function callApi(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: { ...bearer(token), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * Waits until the consumer holds nothing for its reader: every delivery settled (so none can
 * come back after the ack wait) and nothing new pending. Instead of sleeping past the ack wait
 * and pulling nothing, which costs the ack wait plus a pull's minimum wait.
 */
export async function expectAllAcked(url: string, token: string, consumer = "default"): Promise<void> {
  await expect
    .poll(
      async () => {
        const { body } = await callApi(url, token, "GET", `/consumers/${consumer}`);
        return { ack_pending: body.ack_pending, pending: body.pending };
      },
      { timeout: 5_000, interval: 25 },
    )
    .toEqual({ ack_pending: 0, pending: 0 });
}
