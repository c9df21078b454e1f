import type { Command } from "commander";
import { ensureSigningKey, listSigningKeys, rotateSigningKey, parseDuration } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";
import { iso } from "./output.js";

function state(k: { retiredAt: Date | null; verifyUntil: Date | null }, now = Date.now()): string {
  if (!k.retiredAt) return "signing";
  return k.verifyUntil && k.verifyUntil.getTime() > now ? "verifying" : "expired";
}

/** The keys that sign the broker's access JWTs (GET /.well-known/jwks.json publishes them). */
export function signingKeysCommand(program: Command, ctx: CliContext): void {
  const keys = program.command("signing-keys").description("list and rotate the keys that sign access tokens (JWT)");

  keys
    .command("list")
    .description("every key: signing (the current one), verifying (retired, its tokens may still be alive) or expired")
    .action(async () => {
      const rows = await listSigningKeys(await ctx.db());
      if (ctx.json) {
        return ctx.out.json({
          keys: rows.map((k) => ({ kid: k.kid, state: state(k), created_at: iso(k.createdAt), retired_at: iso(k.retiredAt), verify_until: iso(k.verifyUntil) })),
        });
      }
      ctx.out.table(rows, { kid: (k) => k.kid, state: (k) => state(k), created: (k) => k.createdAt, retired: (k) => k.retiredAt, "verify until": (k) => k.verifyUntil }, "signing keys");
    });

  keys
    .command("rotate")
    .description("make a new signing key now; the previous one keeps verifying until its last token expires")
    .option("--access-ttl <duration>", "the gateways' ACCESS_TOKEN_TTL (how long the old key's tokens may live)", "15m")
    .action(async (opts: { accessTtl: string }) => {
      const ttl = parseDuration(opts.accessTtl);
      if (!ttl) throw new UsageError(`--access-ttl: not a duration: ${opts.accessTtl} (use e.g. 15m)`);
      const db = await ctx.db();
      await ensureSigningKey(db, ctx.box());
      const key = await rotateSigningKey(db, ctx.box(), ttl);
      if (ctx.json) ctx.out.json({ kid: key.kid, created_at: iso(key.createdAt) });
      else ctx.out.line(`new signing key ${key.kid}; the previous one verifies for ${opts.accessTtl} more (plus a minute of clock skew)`);
    });
}
