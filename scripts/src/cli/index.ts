/**
 * The admin CLI: `pnpm cli <noun> <verb>`. One file per noun; each registers its verbs on the
 * program built here. Exit codes: 0 ok, 1 a domain error (BrokerError: exists, not found,
 * invalid), 2 a usage or configuration error.
 *
 * runCli() takes its environment and output streams as arguments, so tests run it in-process.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { BrokerError } from "@wb/authz";
import { withLocalEnv } from "../local-env.js";
import { CliContext, describeError, UsageError, type CliIo } from "./context.js";
import { consumersCommand } from "./consumers.js";
import { deadLettersCommand } from "./dead-letters.js";
import { endpointsCommand } from "./endpoints.js";
import { membersCommand } from "./members.js";
import { orgsCommand } from "./orgs.js";
import { streamCommand } from "./stream.js";
import { subscriptionsCommand } from "./subscriptions.js";
import { loginCommand } from "./login.js";
import { signingKeysCommand } from "./signing-keys.js";
import { tokensCommand } from "./tokens.js";
import { usersCommand } from "./users.js";
import { reservationsCommand } from "./reservations.js";
import { auditCommand } from "./audit.js";
import { secretKeyCommand } from "./secret-key.js";
import { dbCommand } from "./db.js";

export { UsageError, type CliIo } from "./context.js";

export const EXIT_OK = 0;
export const EXIT_DOMAIN = 1;
export const EXIT_USAGE = 2;

/** The nouns, in help order. */
const NOUNS = [
  usersCommand,
  tokensCommand,
  orgsCommand,
  membersCommand,
  endpointsCommand,
  reservationsCommand,
  subscriptionsCommand,
  consumersCommand,
  deadLettersCommand,
  streamCommand,
  signingKeysCommand,
  secretKeyCommand,
  dbCommand,
  auditCommand,
  loginCommand,
];

/** Builds the command tree for one invocation (no module state: tests run many in parallel). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("pnpm cli")
    .description("webhook-broker admin CLI: users, tokens, organizations, members, endpoints, reservations, subscriptions, consumers, dead letters, stream, signing keys, secret key, audit")
    .option("--json", "print JSON for scripts instead of tables", false)
    .addHelpText(
      "after",
      "\nConfiguration: DATABASE_URL and SECRET_KEY (required), NATS_URL, NATS_USER, NATS_PASSWORD\n" +
        "(the admin NATS user; required by consumers and stream), STREAM_NAME (default WEBHOOKS);\n" +
        "unset variables are read from the local stack's .data/broker.env (written by `pnpm start`).",
    )
    // Settings made here are inherited by every command created below with .command().
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
    })
    .showHelpAfterError("(add --help for usage)")
    .hook("preAction", (_program, action) => {
      ctx.json = action.optsWithGlobals<{ json?: boolean }>().json === true;
      // Validate the configuration before any work, with every problem listed at once. `login`
      // is a client of a broker over HTTP and needs none of it.
      if (action.name() !== "login") ctx.config();
    });
  for (const register of NOUNS) register(program, ctx);
  return program;
}

/** Runs one CLI invocation (`argv` without node and script) and resolves to its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // Drop undefined entries first: in a spread they would hide the local stack's values.
  const given = Object.fromEntries(Object.entries(io.env).filter(([, v]) => v !== undefined));
  const ctx = new CliContext({ ...io, env: withLocalEnv(given) });
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (err) {
    // Commander has already printed its message (or the help).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // BrokerError is the domain's "no" (exists, not found, invalid); anything else (database
    // unreachable, a bug) also fails the command, with its one-line reason.
    io.stderr.write(`error: ${err instanceof BrokerError ? err.message : describeError(err)}\n`);
    return EXIT_DOMAIN;
  } finally {
    await ctx.close();
  }
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
}
