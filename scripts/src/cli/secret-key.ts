import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { resealSecrets, SecretBox } from "@wb/authz";
import { localEnvPath, readEnvFile, writeEnvFile } from "../local-env.js";
import { UsageError, type CliContext } from "./context.js";

/**
 * SECRET_KEY seals every endpoint secret and JWT signing key at rest. Rotating it re-seals them
 * all in one transaction; the gateways must then restart with the new key.
 */
export function secretKeyCommand(program: Command, ctx: CliContext): void {
  const key = program.command("secret-key").description("re-seal every stored secret under a new SECRET_KEY");

  key
    .command("rotate")
    .description(
      "re-seal every endpoint secret, signing key and GitHub token under a new key (generated, or --new-key); the local stack's broker.env is updated when it holds the old key. Stop the gateways first and restart them with the new key.",
    )
    .option("--new-key <base64>", "the new key: 32 random bytes, base64 (default: generated)")
    .action(async (opts: { newKey?: string }) => {
      const next = opts.newKey ?? randomBytes(32).toString("base64");
      if (Buffer.from(next, "base64").length !== 32) throw new UsageError("--new-key must be 32 bytes, base64-encoded (openssl rand -base64 32)");
      const to = new SecretBox(Buffer.from(next, "base64"));
      const moved = await resealSecrets(await ctx.db(), ctx.box(), to);
      // The local stack reads its key from broker.env: move it along, or `pnpm start` would refuse.
      const path = localEnvPath(ctx.io.env);
      const saved = readEnvFile(path);
      const local = saved.SECRET_KEY !== undefined && Buffer.from(saved.SECRET_KEY, "base64").equals(ctx.config().SECRET_KEY);
      if (local) await writeEnvFile(path, { ...saved, SECRET_KEY: next });
      if (ctx.json) return ctx.out.json({ secret_key: next, endpoints: moved.endpoints, signing_keys: moved.signingKeys, github_tokens: moved.githubTokens, updated: local ? path : null });
      ctx.out.line(`re-sealed ${moved.endpoints} endpoint(s), ${moved.signingKeys} signing key(s) and ${moved.githubTokens} user(s)' GitHub tokens under the new key`);
      if (local) ctx.out.line(`saved it in ${path}; restart \`pnpm start\``);
      else ctx.out.line(`SECRET_KEY=${next}\nput it where the gateways read SECRET_KEY (.env) and restart them: until then they cannot open the re-sealed secrets`);
    });
}
