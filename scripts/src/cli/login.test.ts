/**
 * `pnpm cli login --url`: the device flow from a terminal against a real broker and the fake
 * GitHub. The person's part (entering the code on GitHub) is the fake's approveDevice, done when
 * the CLI prints the code.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startFakeGitHub, startTestBroker, type FakeGitHub, type TestBroker } from "@wb/test-support";
import { runCli } from "./index.js";

let github: FakeGitHub;
let broker: TestBroker;
let dir: string;
beforeAll(async () => {
  github = await startFakeGitHub();
  broker = await startTestBroker({}, { github });
  dir = await mkdtemp(join(tmpdir(), "wb-login-"));
});
afterAll(async () => {
  await broker?.close();
  await github?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function login(args: string[], person: (userCode: string) => void) {
  let stdout = "";
  let stderr = "";
  const credentials = join(dir, `credentials-${Math.random().toString(36).slice(2)}.json`);
  const code = await runCli(args, {
    // No DATABASE_URL or SECRET_KEY: login is a client of the broker only.
    env: { WB_DATA_DIR: dir, WB_CREDENTIALS: credentials },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: {
      write: (s: string) => {
        stderr += s;
        const m = /enter the code (\S+)/.exec(s);
        if (m) person(m[1]!);
      },
    },
  });
  return { code, stdout, stderr, credentials };
}

describe("pnpm cli login", () => {
  it("signs in with the device flow, prints an access token and stores the session (0600)", async () => {
    const gh = github.user(`cli${Date.now().toString(36)}`);
    const r = await login(["login", "--url", broker.url], (userCode) => github.approveDevice(userCode, gh.login));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Open ${github.url}/login/device`);
    expect(r.stderr).toContain(`signed in as ${gh.login.toLowerCase()} (new user)`);
    const token = r.stdout.trim();
    const me = await fetch(`${broker.url}/api/v1/me`, { headers: bearer(token) });
    expect(me.status).toBe(200);
    expect((await me.json()).user.name).toBe(gh.login.toLowerCase());

    expect((await stat(r.credentials)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(r.credentials, "utf8"))[new URL(broker.url).origin];
    expect(saved).toMatchObject({ user: gh.login.toLowerCase(), access_token: token, refresh_token: expect.stringMatching(/^whr_/) });
    // The stored refresh token works.
    const refreshed = await fetch(`${broker.url}/auth/refresh`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh_token: saved.refresh_token }) });
    expect(refreshed.status).toBe(200);
  });

  it("exits 1 with GitHub's reason when the person declines", async () => {
    const r = await login(["login", "--url", broker.url], (userCode) => github.denyDevice(userCode));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/declined/);
    expect(r.stdout).toBe("");
  });

  it("exits 2 for a bad --url and 1 for a broker without GitHub sign-in", async () => {
    expect((await login(["login", "--url", "not a url"], () => {})).code).toBe(2);
    const plain = await startTestBroker();
    try {
      const r = await login(["login", "--url", plain.url], () => {});
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/github_not_configured/);
    } finally {
      await plain.close();
    }
  });
});
