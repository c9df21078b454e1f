// The scripts package is an application: `pnpm start`, `pnpm cli`, `pnpm bench` and `pnpm keys`
// run its files directly. This entry is its whole library surface (nothing else may be imported).
export { runCli, type CliIo } from "./cli/index.js";
