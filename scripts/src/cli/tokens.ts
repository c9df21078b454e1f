import type { Command } from "commander";
import { BrokerError, createApiToken, findUserByName, listApiTokens, revokeApiToken, parseDuration } from "@wb/authz";
import { UsageError, type CliContext } from "./context.js";
import { iso } from "./output.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `30d`, `12h`, `90m` from now, or an absolute ISO-8601 date/time in the future. */
export function parseExpiry(text: string, now = Date.now()): Date {
  const ms = /^\d+(\.\d+)?(s|m|h|d)$/.test(text) ? parseDuration(text) : undefined;
  const at = ms !== undefined ? new Date(now + ms) : /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--expires: not a duration or date: ${text} (use e.g. 30d, 12h or 2030-01-01)`);
  if (at.getTime() <= now) throw new UsageError(`--expires: ${text} is not in the future`);
  return at;
}

function status(t: { revokedAt: Date | null; expiresAt: Date | null }, now = Date.now()): string {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && t.expiresAt.getTime() <= now) return "expired";
  return "active";
}

export function tokensCommand(program: Command, ctx: CliContext): void {
  const tokens = program.command("tokens").description("create, list and revoke a user's API tokens");

  tokens
    .command("create")
    .description("create an API token; it is printed once, to stdout, and only its SHA-256 is stored")
    .argument("<user>", "the user's name")
    .option("--name <name>", "a label to tell tokens apart", "cli")
    .option("--expires <when>", "lifetime (e.g. 30d, 12h) or an ISO date; default: never")
    .action(async (userName: string, opts: { name: string; expires?: string }) => {
      const expiresAt = opts.expires === undefined ? undefined : parseExpiry(opts.expires);
      const db = await ctx.db();
      const user = await findUserByName(db, userName);
      if (user.disabledAt) throw new BrokerError("invalid_request", `user ${user.name} is disabled`);
      const { id, token } = await createApiToken(db, user.id, opts.name, expiresAt, ctx.acting());
      const expires = expiresAt ? `expires ${iso(expiresAt)}` : "never expires";
      ctx.out.note(`created token ${id} "${opts.name}" for ${user.name} (${expires}).`);
      ctx.out.warn("store the token now: it is shown only this once and cannot be recovered.");
      if (ctx.json) ctx.out.json({ id, user: user.name, name: opts.name, expires_at: iso(expiresAt), token });
      else ctx.out.line(token);
    });

  tokens
    .command("list")
    .description("list a user's tokens (never the tokens themselves)")
    .argument("<user>", "the user's name")
    .action(async (userName: string) => {
      const db = await ctx.db();
      const rows = await listApiTokens(db, (await findUserByName(db, userName)).id);
      if (ctx.json) {
        return ctx.out.json({
          tokens: rows.map((t) => ({
            id: t.id,
            name: t.name,
            display_prefix: t.displayPrefix,
            status: status(t),
            created_at: iso(t.createdAt),
            expires_at: iso(t.expiresAt),
            revoked_at: iso(t.revokedAt),
            last_used_at: iso(t.lastUsedAt),
          })),
        });
      }
      ctx.out.table(
        rows,
        {
          id: (t) => t.id,
          name: (t) => t.name,
          prefix: (t) => t.displayPrefix + "…",
          status: (t) => status(t),
          created: (t) => t.createdAt,
          expires: (t) => t.expiresAt,
          "last used": (t) => t.lastUsedAt,
        },
        "tokens",
      );
    });

  tokens
    .command("revoke")
    .description("revoke a token; it stops working at once, and NATS connections using it are closed")
    .argument("<token-id>", "the token's id (see `tokens list`)")
    .action(async (id: string) => {
      if (!UUID.test(id)) throw new BrokerError("not_found", `active token ${id} not found`);
      const { userId } = await revokeApiToken(await ctx.db(), id, ctx.acting());
      // The auth callout closes the connections that use it.
      await ctx.announceGrants({ user_ids: [userId], change: "token_revoked" });
      if (ctx.json) ctx.out.json({ id, revoked: true });
      else ctx.out.line(`revoked token ${id}`);
    });
}
