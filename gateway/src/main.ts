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
// PostgreSQL down is not a reason to stop (startGateway serves and retries); anything else that
// stops the start (NATS unreachable, a wrong database password) is one logged line, then exit 1.
const gateway = await startGateway(config, log).catch((err) => {
  // A setting the running system refuses (a retention change that deletes deliveries, a body
  // limit over max_payload): its whole message, which names the fix.
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  log.fatal({ err }, `cannot start: ${(err as Error).message.split("\n")[0]}`);
  process.exit(1);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "draining");
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  });
}
