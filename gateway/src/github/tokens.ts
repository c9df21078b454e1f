import { forgetGitHubTokens, loadGitHubTokens, saveGitHubTokens, type Db, type GitHubTokenSet, type SecretBox } from "@wb/authz";
import { GitHubError, type GitHubClient } from "./client.js";

/** Renew this long before GitHub's expiry, so a token does not run out during a call. */
const EARLY_MS = 60_000;

/**
 * A user's GitHub access token for a call to GitHub: the stored one, renewed first with its
 * refresh token when it is (about to be) expired (GitHub Apps' expiring tokens; the new pair is
 * stored sealed). Null when there is none, or when GitHub refuses the refresh token (then the
 * stored tokens are dropped: the person must sign in again). GitHub being down or rate-limited
 * throws (GitHubError), so callers keep their cached answers.
 */
export async function githubAccessToken(deps: { db: Db; box: SecretBox; client: GitHubClient }, userId: string, now = Date.now()): Promise<string | null> {
  const stored = await loadGitHubTokens(deps.db, deps.box, userId);
  if (!stored) return null;
  if (!stored.expiresAt || stored.expiresAt.getTime() - EARLY_MS > now) return stored.accessToken;
  if (!stored.refreshToken || (stored.refreshExpiresAt && stored.refreshExpiresAt.getTime() <= now)) {
    await forgetGitHubTokens(deps.db, userId);
    return null;
  }
  let renewed: GitHubTokenSet;
  try {
    renewed = await deps.client.refresh(stored.refreshToken);
  } catch (err) {
    if (err instanceof GitHubError && err.kind === "unauthorized") {
      await forgetGitHubTokens(deps.db, userId);
      return null;
    }
    throw err;
  }
  await saveGitHubTokens(deps.db, deps.box, userId, renewed);
  return renewed.accessToken;
}
