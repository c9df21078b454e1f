import { createRoute, z } from "@hono/zod-openapi";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { BrokerError } from "@wb/authz";
import { declare, errors, json, jsonBody, router } from "../openapi.js";
import type { GitHubLogin, SignedIn } from "../github/login.js";
import { clientAddress } from "../middleware/client-address/index.js";
import { parseJson } from "../validate.js";
import { setRefreshCookie, Tokens, type RefreshCookies } from "./auth.js";
import { newSessionKey, setUiCookies } from "../ui/session.js";

export interface GitHubAuthDeps {
  /** Undefined when GitHub is not configured: every route then answers 404 github_not_configured. */
  login?: GitHubLogin;
  cookies: RefreshCookies;
}

/** Holds the sealed state + PKCE verifier between /login and /callback. */
const STATE_COOKIE = "wb_github_login";

const pollBody = z.strictObject({ device_code: z.string().min(1).max(2048) });

const SignedInSchema = Tokens.extend({
  user: z.object({ id: z.string(), name: z.string(), github_login: z.string().nullable(), created: z.boolean().openapi({ description: "First sign-in: the user was created" }) }),
});
const tags = ["sign-in"];

/**
 * Sign in with GitHub. Web: `GET /auth/github/login` → GitHub → `GET /auth/github/callback`,
 * which answers the broker's tokens as JSON to API clients, and to a browser (Accept: text/html)
 * a page without them; both get the refresh token as an HttpOnly cookie for `POST /auth/refresh`.
 * Terminals: `POST /auth/github/device`, then `POST /auth/github/device/token` every `interval`
 * seconds until it answers the tokens.
 */
export function githubAuthRoutes(deps: GitHubAuthDeps) {
  const app = router();
  const need = (): GitHubLogin => {
    if (!deps.login) throw new BrokerError("github_not_configured", "sign-in with GitHub is not configured on this broker (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, PUBLIC_URL)");
    return deps.login;
  };

  const loginRoute = createRoute({
    method: "get",
    path: "/login",
    tags,
    summary: "Start signing in with GitHub in a browser (redirects to GitHub)",
    request: { query: z.object({ to: z.enum(["api", "ui"]).optional().openapi({ description: "ui: come back signed in to the web inspector at /ui" }) }) },
    responses: { 302: { description: "To GitHub's authorization page" }, ...errors(404) },
  });
  declare(app, loginRoute, (c) => {
    const login = need();
    const { location, sealedState } = login.begin(Date.now(), c.req.valid("query").to);
    // Lax: the cookie must come back on GitHub's top-level redirect to the callback.
    setCookie(c, STATE_COOKIE, sealedState, { path: "/auth/github", httpOnly: true, sameSite: "Lax", secure: deps.cookies.secure, maxAge: 600 });
    c.header("Cache-Control", "no-store");
    return c.redirect(location, 302);
  });

  const callback = createRoute({
    method: "get",
    path: "/callback",
    tags,
    summary: "Where GitHub sends the browser back; answers the broker's tokens (a page without them to a browser)",
    request: { query: z.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional() }).passthrough() },
    responses: {
      200: { description: "Signed in", content: { "application/json": { schema: SignedInSchema }, "text/html": { schema: z.string() } } },
      201: { description: "Signed in for the first time (the user was created)", content: { "application/json": { schema: SignedInSchema }, "text/html": { schema: z.string() } } },
      303: { description: "A sign-in to the web inspector (to=ui) that failed: back to /ui/login?failed=<error code>" },
      ...errors(400, 403, 404, 502, 503),
    },
  });
  declare(app, callback, async (c) => {
    const login = need();
    const sealed = getCookie(c, STATE_COOKIE);
    c.header("Cache-Control", "no-store");
    if (login.returnTo(sealed) === "ui") {
      // The inspector: its cookies get the tokens (never the page or a URL); a refusal goes back
      // to its sign-in page as a known code.
      let tokens;
      try {
        tokens = (await login.complete(c.req.query(), sealed, clientAddress(c))).tokens;
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        deleteCookie(c, STATE_COOKIE, { path: "/auth/github" });
        return c.redirect(`/ui/login?failed=${encodeURIComponent(err.code)}`, 303);
      }
      deleteCookie(c, STATE_COOKIE, { path: "/auth/github" });
      setUiCookies(c, tokens.access_token, { key: newSessionKey(), refresh: tokens.refresh_token }, { secure: deps.cookies.secure });
      // A page, not a redirect: after GitHub's cross-site redirect a browser would not send the
      // SameSite=Strict cookie on the next hop; a navigation from this page is same-site.
      return c.html(
        `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/ui/endpoints"><title>Signed in</title><p>Signed in. <a href="/ui/endpoints">Continue to the inspector</a>.</p>`,
      );
    }
    const signedIn = await login.complete(c.req.query(), sealed, clientAddress(c));
    deleteCookie(c, STATE_COOKIE, { path: "/auth/github" });
    setRefreshCookie(c, signedIn.tokens.refresh_token, deps.cookies);
    if ((c.req.header("accept") ?? "").includes("text/html")) {
      return c.html(`<!doctype html><meta charset="utf-8"><title>Signed in</title><p>Signed in to webhook-broker as <b>${escapeHtml(signedIn.user.name)}</b>. You can close this window.</p>`);
    }
    return c.json(view(signedIn), signedIn.created ? 201 : 200);
  });

  const device = createRoute({
    method: "post",
    path: "/device",
    tags,
    summary: "Start GitHub's device flow (for terminals)",
    responses: {
      200: json(z.object({ device_code: z.string(), user_code: z.string(), verification_uri: z.string(), expires_in: z.number().int(), interval: z.number().int() }), "Show user_code and verification_uri; then poll /auth/github/device/token"),
      ...errors(404, 502, 503),
    },
  });
  declare(app, device, async (c) => {
    const started = await need().startDevice();
    c.header("Cache-Control", "no-store");
    return c.json(started);
  });

  const deviceToken = createRoute({
    method: "post",
    path: "/device/token",
    tags,
    summary: "Poll the device flow: pending (202) or signed in",
    request: { body: jsonBody(pollBody) },
    responses: {
      200: json(SignedInSchema, "Signed in"),
      201: json(SignedInSchema, "Signed in for the first time (the user was created)"),
      202: json(z.object({ status: z.enum(["authorization_pending", "slow_down"]), interval: z.number().int().optional() }), "Not yet: poll again after interval seconds"),
      ...errors(400, 403, 404, 502, 503),
    },
  });
  declare(app, deviceToken, async (c) => {
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
