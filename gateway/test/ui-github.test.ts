/**
 * Sign in with GitHub in the web inspector, in a real browser (Debian's Chromium through
 * playwright-core) against the fake GitHub: the button, the session working as a token does
 * (endpoints, a message, another user's 404), its refresh when the access token has expired
 * (once, even for requests sent together), sign-out ending the session, a declined authorization,
 * and no token in any URL the browser visits. UPDATE_SCREENSHOTS=1 rewrites the README's
 * screenshot of the sign-in page (docs/screenshots/sign-in.png).
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startFakeGitHub, startPgProxy, startTestBroker, type FakeGitHub, type TestBroker } from "@wb/test-support";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const SHOTS = join(import.meta.dirname, "../../docs/screenshots");

let github: FakeGitHub;
let broker: TestBroker;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  github = await startFakeGitHub();
  broker = await startTestBroker({}, { github });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await broker?.close();
  await github?.close();
});

let n = 0;
const me = async (token: string) => (await fetch(`${broker.url}/api/v1/me`, { headers: bearer(token) })).status;

/** A browser signed in to /ui with GitHub as a new GitHub user; every URL it requested is kept. */
async function signInWithGitHub(): Promise<{ page: Page; context: BrowserContext; urls: string[]; login: string }> {
  const gh = github.user(`ui${Date.now().toString(36)}${n++}`);
  github.signInBrowser(gh.login);
  const context = await browser.newContext({ viewport: { width: 1180, height: 760 } });
  contexts.push(context);
  const page = await context.newPage();
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await page.goto(`${broker.url}/ui`);
  await expect.poll(() => new URL(page.url()).pathname).toBe("/ui/login");
  if (process.env.UPDATE_SCREENSHOTS === "1" && n === 1) {
    await mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, "sign-in.png"), fullPage: true });
  }
  await page.getByRole("link", { name: "Sign in with GitHub" }).click();
  await page.waitForURL(/\/ui\/endpoints$/);
  expect(await page.locator("header").textContent()).toContain(`Signed in as ${gh.login.toLowerCase()}`);
  return { page, context, urls, login: gh.login };
}

const cookie = async (context: BrowserContext, name: string) => (await context.cookies([`${broker.url}/ui/`, `${broker.url}/auth/`])).find((c) => c.name === name);

describe("Sign in with GitHub in the inspector (Chromium)", () => {
  it("the session works as a token does; another GitHub user gets a 404 for the first one's message", async () => {
    const first = await signInWithGitHub();
    const access = (await cookie(first.context, "wb_ui"))!;
    const session = (await cookie(first.context, "wb_ui_session"))!;
    for (const c of [access, session]) expect(c).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/ui" });
    // No refresh cookie for /auth: the inspector's own cookie holds the refresh token.
    expect(await cookie(first.context, "wb_refresh")).toBeUndefined();
    expect(await me(access.value)).toBe(200);

    // His endpoint, his delivery (sent with the page's own snippet), his message page.
    const user = (await (await fetch(`${broker.url}/api/v1/me`, { headers: bearer(access.value) })).json()).user as { id: string };
    const ep = await broker.endpoint({ userId: user.id });
    await first.page.reload();
    const curl = (await first.page.locator("section", { has: first.page.getByRole("heading", { name: ep.path, exact: true }) }).locator("pre").textContent())!;
    const { stdout } = await promisify(execFile)("sh", ["-c", curl], { env: { PATH: process.env.PATH, WB_SECRET: ep.secret } });
    const id = (JSON.parse(stdout) as { id: number }).id;
    expect((await first.page.goto(`${broker.url}/ui/messages/${id}`))?.status()).toBe(200);
    expect(await first.page.locator("main").textContent()).toContain("verified (github signature)");

    const second = await signInWithGitHub();
    const denied = await second.page.goto(`${broker.url}/ui/messages/${id}`);
    expect(denied?.status()).toBe(404);
    expect(await second.page.locator("main").textContent()).toContain(`message ${id} not found`);
    expect((await first.page.goto(`${broker.url}/ui/messages/${id}`))?.status()).toBe(200);

    // Forms carry the session's CSRF token: the cookie alone is refused.
    const forged = await first.context.request.post(`${broker.url}/ui/messages/${id}/settle`, { form: { kind: "term", consumer: "default" } });
    expect(forged.status()).toBe(403);

    // Neither token ever appeared in a URL.
    for (const url of [...first.urls, ...second.urls]) {
      expect(url).not.toContain(access.value);
      expect(url).not.toContain(session.value.split(".")[1]);
      expect(url).not.toMatch(/whr_|eyJ/);
    }
  });

  it("an expired access token is refreshed once, even for requests sent together; the CSRF token stays valid", async () => {
    const { page, context } = await signInWithGitHub();
    const csrf = await page.locator('input[name="csrf"]').first().getAttribute("value");
    const before = (await cookie(context, "wb_ui_session"))!.value;
    // The access token as if it had expired: the API refuses it, the refresh token is still good.
    const stale = async () => context.addCookies([{ name: "wb_ui", value: "expired", domain: new URL(broker.url).hostname, path: "/ui", httpOnly: true, sameSite: "Strict" }]);
    await stale();
    // Not redirected to the sign-in page (maxRedirects 0: a 303 would show).
    const answers = await Promise.all(["endpoints", "consumers", "dead-letters"].map((p) => context.request.get(`${broker.url}/ui/${p}`, { maxRedirects: 0 })));
    expect(answers.map((a) => a.status())).toEqual([200, 200, 200]);
    const after = (await cookie(context, "wb_ui_session"))!.value;
    expect(after).not.toBe(before);
    // Same CSRF key: a form rendered before the refresh still goes through.
    expect(await page.locator('input[name="csrf"]').first().getAttribute("value")).toBe(csrf);
    await page.reload();
    expect(await page.locator('input[name="csrf"]').first().getAttribute("value")).toBe(csrf);
    // The session was not revoked by a reused refresh token: another expiry refreshes again.
    await stale();
    expect((await page.goto(`${broker.url}/ui/consumers`))?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe("/ui/consumers");
    expect(await me((await cookie(context, "wb_ui"))!.value)).toBe(200);

    // The live tail's stream (the API's own response, passed through) carries the new cookies too.
    const spent = (await cookie(context, "wb_ui_session"))!.value;
    const abort = new AbortController();
    const tail = await fetch(`${broker.url}/ui/stream`, { headers: { cookie: `wb_ui=expired; wb_ui_session=${spent}` }, signal: abort.signal });
    expect(tail.status).toBe(200);
    expect(tail.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const set = tail.headers.getSetCookie();
    abort.abort();
    expect(set.find((c) => c.startsWith("wb_ui=ey"))).toMatch(/HttpOnly/i);
    expect(set.find((c) => c.startsWith("wb_ui_session="))?.split(";")[0]).not.toBe(`wb_ui_session=${spent}`);
  });

  it("sign-out ends the session: its access token is refused and the inspector asks to sign in again", async () => {
    const { page, context } = await signInWithGitHub();
    const access = (await cookie(context, "wb_ui"))!.value;
    expect(await me(access)).toBe(200);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/ui\/login$/);
    expect(await me(access)).toBe(401);
    expect(await cookie(context, "wb_ui")).toBeUndefined();
    expect(await cookie(context, "wb_ui_session")).toBeUndefined();
    await page.goto(`${broker.url}/ui/endpoints`);
    expect(new URL(page.url()).pathname).toBe("/ui/login");
  });

  it("a declined authorization comes back to the sign-in page with a message, signed out", async () => {
    const gh = github.user(`no${Date.now().toString(36)}${n++}`);
    github.signInBrowser(gh.login);
    github.denyNextAuthorization();
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${broker.url}/ui/login`);
    await page.getByRole("link", { name: "Sign in with GitHub" }).click();
    await page.waitForURL(/\/ui\/login\?failed=github_access_denied$/);
    expect(await page.getByRole("alert").textContent()).toContain("You declined the authorization on GitHub.");
    expect(await cookie(context, "wb_ui")).toBeUndefined();
  });
  it("an expired session during a database outage is not signed out: 503, cookies kept; once back, refreshed", async () => {
    const proxy = await startPgProxy(broker.config.DATABASE_URL);
    const gateway = await broker.anotherGateway({ DATABASE_URL: proxy.url, PORT: "0" });
    try {
      const u = await broker.user();
      // A session whose refresh token is good, beside an access cookie the API refuses (401) even
      // while the database is down, so the inspector turns to the refresh, which needs the database.
      const s = await broker.signIn(u.id, { now: Date.now() - Number(broker.config.ACCESS_TOKEN_TTL) - 60_000 });
      expect(await me(s.access_token)).toBe(401);
      const cookies = `wb_ui=expired; wb_ui_session=${"k".repeat(32)}.${s.refresh_token}`;
      proxy.setMode("down");
      const down = await fetch(`${gateway.url}/ui/endpoints`, { headers: { cookie: cookies }, redirect: "manual" });
      expect(down.status).toBe(503);
      expect(down.headers.getSetCookie()).toEqual([]);
      proxy.setMode("up");
      const up = await fetch(`${gateway.url}/ui/endpoints`, { headers: { cookie: cookies }, redirect: "manual" });
      expect(up.status).toBe(200);
      expect(up.headers.getSetCookie().find((c) => c.startsWith("wb_ui_session="))?.split(";")[0]).not.toBe(`wb_ui_session=${"k".repeat(32)}.${s.refresh_token}`);
    } finally {
      proxy.setMode("up");
      await gateway.close();
      await proxy.close();
    }
  });
});
