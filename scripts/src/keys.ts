/**
 * `pnpm keys`: every secret a production deployment needs, as `.env` lines for
 * docker-compose.yml. Run once, keep the output secret (it goes to stdout only).
 */
import { randomBytes } from "node:crypto";
import { generateCalloutKeys } from "@wb/authz";

const password = () => randomBytes(24).toString("base64url");
const keys = generateCalloutKeys();
const lines = {
  SECRET_KEY: randomBytes(32).toString("base64"),
  POSTGRES_PASSWORD: password(),
  NATS_GATEWAY_PASSWORD: password(),
  NATS_ADMIN_PASSWORD: password(),
  NATS_SYS_PASSWORD: password(),
  CALLOUT_NATS_PASSWORD: password(),
  CALLOUT_ISSUER_SEED: keys.issuerSeed,
  CALLOUT_XKEY_SEED: keys.xkeySeed,
  // Public halves, for the nats-server config.
  CALLOUT_ISSUER_PUBLIC_KEY: keys.issuerPublicKey,
  CALLOUT_XKEY_PUBLIC_KEY: keys.xkeyPublicKey,
  // Optional in the compose file: the bearer for /metrics, and Grafana's admin password.
  METRICS_TOKEN: password(),
  GRAFANA_ADMIN_PASSWORD: password(),
};
process.stdout.write(Object.entries(lines).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
