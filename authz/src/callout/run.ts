/**
 * The auth callout as a process: `node dist/bin/callout.mjs` in the image (docker-compose.yml),
 * `pnpm exec tsx authz/src/callout/run.ts` from the workspace. Its own entry module, so that
 * importing the callout (the gateway and the CLI do, through @wb/authz) never starts one.
 */
import { createLogger } from "../log.js";
import { loadCalloutConfig, startCallout, type CalloutConfig } from "./main.js";

let config: CalloutConfig;
try {
  config = loadCalloutConfig(process.env);
} catch (err) {
  // Before a logger exists (LOG_LEVEL itself may be what is wrong): one plain line on stderr.
  console.error((err as Error).message);
  process.exit(2);
}
const log = createLogger("callout", { level: config.LOG_LEVEL, format: config.LOG_FORMAT });
try {
  const running = await startCallout(config, log);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void running.stop().then(() => process.exit(0)));
  }
} catch (err) {
  log.fatal({ err }, "auth callout: failed to start");
  process.exit(1);
}
