import {
  AccessTokenSigner,
  AccessTokenVerifier,
  ensureSigningKey,
  rotateRefreshToken,
  rotateSigningKeyIfOlderThan,
  startSession,
  type Db,
  type IssuedRefresh,
  type SecretBox,
} from "@wb/authz";
import type { Logger } from "pino";

/** What a sign-in or a refresh answers (OAuth 2.0 token response field names). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  /** Seconds. */
  expires_in: number;
  refresh_token: string;
  /** Seconds. */
  refresh_token_expires_in: number;
  session_id: string;
}

export interface AuthServiceOptions {
  db: Db;
  box: SecretBox;
  log: Logger;
  accessTtlMs: number;
  refreshTtlMs: number;
  /** The signing key is replaced when older than this. */
  rotationMs: number;
}

/**
 * The broker's own tokens for one gateway: verifies access JWTs (for the bearer middleware),
 * opens sessions and refreshes them, and keeps a signing key (made at first start, rotated when
 * old; every gateway checks hourly and the database lock lets one of them do it).
 */
export class AuthService {
  readonly verifier: AccessTokenVerifier;
  readonly signer: AccessTokenSigner;
  #timer?: NodeJS.Timeout;

  constructor(private readonly o: AuthServiceOptions) {
    this.verifier = new AccessTokenVerifier(o.db);
    this.signer = new AccessTokenSigner(o.db, o.box, o.accessTtlMs);
  }

  async start(): Promise<void> {
    await ensureSigningKey(this.o.db, this.o.box);
    await this.#maybeRotate();
    this.#timer = setInterval(() => void this.#maybeRotate(), Math.min(3_600_000, this.o.rotationMs));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #maybeRotate(): Promise<void> {
    try {
      const rotated = await rotateSigningKeyIfOlderThan(this.o.db, this.o.box, this.o.rotationMs, this.o.accessTtlMs);
      if (rotated) {
        this.o.log.info({ kid: rotated.kid }, "JWT signing key rotated");
        await this.verifier.reload();
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, "JWT signing key rotation failed");
    }
  }

  /** Signs a user in: a new session, its first refresh token and an access token. */
  async signIn(userId: string, method: string, now?: number): Promise<TokenResponse> {
    return this.#respond(userId, await startSession(this.o.db, userId, method, this.o.refreshTtlMs), now);
  }

  /** Exchanges a refresh token (see rotateRefreshToken for what is refused). */
  async refresh(refreshToken: string): Promise<TokenResponse> {
    const issued = await rotateRefreshToken(this.o.db, refreshToken, this.o.refreshTtlMs);
    return this.#respond(issued.session.userId, issued);
  }

  /** `now` back-dates the access token (tests of expiry). */
  async #respond(userId: string, issued: IssuedRefresh, now?: number): Promise<TokenResponse> {
    const access = await this.signer.issue({ userId, sessionId: issued.session.id }, now);
    return {
      access_token: access.token,
      token_type: "Bearer",
      expires_in: Math.round((access.expiresAt.getTime() - access.issuedAt.getTime()) / 1000),
      refresh_token: issued.refreshToken,
      refresh_token_expires_in: Math.round((issued.refreshExpiresAt.getTime() - Date.now()) / 1000),
      session_id: issued.session.id,
    };
  }
}
