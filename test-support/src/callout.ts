import { randomBytes } from "node:crypto";
import {
  calloutNatsConfig,
  generateCalloutKeys,
  loadCalloutConfig,
  startCallout,
  type CalloutConfigBlocks,
  type RunningCallout,
} from "@wb/authz";
import type { NatsServer } from "@wb/stack";

type CalloutLog = Parameters<typeof startCallout>[1];

/**
 * The auth callout wired as `pnpm start` does it: fresh issuer and xkey keys and a password for
 * the callout's NATS user; the accounts and authorization blocks that go into the nats-server
 * config; and the callout service (with revocation) started against that server.
 */
export interface CalloutWiring {
  /** Pass as `callout` to startPrivateNats / startNats. */
  natsConfig: CalloutConfigBlocks;
  /**
   * Starts the callout service for a server started with `natsConfig`, reading users from
   * `databaseUrl`. `env` sets any other CALLOUT_* variable (see authz's callout/main.ts).
   */
  start(opts: { nats: Pick<NatsServer, "url" | "users">; databaseUrl: string; log: CalloutLog; env?: Record<string, string> }): Promise<RunningCallout>;
}

export function calloutWiring(stream = "WEBHOOKS"): CalloutWiring {
  const keys = generateCalloutKeys();
  const calloutPassword = randomBytes(18).toString("base64url");
  return {
    natsConfig: calloutNatsConfig({ issuerPublicKey: keys.issuerPublicKey, xkeyPublicKey: keys.xkeyPublicKey, stream, calloutPassword }),
    start: ({ nats, databaseUrl, log, env = {} }) =>
      startCallout(
        loadCalloutConfig({
          NATS_URL: nats.url,
          CALLOUT_NATS_PASSWORD: calloutPassword,
          NATS_SYS_PASSWORD: nats.users.sys.password,
          DATABASE_URL: databaseUrl,
          CALLOUT_ISSUER_SEED: keys.issuerSeed,
          CALLOUT_XKEY_SEED: keys.xkeySeed,
          STREAM_NAME: stream,
          // Any free port (tests run in parallel); read it from RunningCallout.metrics.
          CALLOUT_METRICS_PORT: "0",
          CALLOUT_METRICS_HOST: "127.0.0.1",
          ...env,
        }),
        log,
        // Process metrics (an event-loop monitor each) would pile up across a file's brokers.
        { processMetrics: false },
      ),
  };
}
