import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { BrokerError } from "@wb/authz";
import type { AppEnv } from "../env.js";
import type { GitHubLogin, SignedIn } from "../github/login.js";
import { clientAddress } from "../middleware/client-address/index.js";
import { parseJson } from "../validate.js";
import { setRefreshCookie, type RefreshCookies } from "./auth.js";

export interface GitHubAuthDeps {
  /** Undefined when GitHub is not configured: every route then answers 404 github_not_configured. */
  login?: GitHubLogin;
  cookies: RefreshCookies;
}

/** Holds the sealed state + PKCE verifier between /login and /callback. */
const STATE_COOKIE = "wb_github_login";

const pollBody = z.strictObject({ device_code: z.string().min(1).max(2048) });

/**
 * Sign in with GitHub. Web: `GET /auth/github/login` → GitHub → `GET /auth/github/callback`,
 * which answers the broker's tokens as JSON to API clients, and to a browser (Accept: text/html)
 * a page without them; both get the refresh token as an HttpOnly cookie for `POST /auth/refresh`.
 * Terminals: `POST /auth/github/device`, then `POST /auth/github/device/token` every `interval`
 * seconds until it answers the tokens.
 */
export function githubAuthRoutes(deps: GitHubAuthDeps) {
  const app = new Hono<AppEnv>();
  const need = (): GitHubLogin => {
    if (!deps.login) throw new BrokerError("github_not_configured", "sign-in with GitHub is not configured on this broker (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, PUBLIC_URL)");
    return deps.login;
  };

  app.get("/login", (c) => {
    const login = need();
    const { location, sealedState } = login.begin();
    // Lax: the cookie must come back on GitHub's top-level redirect to the callback.
    setCookie(c, STATE_COOKIE, sealedState, { path: "/auth/github", httpOnly: true, sameSite: "Lax", secure: deps.cookies.secure, maxAge: 600 });
    c.header("Cache-Control", "no-store");
    return c.redirect(location, 302);
  });

  app.get("/callback", async (c) => {
    const login = need();
    const signedIn = await login.complete(c.req.query(), getCookie(c, STATE_COOKIE), clientAddress(c));
    deleteCookie(c, STATE_COOKIE, { path: "/auth/github" });
    setRefreshCookie(c, signedIn.tokens.refresh_token, deps.cookies);
    c.header("Cache-Control", "no-store");
    if ((c.req.header("accept") ?? "").includes("text/html")) {
      return c.html(`<!doctype html><meta charset="utf-8"><title>Signed in</title><p>Signed in to webhook-broker as <b>${escapeHtml(signedIn.user.name)}</b>. You can close this window.</p>`);
    }
    return c.json(view(signedIn), signedIn.created ? 201 : 200);
  });

  app.post("/device", async (c) => {
    const started = await need().startDevice();
    c.header("Cache-Control", "no-store");
    return c.json(started);
  });

  app.post("/device/token", async (c) => {
    const login = need();
    const body = await parseJson(c, pollBody);
    const result = await login.pollDevice(body.device_code, clientAddress(c));
    c.header("Cache-Control", "no-store");
    if ("status" in result) return c.json(result, 202);
    return c.json(view(result), result.created ? 201 : 200);
  });

  app.all("*", (c) => {
    need();
    throw new BrokerError("not_found", `no route for ${c.req.method} ${c.req.path}`);
  });

  return app;
}

function view(s: SignedIn) {
  return { user: { id: s.user.id, name: s.user.name, github_login: s.user.githubLogin, created: s.created }, ...s.tokens };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
