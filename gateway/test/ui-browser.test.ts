/**
 * The web inspector in a real browser: Debian's Chromium driven by playwright-core (Playwright's
 * own browser download is not reachable from these machines; .ci/run installs Chromium). No
 * skip: without a browser this test fails. Set UPDATE_SCREENSHOTS=1 to rewrite the README's
 * screenshots (docs/screenshots/) from this run.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker, callApi } from "@wb/test-support";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const SHOTS = join(import.meta.dirname, "../../docs/screenshots");

let broker: TestBroker;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await broker?.close();
});

async function signedIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1180, height: 760 }, colorScheme: "light" });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${broker.url}/ui`);
  await expect.poll(() => new URL(page.url()).pathname).toBe("/ui/login");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/ui\/endpoints$/);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== "1") return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe("the web inspector in Chromium", () => {
  it("signs in with a token, tails a signed delivery live, opens and acks it; another user cannot see it", async () => {
    const owner = await broker.user();
    const stranger = await broker.user();
    const ep = await broker.endpoint({ userId: owner.id }, { path: `u/${owner.name}/github/demo` });

    // A wrong token is refused on the sign-in form.
    const anon = await browser.newContext();
    contexts.push(anon);
    const login = await anon.newPage();
    await login.goto(`${broker.url}/ui/login`);
    // No GitHub configured on this broker: no GitHub button (ui-github.test.ts has one).
    expect(await login.getByRole("link", { name: "Sign in with GitHub" }).count()).toBe(0);
    await login.getByLabel("API token").fill("whb_not-a-token");
    await login.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => login.getByRole("alert").textContent()).toContain("not accepted");

    const page = await signedIn(owner.token);
    const section = page.locator("section", { has: page.getByRole("heading", { name: ep.path, exact: true }) });
    await expect.poll(() => section.locator("code").first().textContent()).toBe(`${broker.url}/webhook/${ep.path}`);
    const curl = (await section.locator("pre").textContent())!;
    await shot(page, "endpoints");

    // The live tail: connected before anything is sent; the page is never reloaded.
    await page.getByRole("link", { name: "Live tail" }).click();
    await expect.poll(() => page.locator("#tail-status").textContent(), { timeout: 10_000 }).toContain("Live");
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    // The endpoint page's own snippet signs and sends it.
    const { stdout } = await promisify(execFile)("bash", ["-c", curl], { env: { ...process.env, WB_SECRET: ep.secret } });
    const id = (JSON.parse(stdout) as { id: number }).id;
    const row = page.locator(`#tail-rows tr[data-id="${id}"]`);
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.textContent()).toContain("verified");
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shot(page, "live-tail");

    // The message: headers, pretty payload, raw bytes, verification, delivery count; then ack.
    await row.getByRole("link").click();
    await page.waitForURL(new RegExp(`/ui/messages/${id}\\?`));
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(`Message #${id}`);
    const body = (await page.locator("main").textContent())!;
    expect(body).toContain("verified (github signature)");
    expect(body).toContain("x-github-event");
    expect(await page.getByLabel("Payload").textContent()).toBe(JSON.stringify({ test: true, sent_by: "webhook-broker inspector" }, null, 2));
    // The delivery count comes from the API (GET /api/v1/messages/:id?consumer=): a reload shows it too.
    expect(body).toMatch(/Delivery count\s*1: delivered to consumer default, awaiting its ack/);
    await page.reload();
    expect(await page.locator("main").textContent()).toMatch(/Delivery count\s*1: delivered to consumer default, awaiting its ack/);
    // The exact bytes the signature covers (GET /api/v1/messages/:id/raw).
    expect(await page.getByLabel("Raw bytes").textContent()).toBe('{"test":true,"sent_by":"webhook-broker inspector"}');
    await shot(page, "message");
    await page.getByRole("button", { name: "Ack" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("Acknowledged");
    const consumer = await callApi(broker.url, owner.token, "GET", "/consumers/default");
    expect(consumer.body).toMatchObject({ ack_pending: 0, delivered_id: id });
    expect(await page.locator("main").textContent()).toMatch(/Delivery count\s*acknowledged by consumer default/);

    // Another user: the same page is a 404, like a message that does not exist; the owner's is a 200.
    const other = await signedIn(stranger.token);
    const denied = await other.goto(`${broker.url}/ui/messages/${id}`);
    expect(denied?.status()).toBe(404);
    expect(await other.locator("main").textContent()).toContain(`message ${id} not found`);
    expect((await page.goto(`${broker.url}/ui/messages/${id}`))?.status()).toBe(200);

    // Forms need the page's CSRF token and this origin: the owner's own cookie alone is not enough.
    const forged = await page.context().request.post(`${broker.url}/ui/messages/${id}/settle`, { form: { kind: "term", consumer: "default" } });
    expect(forged.status()).toBe(403);
    const csrf = await page.locator('input[name="csrf"]').first().getAttribute("value");
    const crossSite = await page
      .context()
      .request.post(`${broker.url}/ui/messages/${id}/settle`, { form: { kind: "term", consumer: "default", csrf: csrf! }, headers: { origin: "https://evil.example" } });
    expect(crossSite.status()).toBe(403);
  });

  it("dead letters: redrive from the page, once; the copy opens, linked to the original, for its owner only; consumers show their lag", async () => {
    const owner = await broker.user();
    const stranger = await broker.user();
    const ep = await broker.endpoint({ userId: owner.id });
    const page = await signedIn(owner.token);
    const curl = (await page.locator("section", { has: page.getByRole("heading", { name: ep.path, exact: true }) }).locator("pre").textContent())!;
    const { stdout } = await promisify(execFile)("bash", ["-c", curl], { env: { ...process.env, WB_SECRET: ep.secret } });
    const id = (JSON.parse(stdout) as { id: number }).id;
    // Delivered, then terminated from the message page: a dead letter.
    expect((await callApi(broker.url, owner.token, "GET", "/messages?wait=2s")).body.messages.map((m: { id: number }) => m.id)).toEqual([id]);
    await page.goto(`${broker.url}/ui/messages/${id}?consumer=default`);
    await page.getByRole("button", { name: "Term (give up)" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("Terminated");

    await page.getByRole("link", { name: "Dead letters" }).click();
    const redrive = page.getByRole("button", { name: `Redrive message ${id} on default` });
    await expect
      .poll(
        async () => {
          if ((await redrive.count()) === 0) await page.reload();
          return redrive.count();
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    await shot(page, "dead-letters");
    await redrive.click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("Redriven");
    expect(await page.locator("main").textContent()).toContain(`by ${owner.name} as #`);
    expect(await redrive.count()).toBe(0);

    // The copy: a new message, opened from the dead letter's row, linked back to the original.
    const copyLink = page.getByRole("row", { name: new RegExp(`^#${id} `) }).getByRole("link", { name: /^#\d+$/ }).last();
    const copy = Number((await copyLink.textContent())!.slice(1));
    expect(copy).toBeGreaterThan(id);
    await copyLink.click();
    await page.waitForURL(new RegExp(`/ui/messages/${copy}\\?`));
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(`Message #${copy}`);
    expect(await page.locator("main").textContent()).toMatch(/Delivery count\s*0: not delivered to consumer default yet/);
    await shot(page, "redriven-copy");
    await page.getByRole("link", { name: `#${id}`, exact: true }).click();
    await page.waitForURL(new RegExp(`/ui/messages/${id}\\?`));
    expect(await page.locator("main").textContent()).toMatch(/Delivery count\s*1: a dead letter of consumer default \(terminated\)/);
    expect(await page.getByRole("link", { name: `#${copy}`, exact: true }).count()).toBe(1);
    // Another user: the copy is a 404 for him; its owner's is a 200.
    const other = await signedIn(stranger.token);
    expect((await other.goto(`${broker.url}/ui/messages/${copy}`))?.status()).toBe(404);
    expect((await page.goto(`${broker.url}/ui/messages/${copy}`))?.status()).toBe(200);

    await page.getByRole("link", { name: "Consumers" }).click();
    const def = page.getByRole("row", { name: /^default/ });
    // The redriven copy waits on the default consumer: one pending.
    expect(await def.getByRole("cell").nth(1).textContent()).toBe("1");
    await shot(page, "consumers");
  });
});
