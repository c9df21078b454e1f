/**
 * Signing in with GitHub, as protocol steps: the web flow (state and PKCE kept in a sealed,
 * HttpOnly cookie, so any gateway can finish what another began) and the device flow (the
 * device code travels back to the client sealed, so the broker keeps no state for it). Both end
 * the same way: the GitHub user is read, the broker user found by GitHub's numeric id or created,
 * his GitHub tokens stored sealed, `afterSignIn` run (organization sync), and a broker session
 * opened.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { BrokerError, signInGitHubUser, type Db, type SecretBox, type schema } from "@wb/authz";
import type { Logger } from "pino";
import type { AuthService, TokenResponse } from "../auth/sessions.js";
import { GitHubError, type GitHubClient, type GitHubTokens, type GitHubUser } from "./client.js";

export interface SignedIn {
  user: schema.User;
  created: boolean;
  tokens: TokenResponse;
}

export interface GitHubLoginOptions {
  db: Db;
  box: SecretBox;
  auth: AuthService;
  client: GitHubClient;
  /** PUBLIC_URL: the callback is PUBLIC_URL/auth/github/callback. */
  publicUrl: string;
  scopes: string;
  log: Logger;
  /** Runs after the user is known and before the session opens (the organization sync). */
  afterSignIn?: (user: schema.User, github: GitHubUser, tokens: GitHubTokens) => Promise<void>;
}

/** How long a started web sign-in may take. */
export const LOGIN_TTL_MS = 10 * 60_000;

/** Where a web sign-in returns to: an API client or the /ui inspector (which keeps the tokens in its cookies). */
export type ReturnTo = "api" | "ui";

interface LoginState {
  state: string;
  verifier: string;
  exp: number;
  to?: ReturnTo;
}

export class GitHubLogin {
  readonly callbackUrl: string;

  constructor(private readonly o: GitHubLoginOptions) {
    this.callbackUrl = new URL("/auth/github/callback", o.publicUrl).toString();
  }

  /** Where to send the browser, and the sealed state to keep in a cookie until the callback. */
  begin(now = Date.now(), to: ReturnTo = "api"): { location: string; sealedState: string } {
    const state = randomBytes(24).toString("base64url");
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const location = this.o.client.authorizeUrl({ redirectUri: this.callbackUrl, scope: this.o.scopes, state, codeChallenge: challenge });
    const sealedState = this.o.box.seal(JSON.stringify({ state, verifier, exp: now + LOGIN_TTL_MS, to } satisfies LoginState));
    return { location, sealedState };
  }

  /** Where a started sign-in returns to (from its sealed state; "api" when unknown). */
  returnTo(sealedState: string | undefined): ReturnTo {
    return this.#openState(sealedState)?.to === "ui" ? "ui" : "api";
  }

  /** The callback: checks the state against the cookie, exchanges the code (with the PKCE verifier), signs in. */
  async complete(query: Record<string, string | undefined>, sealedState: string | undefined, source?: string): Promise<SignedIn> {
    const saved = this.#openState(sealedState);
    if (!saved || !query.state || !sameString(saved.state, query.state)) {
      throw new BrokerError("invalid_request", "this sign-in was not started here or took too long (state mismatch); start again at /auth/github/login");
    }
    if (query.error) {
      if (query.error === "access_denied") throw new BrokerError("github_access_denied", "you declined the authorization on GitHub");
      throw new BrokerError("github_error", `GitHub refused the authorization: ${query.error}${query.error_description ? ` (${query.error_description})` : ""}`);
    }
    if (!query.code) throw new BrokerError("invalid_request", "the callback has neither code nor error");
    const tokens = await this.#github(() => this.o.client.exchangeCode({ code: query.code!, redirectUri: this.callbackUrl, codeVerifier: saved.verifier }));
    return this.#signIn(tokens, "github", source);
  }

  /** Starts GitHub's device flow; the client gets GitHub's codes, with the device code sealed. */
  async startDevice(now = Date.now()) {
    const d = await this.#github(() => this.o.client.startDevice(this.o.scopes));
    return {
      device_code: this.o.box.seal(JSON.stringify({ d: d.device_code, exp: now + d.expires_in * 1000 })),
      user_code: d.user_code,
      verification_uri: d.verification_uri,
      expires_in: d.expires_in,
      interval: d.interval,
    };
  }

  /** One poll of a device flow: pending (poll again after `interval` s) or signed in. */
  async pollDevice(sealed: string, source?: string): Promise<{ status: "authorization_pending" | "slow_down"; interval?: number } | SignedIn> {
    let handle: { d: string; exp: number };
    try {
      handle = JSON.parse(this.o.box.open(sealed));
    } catch {
      throw new BrokerError("invalid_request", "device_code is not one this broker handed out");
    }
    if (handle.exp <= Date.now()) throw new BrokerError("device_code_expired", "the device code expired; start again with POST /auth/github/device");
    const poll = await this.#github(() => this.o.client.pollDevice(handle.d));
    switch (poll.status) {
      case "approved":
        return this.#signIn(poll.tokens, "github_device", source);
      case "authorization_pending":
      case "slow_down":
        return poll;
      case "access_denied":
        throw new BrokerError("github_access_denied", "the authorization was declined on GitHub");
      case "expired_token":
        throw new BrokerError("device_code_expired", "the device code expired; start again with POST /auth/github/device");
    }
  }

  async #signIn(tokens: GitHubTokens, method: string, source?: string): Promise<SignedIn> {
    const github = await this.#github(() => this.o.client.user(tokens.accessToken));
    const { user, created } = await signInGitHubUser(this.o.db, this.o.box, { id: github.id, login: github.login }, tokens, source);
    if (created) this.o.log.info({ userId: user.id, githubId: github.id }, "user created by GitHub sign-in");
    await this.o.afterSignIn?.(user, github, tokens);
    return { user, created, tokens: await this.o.auth.signIn(user.id, method) };
  }

  #openState(sealed: string | undefined): LoginState | null {
    if (!sealed) return null;
    try {
      const s = JSON.parse(this.o.box.open(sealed)) as LoginState;
      return s.exp > Date.now() ? s : null;
    } catch {
      return null;
    }
  }

  /** Runs a GitHub call; its failures become the broker's errors. */
  async #github<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw brokerErrorOf(err);
    }
  }
}

/** GitHub's failures as the broker's errors (503 with Retry-After while GitHub is down or rate-limited). */
export function brokerErrorOf(err: unknown): unknown {
  if (!(err instanceof GitHubError)) return err;
  switch (err.kind) {
    case "unavailable":
      return new BrokerError("github_unavailable", `GitHub cannot be reached right now (${err.message}); try again later`, { retryAfterSeconds: 30 });
    case "rate_limited": {
      const wait = Math.max(1, Math.ceil(((err.details.resetAt?.getTime() ?? Date.now() + 60_000) - Date.now()) / 1000));
      return new BrokerError("github_unavailable", `GitHub's rate limit is exhausted; try again in ${wait} s`, { retryAfterSeconds: wait });
    }
    case "unauthorized":
      return new BrokerError("github_error", "GitHub refused the token it just issued; sign in again");
    default:
      if (err.details.oauthError === "bad_verification_code") return new BrokerError("invalid_request", "the authorization code is wrong or expired; sign in again");
      return new BrokerError("github_error", err.message);
  }
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
