/**
 * The inspector's "signed test delivery" snippets, one per provider the endpoints page offers:
 * each is read from the page (as a user copies it) and run with sh against a real broker; the
 * delivery must be stored (202) and, for every provider that signs, verified.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(() => broker?.close());

const run = promisify(execFile);
const fromHtml = (html: string) => html.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");

/** Signs in to /ui with an API token and answers each endpoint's snippet by its path. */
async function snippets(token: string): Promise<Map<string, string | undefined>> {
  const login = await fetch(`${broker.url}/ui/login`, { method: "POST", body: new URLSearchParams({ token }), redirect: "manual" });
  expect(login.status).toBe(303);
  const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;
  const page = await fetch(`${broker.url}/ui/endpoints`, { headers: { cookie } });
  expect(page.status).toBe(200);
  const html = await page.text();
  const out = new Map<string, string | undefined>();
  for (const section of html.split("<section aria-labelledby=").slice(1)) {
    const path = /<h2 id="ep-\d+">([^<]*)<\/h2>/.exec(section)![1]!;
    const pre = /<pre id="curl-\d+"[^>]*>([\s\S]*?)<\/pre>/.exec(section)?.[1];
    out.set(fromHtml(path), pre === undefined ? undefined : fromHtml(pre));
  }
  return out;
}

const PROVIDERS: [string, Record<string, unknown>?][] = [
  ["github"],
  ["gitlab"],
  ["jira"],
  ["bitbucket"],
  ["stripe"],
  ["slack"],
  ["shopify"],
  ["standard-webhooks"],
  ["hmac", { header: "x-signature" }],
  ["hmac", { header: "x-sig", algorithm: "sha512", encoding: "base64", prefix: "v1='$", timestamp_header: "x-ts", event_header: "x-event", delivery_header: "x-id" }],
  ["none"],
];

describe("signed test-delivery snippets of the endpoints page", () => {
  it("each provider's snippet, run with sh, is stored (202) and verified", async () => {
    const owner = await broker.user();
    const eps = [];
    for (const [provider, options] of PROVIDERS) eps.push({ provider, ...(await broker.endpoint({ userId: owner.id }, { provider, options })) });
    const shown = await snippets(owner.token);
    for (const ep of eps) {
      const curl = shown.get(ep.path);
      expect(curl, `${ep.provider}: a snippet on the page`).toBeDefined();
      const { stdout } = await run("sh", ["-c", curl!], { env: { PATH: process.env.PATH, WB_SECRET: ep.secret } });
      const answer = JSON.parse(stdout);
      expect(answer, `${ep.provider}: ${stdout}`).toMatchObject({ id: expect.any(Number) });
      const raw = await fetch(`${broker.url}/api/v1/messages/${answer.id}/raw`, { headers: bearer(owner.token) });
      expect(raw.status).toBe(200);
      expect({ provider: ep.provider, source: raw.headers.get("x-wb-source"), verified: raw.headers.get("x-wb-verified") }).toEqual({
        provider: ep.provider,
        source: ep.provider,
        verified: ep.provider === "none" ? "false" : "true",
      });
    }
  });

  it("a snippet run with another endpoint's secret is refused (signature_invalid), so the check above can fail", async () => {
    const owner = await broker.user();
    const a = await broker.endpoint({ userId: owner.id }, { provider: "standard-webhooks" });
    const b = await broker.endpoint({ userId: owner.id }, { provider: "standard-webhooks" });
    const curl = (await snippets(owner.token)).get(a.path)!;
    const { stdout } = await run("sh", ["-c", curl], { env: { PATH: process.env.PATH, WB_SECRET: b.secret } });
    expect(JSON.parse(stdout).error.code).toBe("signature_invalid");
  });
});
