import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { generateCalloutKeys } from "@wb/authz";
import { testStack } from "@wb/test-support";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const keys = generateCalloutKeys();
const secrets = {
  NATS_GATEWAY_PASSWORD: "gw-pass",
  NATS_ADMIN_PASSWORD: "admin-pass",
  NATS_SYS_PASSWORD: "sys-pass",
  POSTGRES_PASSWORD: "pg-pass",
  SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
  CALLOUT_NATS_PASSWORD: "callout-pass",
  CALLOUT_ISSUER_SEED: keys.issuerSeed,
  CALLOUT_XKEY_SEED: keys.xkeySeed,
  CALLOUT_ISSUER_PUBLIC_KEY: keys.issuerPublicKey,
  CALLOUT_XKEY_PUBLIC_KEY: keys.xkeyPublicKey,
};

/** The top-level service names in `docker-compose config` output (two-space-indented keys under `services:`). */
function composeServices(yaml: string): Record<string, true> {
  const block = /^services:\n((?:(?: {2}.*)?\n)*)/m.exec(yaml)?.[1] ?? "";
  return Object.fromEntries([...block.matchAll(/^ {2}([\w.-]+):/gm)].map((m) => [m[1]!, true]));
}

// No Docker engine runs here; Debian's docker-compose (installed by .ci/run) validates the file.
// On a developer machine without it these two are skipped; in CI (CI=true) they must run.
const hasCompose = await run("docker-compose", ["version"]).then(() => true, () => false);
const composeIt = it.skipIf(!hasCompose && !process.env.CI);

describe("docker-compose.yml", () => {
  composeIt("is a valid compose file: three nats nodes, postgres, two gateways behind one front, the callout", async () => {
    const { stdout } = await run("docker-compose", ["-f", "docker-compose.yml", "config"], { cwd: root, env: { ...process.env, ...secrets } });
    const services = Object.keys(composeServices(stdout)).sort();
    // grafana and prometheus: the monitoring profile (docker-compose config lists every profile).
    expect(services).toEqual(["callout", "front", "gateway-1", "gateway-2", "grafana", "nats-1", "nats-2", "nats-3", "postgres", "prometheus"]);
    expect(stdout).toContain("DATABASE_URL: postgres://postgres:pg-pass@postgres:5432/broker");
    // Each gateway: the R3 stream, every node to fail over to, and the front as its trusted proxy.
    expect(stdout.match(/STREAM_REPLICAS: '3'/g)).toHaveLength(2);
    expect(stdout.match(/NATS_URL: nats:\/\/nats-1:4222,nats:\/\/nats-2:4222,nats:\/\/nats-3:4222/g)).toHaveLength(3);
    expect(stdout.match(/TRUSTED_PROXIES: 172\.28\.0\.10/g)).toHaveLength(2);
    expect(stdout).toContain("ipv4_address: 172.28.0.10");
    for (const node of ["nats-1", "nats-2", "nats-3"]) expect(stdout).toContain(`NATS_SERVER_NAME: ${node}`);
  });

  it("pnpm keys prints every variable the compose file requires", async () => {
    const { stdout } = await run("pnpm", ["--silent", "keys"], { cwd: root });
    const generated = Object.fromEntries(stdout.trim().split("\n").map((l) => l.split(/=(.*)/s).slice(0, 2)));
    const compose = await readFile(`${root}docker-compose.yml`, "utf8");
    const required = [...new Set([...compose.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]!))];
    for (const name of required) expect(generated[name], name).toBeTruthy();
  });

  composeIt("refuses to start without its secrets, naming the missing one", async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in secrets)));
    await expect(run("docker-compose", ["-f", "docker-compose.yml", "config"], { cwd: root, env })).rejects.toThrow(/set (NATS_|POSTGRES_|SECRET_KEY)/);
  });

  it("ships a nats-server config that parses, fsyncs before acknowledging, and wires the callout", async () => {
    const path = `${root}infra/docker/nats-server.conf`;
    expect(await readFile(path, "utf8")).toMatch(/^\s*sync_interval:\s*always\s*$/m);
    const { stdout, stderr } = await run(testStack().natsServerBin, ["-t", "-c", path], {
      env: { ...process.env, ...secrets, NATS_SERVER_NAME: "t" },
    });
    expect(stdout + stderr).toMatch(/is valid/);
    // The callout's key must reach the config: an unset variable must not be silently empty.
    const text = await readFile(path, "utf8");
    expect(text).toMatch(/issuer: \$CALLOUT_ISSUER_PUBLIC_KEY/);
    // Monitoring (no authentication; lists every subscription) only inside the container.
    expect(text).toMatch(/^http: "127\.0\.0\.1:8222"$/m);
    expect(text).toMatch(/limits \{ max_connections: \d+, max_subscriptions: 256, max_payload: 65536 \}/);
    const missing = { ...process.env, ...secrets, NATS_SERVER_NAME: "t", CALLOUT_ISSUER_PUBLIC_KEY: "" };
    await expect(run(testStack().natsServerBin, ["-t", "-c", path], { env: missing })).rejects.toThrow();
  });
});
