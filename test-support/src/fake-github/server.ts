/**
 * A fake GitHub for tests: a real HTTP server (Hono on node:http) that implements what the broker
 * calls, with GitHub's shapes and GitHub's error answers, and knobs to change the world (users,
 * organizations, memberships, repositories, who is signed in at GitHub in "the browser") and to
 * break it (down, rate-limited, revoked tokens).
 *
 * Web side (GITHUB_URL = `url`): `GET /login/oauth/authorize`, `POST /login/oauth/access_token`
 * (authorization code with PKCE, device code, refresh token), `POST /login/device/code`.
 * API side (GITHUB_API_URL = `apiUrl`, GitHub Enterprise's `/api/v3` layout): `GET /user`,
 * `GET /user/memberships/orgs` (paginated with Link headers), `GET /user/memberships/orgs/{org}`,
 * `GET /repos/{owner}/{repo}`.
 *
 * Tokens never appear in `calls` (which records what the broker asked, for cache assertions).
 */
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { Hono, type Context } from "hono";
import {
  fullRepository,
  orgMembership,
  privateUser,
  type Account,
  type BasicError,
  type DeviceCodeResponse,
  type OAuthErrorResponse,
  type OAuthTokenResponse,
} from "./shapes.js";

export interface FakeGitHubOptions {
  clientId?: string;
  clientSecret?: string;
  /** The OAuth app's registered callback URL; redirect_uri must be it or below it. Set later with `registerCallback`. */
  callbackUrl?: string;
  /**
   * Tokens that expire, with refresh tokens (what a GitHub App with "user-to-server token
   * expiration" issues); otherwise OAuth-app tokens that never expire.
   */
  expiringTokens?: { accessTtlSeconds: number; refreshTtlSeconds: number };
  /** Device flow polling interval in seconds (GitHub's is 5; tests use less). */
  deviceInterval?: number;
}

export type Role = "admin" | "member";
type Permission = "pull" | "triage" | "push" | "maintain" | "admin";

interface TokenRecord {
  login: string;
  scope: string;
  expiresAt?: number;
}

interface Repo {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  access: Map<string, Permission>;
}

export interface FakeGitHub {
  /** GITHUB_URL. */
  readonly url: string;
  /** GITHUB_API_URL. */
  readonly apiUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every request the broker made: method, path (no query), and for the API the login the token belongs to. */
  readonly calls: { method: string; path: string; login?: string }[];
  /** How many API calls matched (path exactly, or a RegExp). */
  count(path: string | RegExp, login?: string): number;
  registerCallback(url: string): void;
  /** A GitHub user (numeric ids are stable; logins can be renamed). */
  user(login: string, name?: string): Account;
  renameUser(from: string, to: string): void;
  org(login: string): Account;
  /** Sets (role) or removes (null) a membership; `pending` is an invitation not yet accepted. */
  setMembership(org: string, login: string, role: Role | null, state?: "active" | "pending"): void;
  repo(fullName: string, opts: { private: boolean }): void;
  /** Grants (a permission) or removes (null) a user's access to a repository. */
  setRepoAccess(fullName: string, login: string, permission: Permission | null): void;
  /** Who is signed in at GitHub in the test's "browser": the authorize page then redirects back at once. */
  signInBrowser(login: string | null): void;
  /** The next authorization is refused by the user (redirect with error=access_denied). */
  denyNextAuthorization(): void;
  /** The person enters the device's user code and approves (or denies). */
  approveDevice(userCode: string, login: string): void;
  denyDevice(userCode: string): void;
  /** Every token of the user answers 401 Bad credentials from now on. */
  revokeTokensOf(login: string): void;
  /** The user's access tokens expire now (refresh tokens still work). */
  expireAccessTokensOf(login: string): void;
  /** Every request answers 503 while down. */
  setDown(down: boolean): void;
  /** API requests answer 403 "API rate limit exceeded" until `resetAt` (null: not limited). */
  setRateLimited(resetAt: Date | null): void;
  close(): Promise<void>;
}

const DOCS = "https://docs.github.com/rest";
const ERROR_URI = "/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

const oauthError = (error: string, error_description: string, anchor = error.replaceAll("_", "-")): OAuthErrorResponse => ({
  error,
  error_description,
  error_uri: `${ERROR_URI}/#${anchor}`,
});

const PERMISSIONS: Permission[] = ["pull", "triage", "push", "maintain", "admin"];

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const clientId = opts.clientId ?? `Iv1.${randomBytes(8).toString("hex")}`;
  const clientSecret = opts.clientSecret ?? randomBytes(20).toString("hex");
  let callbackUrl = opts.callbackUrl;
  const deviceInterval = opts.deviceInterval ?? 1;
  let nextId = 1000;
  const accounts = new Map<string, Account & { type: "User" | "Organization" }>();
  const memberships = new Map<string, Map<string, { role: Role; state: "active" | "pending" }>>();
  const repos = new Map<string, Repo>();
  const tokens = new Map<string, TokenRecord>();
  const refreshTokens = new Map<string, TokenRecord & { used: boolean; expiresAt: number }>();
  const codes = new Map<string, { login: string; redirectUri: string; scope: string; challenge?: string; expiresAt: number }>();
  const devices = new Map<string, { userCode: string; scope: string; expiresAt: number; lastPoll: number; interval: number; login?: string; denied?: boolean }>();
  let browserLogin: string | null = null;
  let denyNext = false;
  let down = false;
  let rateLimitedUntil: number | null = null;
  const calls: FakeGitHub["calls"] = [];
  const key = (s: string) => s.toLowerCase();
  const account = (login: string) => {
    const a = accounts.get(key(login));
    if (!a) throw new Error(`fake GitHub: no account ${login}`);
    return a;
  };

  const app = new Hono();
  let base = "";
  const api = () => `${base}/api/v3`;

  app.use(async (c, next) => {
    calls.push({ method: c.req.method, path: c.req.path });
    if (down) return c.text("Unicorn! This page is taking too long to load.", 503);
    await next();
  });

  // ---- web: OAuth
  app.get("/login/oauth/authorize", (c) => {
    const q = c.req.query();
    if (q.client_id !== clientId) return c.text("Not Found", 404);
    const redirect = q.redirect_uri ?? callbackUrl;
    if (!callbackUrl || !redirect) return c.text("the application has no callback URL", 400);
    const back = (params: Record<string, string | undefined>, to = redirect) => {
      const u = new URL(to);
      for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
      return c.redirect(u.toString(), 302);
    };
    if (!isBelow(redirect, callbackUrl)) {
      return back(
        {
          error: "redirect_uri_mismatch",
          error_description: "The redirect_uri is not associated with this application.",
          error_uri: "/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch",
          state: q.state,
        },
        callbackUrl,
      );
    }
    if (q.code_challenge && q.code_challenge_method !== "S256") return c.text("code_challenge_method must be S256", 400);
    if (!browserLogin) return c.html("<html><body><form>Sign in to GitHub</form></body></html>", 200);
    if (denyNext) {
      denyNext = false;
      return back({
        error: "access_denied",
        error_description: "The user has denied your application access.",
        error_uri: "/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
        state: q.state,
      });
    }
    const code = randomBytes(10).toString("hex");
    codes.set(code, { login: browserLogin, redirectUri: redirect, scope: normalizeScope(q.scope), challenge: q.code_challenge, expiresAt: Date.now() + 600_000 });
    return back({ code, state: q.state });
  });

  app.post("/login/device/code", async (c) => {
    const p = await params(c);
    if (p.client_id !== clientId) return c.json({ error: "Not Found" }, 404);
    const deviceCode = randomBytes(20).toString("hex");
    const userCode = `${randomBytes(2).toString("hex")}-${randomBytes(2).toString("hex")}`.toUpperCase();
    devices.set(deviceCode, { userCode, scope: normalizeScope(p.scope), expiresAt: Date.now() + 900_000, lastPoll: 0, interval: deviceInterval });
    const body: DeviceCodeResponse = { device_code: deviceCode, user_code: userCode, verification_uri: `${base}/login/device`, expires_in: 900, interval: deviceInterval };
    return answer(c, body);
  });

  app.post("/login/oauth/access_token", async (c) => {
    const p = await params(c);
    if (p.client_id !== clientId) return answer(c, oauthError("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect."));
    if (p.grant_type === "urn:ietf:params:oauth:grant-type:device_code") {
      const d = devices.get(p.device_code ?? "");
      if (!d) return answer(c, oauthError("incorrect_device_code", "The device_code provided is not valid."));
      if (d.expiresAt <= Date.now()) return answer(c, oauthError("expired_token", "The device_code has expired."));
      const now = Date.now();
      if (now - d.lastPoll < d.interval * 1000) {
        d.lastPoll = now;
        d.interval += 5;
        return answer(c, { ...oauthError("slow_down", "Too many requests have been made in the same timeframe."), interval: d.interval });
      }
      d.lastPoll = now;
      if (d.denied) return answer(c, oauthError("access_denied", "The authorization request was denied."));
      if (!d.login) return answer(c, oauthError("authorization_pending", "The authorization request is still pending."));
      devices.delete(p.device_code!);
      return answer(c, issue(d.login, d.scope));
    }
    if (p.client_secret !== clientSecret) return answer(c, oauthError("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect."));
    if (p.grant_type === "refresh_token") {
      const r = refreshTokens.get(p.refresh_token ?? "");
      if (!opts.expiringTokens || !r || r.used || r.expiresAt <= Date.now()) {
        return answer(c, oauthError("bad_refresh_token", "The refresh token passed is incorrect or expired."));
      }
      r.used = true;
      return answer(c, issue(r.login, r.scope));
    }
    const code = codes.get(p.code ?? "");
    if (!code || code.expiresAt <= Date.now()) return answer(c, oauthError("bad_verification_code", "The code passed is incorrect or expired."));
    if (p.redirect_uri && p.redirect_uri !== code.redirectUri) {
      return answer(c, oauthError("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application."));
    }
    if (code.challenge && createHash("sha256").update(p.code_verifier ?? "").digest("base64url") !== code.challenge) {
      return answer(c, oauthError("bad_verification_code", "The code passed is incorrect or expired."));
    }
    codes.delete(p.code!);
    return answer(c, issue(code.login, code.scope));
  });

  function issue(login: string, scope: string): OAuthTokenResponse {
    if (!opts.expiringTokens) {
      const token = `gho_${randomBytes(18).toString("base64url")}`;
      tokens.set(token, { login, scope });
      return { access_token: token, token_type: "bearer", scope };
    }
    const token = `ghu_${randomBytes(18).toString("base64url")}`;
    const refresh = `ghr_${randomBytes(30).toString("base64url")}`;
    const { accessTtlSeconds, refreshTtlSeconds } = opts.expiringTokens;
    tokens.set(token, { login, scope, expiresAt: Date.now() + accessTtlSeconds * 1000 });
    refreshTokens.set(refresh, { login, scope, used: false, expiresAt: Date.now() + refreshTtlSeconds * 1000 });
    return { access_token: token, token_type: "bearer", scope, expires_in: accessTtlSeconds, refresh_token: refresh, refresh_token_expires_in: refreshTtlSeconds };
  }

  // ---- API
  const rest = new Hono<{ Variables: { login: string; scope: string } }>();
  rest.use(async (c, next) => {
    const reset = rateLimitedUntil;
    const limited = reset !== null && Date.now() < reset;
    c.header("x-ratelimit-limit", "5000");
    c.header("x-ratelimit-remaining", limited ? "0" : "4999");
    c.header("x-ratelimit-reset", String(Math.floor((reset ?? Date.now() + 3_600_000) / 1000)));
    c.header("x-ratelimit-resource", "core");
    c.header("x-github-api-version-selected", "2022-11-28");
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    const rec = m ? tokens.get(m[1]!) : undefined;
    if (!rec || (rec.expiresAt !== undefined && rec.expiresAt <= Date.now())) {
      return c.json({ message: "Bad credentials", documentation_url: DOCS, status: "401" } satisfies BasicError, 401);
    }
    calls[calls.length - 1]!.login = rec.login;
    if (limited) {
      return c.json(
        {
          message: `API rate limit exceeded for user ID ${account(rec.login).id}. If you reach out to GitHub Support for help, please include the request ID.`,
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
          status: "403",
        } satisfies BasicError,
        403,
      );
    }
    if (rec.scope !== undefined && !opts.expiringTokens) c.header("x-oauth-scopes", rec.scope.split(" ").filter(Boolean).join(", "));
    c.set("login", rec.login);
    c.set("scope", rec.scope);
    await next();
  });
  const notFound = (c: Context) => c.json({ message: "Not Found", documentation_url: DOCS, status: "404" } satisfies BasicError, 404);
  // OAuth-app tokens carry scopes; GitHub App user tokens have the app's permissions instead.
  const hasScope = (scope: string, ...wanted: string[]) => opts.expiringTokens !== undefined || scope.split(" ").some((s) => wanted.includes(s));

  rest.get("/user", (c) => c.json(privateUser(api(), base, account(c.get("login")))));

  const membershipsOf = (login: string, state?: string) =>
    [...memberships]
      .flatMap(([org, members]) => {
        const m = members.get(key(login));
        return m && (!state || m.state === state) ? [orgMembership(api(), base, account(org), account(login), m.role, m.state)] : [];
      })
      .sort((a, b) => a.organization.login.localeCompare(b.organization.login));

  rest.get("/user/memberships/orgs", (c) => {
    if (!hasScope(c.get("scope"), "read:org", "write:org", "admin:org", "user")) {
      return c.json({ message: "You need at least read:org scope or user scope to list your organization memberships.", documentation_url: DOCS, status: "403" }, 403);
    }
    const all = membershipsOf(c.get("login"), c.req.query("state"));
    const perPage = Math.min(100, Math.max(1, Number(c.req.query("per_page") ?? 30)));
    const page = Math.max(1, Number(c.req.query("page") ?? 1));
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const link = (p: number, rel: string) => {
      const u = new URL(`${api()}/user/memberships/orgs`);
      for (const [k, v] of Object.entries(c.req.query())) u.searchParams.set(k, v);
      u.searchParams.set("page", String(p));
      return `<${u}>; rel="${rel}"`;
    };
    const links = [...(page < last ? [link(page + 1, "next"), link(last, "last")] : []), ...(page > 1 ? [link(1, "first"), link(page - 1, "prev")] : [])];
    if (links.length) c.header("link", links.join(", "));
    return c.json(all.slice((page - 1) * perPage, page * perPage));
  });

  rest.get("/user/memberships/orgs/:org", (c) => {
    const m = membershipsOf(c.get("login")).find((x) => key(x.organization.login) === key(c.req.param("org")));
    return m ? c.json(m) : notFound(c);
  });

  rest.get("/repos/:owner/:repo", (c) => {
    const r = repos.get(key(`${c.req.param("owner")}/${c.req.param("repo")}`));
    const login = c.get("login");
    const granted = r?.access.get(key(login));
    // Private repositories need the `repo` scope on OAuth-app tokens, and access: otherwise 404.
    if (!r || (r.private && (!granted || !hasScope(c.get("scope"), "repo")))) return notFound(c);
    // Anyone reads a public repository (pull); more needs a grant.
    const level = granted ? PERMISSIONS.indexOf(granted) : 0;
    const perms = { pull: true, triage: level >= 1, push: level >= 2, maintain: level >= 3, admin: level >= 4 };
    return c.json(fullRepository(api(), base, { id: r.id, owner: account(r.owner), ownerType: account(r.owner).type, name: r.name, private: r.private }, perms));
  });
  rest.all("*", notFound);
  app.route("/api/v3", rest);

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiUrl: api(),
    clientId,
    clientSecret,
    calls,
    count(path, login) {
      return calls.filter((x) => (typeof path === "string" ? x.path === path : path.test(x.path)) && (login === undefined || x.login === login)).length;
    },
    registerCallback(url) {
      callbackUrl = url;
    },
    user(login, name) {
      const existing = accounts.get(key(login));
      if (existing) return existing;
      const a = { id: nextId++, login, name: name ?? null, type: "User" as const };
      accounts.set(key(login), a);
      return a;
    },
    renameUser(from, to) {
      const a = account(from);
      accounts.delete(key(from));
      a.login = to;
      accounts.set(key(to), a);
      for (const members of memberships.values()) {
        const m = members.get(key(from));
        if (m) {
          members.delete(key(from));
          members.set(key(to), m);
        }
      }
      for (const r of repos.values()) {
        const p = r.access.get(key(from));
        if (p) {
          r.access.delete(key(from));
          r.access.set(key(to), p);
        }
      }
      for (const t of [...tokens.values(), ...refreshTokens.values(), ...codes.values()]) if (key(t.login) === key(from)) t.login = to;
    },
    org(login) {
      const existing = accounts.get(key(login));
      if (existing) return existing;
      const a = { id: nextId++, login, name: null, type: "Organization" as const };
      accounts.set(key(login), a);
      memberships.set(key(login), new Map());
      return a;
    },
    setMembership(org, login, role, state = "active") {
      account(login);
      const members = memberships.get(key(org));
      if (!members) throw new Error(`fake GitHub: no organization ${org}`);
      if (role === null) members.delete(key(login));
      else members.set(key(login), { role, state });
    },
    repo(fullName, o) {
      const [owner, name] = fullName.split("/") as [string, string];
      account(owner);
      repos.set(key(fullName), { id: nextId++, owner, name, private: o.private, access: new Map() });
    },
    setRepoAccess(fullName, login, permission) {
      const r = repos.get(key(fullName));
      if (!r) throw new Error(`fake GitHub: no repository ${fullName}`);
      if (permission === null) r.access.delete(key(login));
      else r.access.set(key(login), permission);
    },
    signInBrowser(login) {
      if (login) account(login);
      browserLogin = login;
    },
    denyNextAuthorization() {
      denyNext = true;
    },
    approveDevice(userCode, login) {
      const d = [...devices.values()].find((x) => x.userCode === userCode);
      if (!d) throw new Error(`fake GitHub: no device flow with user code ${userCode}`);
      d.login = account(login).login;
    },
    denyDevice(userCode) {
      const d = [...devices.values()].find((x) => x.userCode === userCode);
      if (!d) throw new Error(`fake GitHub: no device flow with user code ${userCode}`);
      d.denied = true;
    },
    revokeTokensOf(login) {
      for (const [t, rec] of tokens) if (key(rec.login) === key(login)) tokens.delete(t);
      for (const [t, rec] of refreshTokens) if (key(rec.login) === key(login)) refreshTokens.delete(t);
    },
    expireAccessTokensOf(login) {
      for (const rec of tokens.values()) if (key(rec.login) === key(login)) rec.expiresAt = Date.now() - 1;
    },
    setDown(d) {
      down = d;
    },
    setRateLimited(resetAt) {
      rateLimitedUntil = resetAt ? resetAt.getTime() : null;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** GitHub accepts a redirect_uri on the registered callback's host and port, at or below its path. */
function isBelow(redirect: string, callback: string): boolean {
  try {
    const r = new URL(redirect);
    const cb = new URL(callback);
    return r.origin === cb.origin && (r.pathname === cb.pathname || r.pathname.startsWith(cb.pathname.replace(/\/?$/, "/")));
  } catch {
    return false;
  }
}

function normalizeScope(scope: string | undefined): string {
  return (scope ?? "").split(/[\s,]+/).filter(Boolean).join(" ");
}

/** OAuth endpoints take form or JSON bodies (and query parameters). */
async function params(c: Context): Promise<Record<string, string | undefined>> {
  const type = c.req.header("content-type") ?? "";
  let body: Record<string, string | undefined> = {};
  if (type.includes("application/json")) body = (await c.req.json().catch(() => ({}))) as Record<string, string>;
  else if (type.includes("application/x-www-form-urlencoded")) body = Object.fromEntries(new URLSearchParams(await c.req.text()));
  return { ...c.req.query(), ...body };
}

/** GitHub's OAuth endpoints answer JSON only for `Accept: application/json`, form-encoded otherwise; errors too, with status 200. */
function answer(c: Context, body: object): Response {
  if ((c.req.header("accept") ?? "").includes("application/json")) return c.json(body, 200);
  return c.body(new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString(), 200, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" });
}
