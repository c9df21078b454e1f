import type { FakeGitHub } from "./server.js";

/** The `name=value` pairs of a response's Set-Cookie headers, as a Cookie header. */
export function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0]!)
    .join("; ");
}

/**
 * What a browser does to sign in: GET /auth/github/login (keeping its cookie), follow the redirect
 * to GitHub (where `login` is signed in), and follow GitHub's redirect back to the callback. Returns
 * the callback's response, or GitHub's page when GitHub does not redirect.
 */
export async function signInWithGitHub(brokerUrl: string, github: FakeGitHub, login: string | null, opts: { accept?: string } = {}): Promise<Response> {
  github.signInBrowser(login);
  const start = await fetch(`${brokerUrl}/auth/github/login`, { redirect: "manual" });
  if (start.status !== 302) return start;
  const atGitHub = await fetch(start.headers.get("location")!, { redirect: "manual" });
  if (atGitHub.status !== 302) return atGitHub;
  return fetch(atGitHub.headers.get("location")!, { redirect: "manual", headers: { cookie: cookiesOf(start), ...(opts.accept ? { accept: opts.accept } : {}) } });
}
