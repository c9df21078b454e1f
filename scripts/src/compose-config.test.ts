import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { renderComposeNatsConfig } from "./compose-config.js";

// gateway/test/deploy.test.ts checks that the committed file passes `nats-server -t`.
describe("infra/docker/nats-server.conf", () => {
  it("is what scripts/src/compose-config.ts renders (regenerate it after changing a renderer)", async () => {
    const committed = await readFile(new URL("../../infra/docker/nats-server.conf", import.meta.url), "utf8");
    expect(committed).toBe(renderComposeNatsConfig());
  });

  it("routes to all three compose nodes; each node's name comes from its environment", () => {
    const text = renderComposeNatsConfig();
    for (const node of ["nats-1", "nats-2", "nats-3"]) expect(text).toContain(`"nats-route://${node}:6222"`);
    expect(text).toMatch(/^server_name: \$NATS_SERVER_NAME$/m);
    expect(text).toMatch(/^\s*sync_interval: always$/m);
  });
});
