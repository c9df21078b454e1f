import { ConfigError, loadConfig } from "./config.js";
import { createLogger, startGateway } from "./gateway.js";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = createLogger(config.LOG_LEVEL);
const gateway = await startGateway(config, log);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "draining");
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  });
}
