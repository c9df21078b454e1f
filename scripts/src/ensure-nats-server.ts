/**
 * Prints the path of a nats-server >= 2.12 on stdout, fetching one into the project cache if
 * needed (see stack/nats-binary.ts). Progress goes to stderr, so `$(tsx ...)` captures the path.
 */
import { ensureNatsServer } from "@wb/stack";

try {
  console.log(await ensureNatsServer((msg) => console.error(`[nats-server] ${msg}`)));
} catch (err) {
  console.error(`[nats-server] ${(err as Error).message}`);
  process.exitCode = 1;
}
