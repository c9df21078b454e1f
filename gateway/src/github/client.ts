/**
 * The broker's GitHub client: OAuth (web flow with PKCE, device flow, refresh) against GITHUB_URL
 * and the few REST calls the access checks need against GITHUB_API_URL (GitHub Enterprise works
 * with both set). Responses are parsed with zod down to the fields used; every failure is a
 * {@link GitHubError} with a kind the callers map (unauthorized: the person must sign in again;
 * rate_limited / unavailable: keep cached answers until their TTL, then fail closed).
 * Tokens are arguments only: this module never logs or stores them.
 */
import type { GitHubTokenSet } from "@wb/authz";
import { z } from "zod";

export interface GitHubConfig {
  clientId: string;
  clientSecret: string;
  /** https://github.com, or the Enterprise server. */
  webUrl: string;
  /** https://api.github.com, or https://HOST/api/v3. */
  apiUrl: string;
  /** Per request. */
  timeoutMs: number;
}

export type GitHubErrorKind = "unauthorized" | "rate_limited" | "unavailable" | "forbidden" | "oauth";

export class GitHubError extends Error {
  constructor(
    readonly kind: GitHubErrorKind,
    message: string,
    readonly details: { resetAt?: Date; oauthError?: string; status?: number } = {},
  ) {
    super(message);
    this.name = "GitHubError";
  }
}

/** What GitHub gives for a user: a token, and for expiring tokens (GitHub Apps) when it ends and how to renew it. */
export type GitHubTokens = GitHubTokenSet;

export interface GitHubUser {
  id: number;
  login: string;
  name: string | null;
}

export interface GitHubMembership {
  org: string;
  role: "admin" | "member";
}

export type DevicePoll =
  | { status: "approved"; tokens: GitHubTokens }
  | { status: "authorization_pending"; interval?: number }
  | { status: "slow_down"; interval: number }
  | { status: "access_denied" }
  | { status: "expired_token" };

const tokenBody = z.object({
  access_token: z.string().min(1),
  scope: z.string().default(""),
  expires_in: z.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  refresh_token_expires_in: z.number().int().positive().optional(),
});
const oauthErrorBody = z.object({ error: z.string(), error_description: z.string().optional(), interval: z.number().optional() });
const deviceBody = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().url(),
  expires_in: z.number().int().positive(),
  interval: z.number().int().nonnegative().default(5),
});
const userBody = z.object({ id: z.number().int().positive(), login: z.string().min(1), name: z.string().nullable().optional() });
const membershipBody = z.array(
  z.object({ state: z.string(), role: z.string(), organization: z.object({ login: z.string().min(1) }) }),
);
const repoBody = z.object({ full_name: z.string(), private: z.boolean(), permissions: z.object({ pull: z.boolean() }).optional() });

function tokensOf(body: z.infer<typeof tokenBody>, now = Date.now()): GitHubTokens {
  return {
    accessToken: body.access_token,
    scope: body.scope,
    expiresAt: body.expires_in ? new Date(now + body.expires_in * 1000) : null,
    refreshToken: body.refresh_token ?? null,
    refreshExpiresAt: body.refresh_token_expires_in ? new Date(now + body.refresh_token_expires_in * 1000) : null,
  };
}

export class GitHubClient {
  constructor(readonly config: GitHubConfig) {}

  /** The authorize page a browser is sent to (state and PKCE S256 challenge included). */
  authorizeUrl(p: { redirectUri: string; scope: string; state: string; codeChallenge: string }): string {
    const u = new URL("/login/oauth/authorize", this.config.webUrl);
    u.searchParams.set("client_id", this.config.clientId);
    u.searchParams.set("redirect_uri", p.redirectUri);
    u.searchParams.set("scope", p.scope);
    u.searchParams.set("state", p.state);
    u.searchParams.set("code_challenge", p.codeChallenge);
    u.searchParams.set("code_challenge_method", "S256");
    u.searchParams.set("allow_signup", "false");
    return u.toString();
  }

  async exchangeCode(p: { code: string; redirectUri: string; codeVerifier: string }): Promise<GitHubTokens> {
    const body = await this.#oauth("/login/oauth/access_token", {
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
      code: p.code,
      redirect_uri: p.redirectUri,
      code_verifier: p.codeVerifier,
    });
    return this.#tokens(body);
  }

  /** Renews expiring tokens (GitHub Apps); GitHub hands out a new refresh token each time. */
  async refresh(refreshToken: string): Promise<GitHubTokens> {
    const body = await this.#oauth("/login/oauth/access_token", {
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
      grant_type: "refresh_token",
      refresh_token: refreshToken,
    });
    return this.#tokens(body);
  }

  async startDevice(scope: string): Promise<z.infer<typeof deviceBody>> {
    const body = await this.#oauth("/login/device/code", { client_id: this.config.clientId, scope });
    const parsed = deviceBody.safeParse(body);
    if (!parsed.success) throw this.#oauthFailure(body);
    return parsed.data;
  }

  async pollDevice(deviceCode: string): Promise<DevicePoll> {
    const body = await this.#oauth("/login/oauth/access_token", {
      client_id: this.config.clientId,
      device_code: deviceCode,
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    });
    const ok = tokenBody.safeParse(body);
    if (ok.success) return { status: "approved", tokens: tokensOf(ok.data) };
    const err = oauthErrorBody.safeParse(body);
    if (err.success) {
      switch (err.data.error) {
        case "authorization_pending":
          return { status: "authorization_pending" };
        case "slow_down":
          return { status: "slow_down", interval: err.data.interval ?? 10 };
        case "access_denied":
          return { status: "access_denied" };
        case "expired_token":
        case "incorrect_device_code":
          return { status: "expired_token" };
      }
    }
    throw this.#oauthFailure(body);
  }

  async user(token: string): Promise<GitHubUser> {
    const body = userBody.parse(await this.#api(token, "/user"));
    return { id: body.id, login: body.login, name: body.name ?? null };
  }

  /** The user's active organization memberships (all pages). */
  async memberships(token: string): Promise<GitHubMembership[]> {
    const out: GitHubMembership[] = [];
    let next: string | null = this.#apiUrl("/user/memberships/orgs?state=active&per_page=100");
    for (let page = 0; next && page < 50; page++) {
      const { body, link } = await this.#get(token, next);
      for (const m of membershipBody.parse(body)) {
        if (m.state !== "active") continue;
        out.push({ org: m.organization.login, role: m.role === "admin" ? "admin" : "member" });
      }
      next = nextLink(link);
      // The token goes to GitHub's API only, whatever a Link header says.
      if (next && new URL(next).origin !== new URL(this.config.apiUrl).origin) throw new GitHubError("oauth", "GitHub's pagination pointed elsewhere");
    }
    return out;
  }

  /** Whether the user may read the repository: 200 with pull permission; 404 (private, or gone) is no. */
  async canReadRepo(token: string, fullName: string): Promise<boolean> {
    const [owner, repo] = fullName.split("/");
    try {
      const body = repoBody.parse(await this.#api(token, `/repos/${encodeURIComponent(owner!)}/${encodeURIComponent(repo!)}`));
      return body.permissions ? body.permissions.pull : !body.private;
    } catch (err) {
      // 404: private, or gone. 403 (not a rate limit): e.g. the organization's SAML SSO has not
      // authorized this token. Either way he may not read it now.
      if (err instanceof GitHubError && (err.details.status === 404 || err.kind === "forbidden")) return false;
      throw err;
    }
  }

  #apiUrl(path: string): string {
    return this.config.apiUrl.replace(/\/$/, "") + path;
  }

  #api(token: string, path: string): Promise<unknown> {
    return this.#get(token, this.#apiUrl(path)).then((r) => r.body);
  }

  async #get(token: string, url: string): Promise<{ body: unknown; link: string | null }> {
    const res = await this.#fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", "user-agent": "webhook-broker" },
    });
    if (res.ok) return { body: await res.json(), link: res.headers.get("link") };
    const remaining = res.headers.get("x-ratelimit-remaining");
    const reset = Number(res.headers.get("x-ratelimit-reset"));
    const message = await res
      .json()
      .then((b: { message?: unknown }) => (typeof b.message === "string" ? b.message : res.statusText))
      .catch(() => res.statusText);
    if (res.status === 401) throw new GitHubError("unauthorized", "GitHub refused the user's token (Bad credentials)", { status: 401 });
    if ((res.status === 403 || res.status === 429) && (remaining === "0" || res.headers.has("retry-after"))) {
      const resetAt = remaining === "0" && reset > 0 ? new Date(reset * 1000) : new Date(Date.now() + Number(res.headers.get("retry-after") ?? 60) * 1000);
      throw new GitHubError("rate_limited", `GitHub's rate limit is exhausted until ${resetAt.toISOString()}`, { resetAt, status: res.status });
    }
    if (res.status >= 500) throw new GitHubError("unavailable", `GitHub answered ${res.status}`, { status: res.status });
    throw new GitHubError(res.status === 403 ? "forbidden" : "oauth", `GitHub answered ${res.status}: ${message}`, { status: res.status });
  }

  async #oauth(path: string, params: Record<string, string>): Promise<unknown> {
    const res = await this.#fetch(new URL(path, this.config.webUrl).toString(), {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded", "user-agent": "webhook-broker" },
      body: new URLSearchParams(params).toString(),
    });
    if (res.status >= 500) throw new GitHubError("unavailable", `GitHub answered ${res.status}`, { status: res.status });
    if (res.status === 429) throw new GitHubError("rate_limited", "GitHub is rate-limiting sign-ins", { resetAt: new Date(Date.now() + 60_000), status: 429 });
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok && !oauthErrorBody.safeParse(body).success) throw new GitHubError("oauth", `GitHub answered ${res.status}`, { status: res.status });
    return body;
  }

  #tokens(body: unknown): GitHubTokens {
    const ok = tokenBody.safeParse(body);
    if (ok.success) return tokensOf(ok.data);
    throw this.#oauthFailure(body);
  }

  #oauthFailure(body: unknown): GitHubError {
    const err = oauthErrorBody.safeParse(body);
    if (!err.success) return new GitHubError("oauth", "GitHub's answer was not understood");
    // bad_refresh_token: the person must sign in again; the rest is the broker's configuration or a stale code.
    const kind: GitHubErrorKind = err.data.error === "bad_refresh_token" ? "unauthorized" : "oauth";
    return new GitHubError(kind, `GitHub refused: ${err.data.error}${err.data.error_description ? ` (${err.data.error_description})` : ""}`, { oauthError: err.data.error });
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(this.config.timeoutMs) });
    } catch (err) {
      const what = (err as Error).name === "TimeoutError" ? `no answer within ${this.config.timeoutMs} ms` : "unreachable";
      throw new GitHubError("unavailable", `GitHub is ${what}`);
    }
  }
}

function nextLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (m) return m[1]!;
  }
  return null;
}
