/**
 * The auth callout in the local stack (`pnpm start`): keys generated on first start and kept in
 * broker.env (mode 0600), the nats-server config blocks, and the service run in-process.
 */
import { randomBytes } from "node:crypto";
import {
  generateCalloutKeys,
  publicKeysOf,
  loadCalloutConfig,
  startCallout,
  calloutNatsConfig,
  type CalloutConfigBlocks,
  type Logger,
} from "@wb/authz";
import type { NatsServer } from "@wb/stack";

export interface LocalCallout {
  /** What to persist in broker.env. */
  secrets: { CALLOUT_ISSUER_SEED: string; CALLOUT_XKEY_SEED: string; CALLOUT_NATS_PASSWORD: string };
  natsConfig: CalloutConfigBlocks;
  /** Starts the service against the local server; resolves to its stop function. */
  start(nats: NatsServer, databaseUrl: string, log: Logger): Promise<() => Promise<void>>;
}

/**
 * `env`: the operator's environment, for the callout's metrics settings only (CALLOUT_METRICS_PORT,
 * CALLOUT_METRICS_HOST, METRICS_TOKEN); everything else is the local stack's.
 */
export function localCallout(saved: Record<string, string>, stream: string, env: Record<string, string | undefined> = {}): LocalCallout {
  const fresh = saved.CALLOUT_ISSUER_SEED && saved.CALLOUT_XKEY_SEED ? undefined : generateCalloutKeys();
  const secrets = {
    CALLOUT_ISSUER_SEED: saved.CALLOUT_ISSUER_SEED ?? fresh!.issuerSeed,
    CALLOUT_XKEY_SEED: saved.CALLOUT_XKEY_SEED ?? fresh!.xkeySeed,
    CALLOUT_NATS_PASSWORD: saved.CALLOUT_NATS_PASSWORD ?? randomBytes(18).toString("base64url"),
  };
  const pub = publicKeysOf({ issuerSeed: secrets.CALLOUT_ISSUER_SEED, xkeySeed: secrets.CALLOUT_XKEY_SEED });
  return {
    secrets,
    natsConfig: calloutNatsConfig({ issuerPublicKey: pub.issuer, xkeyPublicKey: pub.xkey, stream, calloutPassword: secrets.CALLOUT_NATS_PASSWORD }),
    async start(nats, databaseUrl, log) {
      const running = await startCallout(
        loadCalloutConfig({
          NATS_URL: nats.url,
          CALLOUT_NATS_PASSWORD: secrets.CALLOUT_NATS_PASSWORD,
          NATS_SYS_PASSWORD: nats.users.sys.password,
          DATABASE_URL: databaseUrl,
          CALLOUT_ISSUER_SEED: secrets.CALLOUT_ISSUER_SEED,
          CALLOUT_XKEY_SEED: secrets.CALLOUT_XKEY_SEED,
          STREAM_NAME: stream,
          CALLOUT_METRICS_PORT: env.CALLOUT_METRICS_PORT,
          CALLOUT_METRICS_HOST: env.CALLOUT_METRICS_HOST,
          METRICS_TOKEN: env.METRICS_TOKEN,
        }),
        log,
      );
      log.info(`auth callout: NATS clients connect to ${nats.url} with their API token (see README, "Direct NATS access")`);
      if (running.metrics) log.info(`auth callout: metrics at ${running.metrics.url}/metrics`);
      return running.stop;
    },
  };
}
