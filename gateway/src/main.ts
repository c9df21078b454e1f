import { createLogger } from "@wb/authz";
import { ConfigError, loadConfig } from "./config.js";
import { startGateway } from "./gateway.js";

let config;
try {
  config = loadConfig();
} catch (err) {
  // Before a logger exists (LOG_LEVEL itself may be what is wrong): plain lines on stderr.
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = createLogger("gateway", { level: config.LOG_LEVEL, format: config.LOG_FORMAT });
const gateway = await startGateway(config, log);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "draining");
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  });
}
