/**
 * `pnpm cli login --url <broker>`: a person signs in from a terminal with GitHub's device flow,
 * through the broker (POST /auth/github/device, then /auth/github/device/token every `interval`
 * seconds). Needs no database or secret: it is the one client command of the CLI. The session
 * (access and refresh token) is stored in a file of mode 0600; the access token is printed.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { BrokerError } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";

/** Where sessions are kept: WB_CREDENTIALS, else ~/.config/webhook-broker/credentials.json. */
export function credentialsPath(env: Record<string, string | undefined>): string {
  return env.WB_CREDENTIALS || join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "webhook-broker", "credentials.json");
}

interface Started {
  device_code: string;
  user_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
}

interface Tokens {
  user: { id: string; name: string; github_login: string | null; created: boolean };
  access_token: string;
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
  session_id: string;
}

async function call(url: string, body: unknown): Promise<{ status: number; json: any }> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify(body) });
  } catch (err) {
    throw new BrokerError("unavailable", `cannot reach ${new URL(url).origin}: ${(err as Error).message}`);
  }
  const json = await res.json().catch(() => null);
  if (res.status >= 400) throw new BrokerError("invalid_request", `${new URL(url).pathname}: ${json?.error?.message ?? res.statusText} (${json?.error?.code ?? res.status})`);
  return { status: res.status, json };
}

export function loginCommand(program: Command, ctx: CliContext): void {
  program
    .command("login")
    .description("sign in with GitHub from this terminal (device flow); prints an access token and stores the session")
    .requiredOption("--url <url>", "the broker's address, e.g. https://broker.example.com")
    .action(async (opts: { url: string }) => {
      let base: URL;
      try {
        base = new URL(opts.url);
      } catch {
        throw new UsageError(`--url: not a URL: ${opts.url}`);
      }
      const started = (await call(new URL("/auth/github/device", base).toString(), {})).json as Started;
      ctx.out.note(`Open ${started.verification_uri} and enter the code ${started.user_code}`);
      let interval = Math.max(1, started.interval);
      const deadline = Date.now() + started.expires_in * 1000;
      let tokens: Tokens | undefined;
      while (!tokens) {
        if (Date.now() > deadline) throw new BrokerError("device_code_expired", "the code expired before it was entered; run login again");
        await sleep(interval * 1000);
        const polled = await call(new URL("/auth/github/device/token", base).toString(), { device_code: started.device_code });
        if (polled.status === 202) {
          if (polled.json.status === "slow_down") interval = Math.max(interval + 5, polled.json.interval ?? 0);
          continue;
        }
        tokens = polled.json as Tokens;
      }
      const file = credentialsPath(ctx.io.env);
      await saveSession(file, base.origin, tokens);
      ctx.out.note(`signed in as ${tokens.user.name}${tokens.user.created ? " (new user)" : ""}; session saved in ${file}`);
      if (ctx.json) {
        ctx.out.json({ user: tokens.user, access_token: tokens.access_token, expires_in: tokens.expires_in, session_id: tokens.session_id, credentials: file });
      } else {
        ctx.out.line(tokens.access_token);
      }
    });
}

/** One session per broker, in a 0600 file. */
async function saveSession(file: string, url: string, t: Tokens): Promise<void> {
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(await readFile(file, "utf8"));
  } catch {
    // First login, or an unreadable file that we replace.
  }
  all[url] = {
    user: t.user.name,
    session_id: t.session_id,
    access_token: t.access_token,
    access_token_expires_at: new Date(Date.now() + t.expires_in * 1000).toISOString(),
    refresh_token: t.refresh_token,
    refresh_token_expires_at: new Date(Date.now() + t.refresh_token_expires_in * 1000).toISOString(),
  };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(all, null, 2) + "\n", { mode: 0o600 });
  await chmod(file, 0o600);
}
