import { Option, type Command } from "commander";
import {
  BrokerError,
  createEndpointAs,
  deleteEndpoint,
  endpointChanged,
  findPlacementViolations,
  getEndpoint,
  listAllEndpoints,
  listOrganizations,
  listUsers,
  MAX_BODY_LIMIT,
  rotateEndpointSecret,
  updateEndpointAs,
  viewEndpoint,
  parseBytes,
  parseDuration,
  type Db,
  type EndpointChanged,
  type EndpointPatch,
  type EndpointView,
  type Limits,
  type schema,
} from "@wb/authz";
import { providerNames, validateProviderOptions } from "@wb/gateway";
import { UsageError, type CliContext } from "./context.js";

/** `--option k=v`: values that read as JSON (numbers, booleans, arrays) are parsed, others stay strings. */
export function parseProviderOptions(pairs: readonly string[]): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option: expected key=value, got ${JSON.stringify(pair)}`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== "string" && parsed !== null) value = parsed;
    } catch {
      // Not JSON: a plain string such as a header name.
    }
    options[pair.slice(0, eq)] = value;
  }
  return options;
}

/** `--max-body`: a size up to 64 MiB (the server's max_payload is checked by the shared rule). */
function parseMaxBody(text: string): number {
  const n = parseBytes(text);
  if (n === undefined || n < 1 || n > MAX_BODY_LIMIT) {
    throw new UsageError(`--max-body: expected a size between 1 byte and 64MiB (e.g. 1MiB, 512KiB), got ${text}`);
  }
  return n;
}

/** What the CLI shows: the API's view (never the secret) plus the owner's name. */
type ShownEndpoint = Omit<EndpointView, "owner"> & { owner: EndpointView["owner"] & { name: string | null } };

async function ownerNamer(db: Db): Promise<(e: schema.Endpoint) => ShownEndpoint> {
  const [users, orgs] = await Promise.all([listUsers(db), listOrganizations(db)]);
  const names = new Map<string, string>([...users, ...orgs].map((x) => [x.id, x.name]));
  return (e) => {
    const view = viewEndpoint(e);
    return { ...view, owner: { ...view.owner, name: names.get(view.owner.id) ?? null } };
  };
}

async function requireEndpoint(db: Db, id: string): Promise<schema.Endpoint> {
  const e = await getEndpoint(db, id);
  if (!e) throw new BrokerError("not_found", `endpoint ${id} not found`);
  return e;
}

const ownerLabel = (e: ShownEndpoint) => `${e.owner.type === "user" ? "user" : "org"}:${e.owner.name ?? e.owner.id}`;

export function endpointsCommand(program: Command, ctx: CliContext): void {
  const endpoints = program.command("endpoints").description("register, list, show and delete webhook endpoints");

  /** Gateways cache endpoints; tell them, or they notice only at their next refresh. */
  const announce = (id: string, change: EndpointChanged["change"]) => ctx.announce(endpointChanged({ id, change }));
  /** The API's checks: a body limit must fit under the running server's max_payload, so it is asked when one is given. */
  const limits = async (maxBodyBytes: number | null | undefined): Promise<Limits> => ({
    maxPayload: maxBodyBytes ? await ctx.maxPayload() : undefined,
    validateOptions: validateProviderOptions,
  });

  endpoints
    .command("create")
    .description("register an endpoint under /webhook/<path>; its signing secret is printed once")
    .argument("<path>", "path prefix below /webhook/, e.g. github/myorg/myrepo")
    .requiredOption("--provider <name>", `signature scheme: ${providerNames.join(", ")}`)
    .option("--secret <secret>", "the signing secret the sender uses (default: a generated one, printed once)")
    .addOption(new Option("--owner-user <user>", "owned by this user").conflicts("ownerOrg"))
    .addOption(new Option("--owner-org <org>", "owned by this organization (readable by all its members)"))
    .option("--public", "readable by every authenticated user", false)
    .option("--max-body <size>", "body size limit for this endpoint, e.g. 1MiB (default: the gateway's); checked against the NATS server's max_payload")
    .option("--option <key=value...>", "provider option, repeatable (e.g. --option header=X-Signature)")
    .option("--description <text>", "what sends here, who to ask")
    .option("--repository-scoped", "readable only by members GitHub lets read the repository (path github/<linked GitHub org>/<repo>/...)", false)
    .addHelpText("after", "\nExactly one of --owner-user and --owner-org is required. The ownership rules apply as in the API:\nno endpoint nested under or around another owner's, none in another's namespace (u/<user>, o/<org>) or reservation.")
    .action(
      async (
        path: string,
        opts: { provider: string; secret?: string; ownerUser?: string; ownerOrg?: string; public: boolean; maxBody?: string; option?: string[]; description?: string; repositoryScoped: boolean },
      ) => {
        if (!opts.ownerUser && !opts.ownerOrg) throw new UsageError("an owner is required: --owner-user <user> or --owner-org <org>");
        const maxBodyBytes = opts.maxBody === undefined ? undefined : parseMaxBody(opts.maxBody);
        const providerOptions = parseProviderOptions(opts.option ?? []);
        const db = await ctx.db();
        // The API's own function: ownership of paths, public, body limit, options (the CLI acts as a global admin).
        const { endpoint, secret } = await createEndpointAs(
          db,
          ctx.box(),
          ctx.acting(),
          {
            path,
            provider: opts.provider,
            providerOptions,
            secret: opts.secret,
            owner: opts.ownerUser ? { user: opts.ownerUser } : { organization: opts.ownerOrg! },
            isPublic: opts.public,
            maxBodyBytes,
            description: opts.description,
            repositoryScoped: opts.repositoryScoped,
          },
          await limits(maxBodyBytes),
        );
        await announce(endpoint.id, "created");
        const shown = (await ownerNamer(db))(endpoint);
        const generated = opts.secret === undefined;
        if (ctx.json) {
          // Like the API's 201: the secret is in this one answer and never again.
          if (generated) ctx.out.warn("store the signing secret now: it is shown only this once.");
          return ctx.out.json({ ...shown, secret });
        }
        const summary = `created endpoint ${shown.id}: ${shown.url_path} (${shown.provider}, ${ownerLabel(shown)}${shown.public ? ", public" : ""})`;
        if (!generated) return ctx.out.line(summary);
        // stdout carries only the secret, so `SECRET=$(pnpm cli endpoints create ...)` works.
        ctx.out.note(summary);
        ctx.out.warn("store the signing secret now: it is shown only this once.");
        ctx.out.line(secret);
      },
    );

  endpoints
    .command("list")
    .description("list all endpoints (never their secrets)")
    .action(async () => {
      const db = await ctx.db();
      const name = await ownerNamer(db);
      const rows = (await listAllEndpoints(db)).map(name);
      if (ctx.json) return ctx.out.json({ endpoints: rows });
      ctx.out.table(
        rows,
        {
          id: (e) => e.id,
          path: (e) => e.url_path,
          provider: (e) => e.provider,
          owner: ownerLabel,
          public: (e) => e.public,
          "max body": (e) => e.max_body_bytes,
          created: (e) => new Date(e.created_at),
        },
        "endpoints",
      );
    });

  endpoints
    .command("show")
    .description("show one endpoint (never its secret)")
    .argument("<id>", "the endpoint's id (see `endpoints list`)")
    .action(async (id: string) => {
      const db = await ctx.db();
      const e = await requireEndpoint(db, id);
      const shown = (await ownerNamer(db))(e);
      if (ctx.json) return ctx.out.json(shown);
      ctx.out.record({
        id: shown.id,
        path: shown.url_path,
        provider: shown.provider,
        options: Object.keys(shown.provider_options).length ? JSON.stringify(shown.provider_options) : null,
        owner: ownerLabel(shown),
        public: shown.public,
        "max body": shown.max_body_bytes,
        "secret rotation": e.previousSecretEnc ? `previous secret valid until ${e.previousSecretExpiresAt?.toISOString() ?? "?"}` : null,
        created: new Date(shown.created_at),
      });
    });

  endpoints
    .command("rotate-secret")
    .description("give an endpoint a new signing secret (printed once); the old one keeps verifying for a while")
    .argument("<id>", "the endpoint's id (see `endpoints list`)")
    .option("--secret <secret>", "the new secret (default: a generated one)")
    .option("--previous-valid-for <duration>", "how long the old secret still verifies, e.g. 24h; 0s cuts it off", "24h")
    .action(async (id: string, opts: { secret?: string; previousValidFor: string }) => {
      const previousValidFor = parseDuration(opts.previousValidFor);
      if (previousValidFor === undefined) throw new UsageError(`--previous-valid-for: expected a duration such as 30m, 24h, 0s, got ${opts.previousValidFor}`);
      const db = await ctx.db();
      const e = await requireEndpoint(db, id);
      const { secret, previousExpiresAt } = await rotateEndpointSecret(db, ctx.box(), e.id, { secret: opts.secret, previousValidFor }, ctx.acting());
      await announce(e.id, "rotated");
      const until = previousExpiresAt ? `the previous secret verifies until ${previousExpiresAt.toISOString()}` : "the previous secret no longer verifies";
      if (ctx.json) return ctx.out.json({ id: e.id, secret, previous_secret_expires_at: previousExpiresAt?.toISOString() ?? null });
      if (opts.secret !== undefined) return ctx.out.line(`rotated the secret of endpoint ${e.id}; ${until}`);
      ctx.out.note(`rotated the secret of endpoint ${e.id}; ${until}`);
      ctx.out.warn("store the signing secret now: it is shown only this once.");
      ctx.out.line(secret);
    });

  endpoints
    .command("delete")
    .description("delete an endpoint; webhooks to its path get 404 from then on (stored messages stay)")
    .argument("<id>", "the endpoint's id (see `endpoints list`)")
    .action(async (id: string) => {
      const db = await ctx.db();
      const e = await requireEndpoint(db, id);
      await deleteEndpoint(db, e.id, ctx.acting());
      await announce(e.id, "deleted");
      if (ctx.json) ctx.out.json({ id: e.id, deleted: true });
      else ctx.out.line(`deleted endpoint ${e.id} (${viewEndpoint(e).url_path})`);
    });

  maintenanceVerbs(endpoints, ctx, announce, limits);
}

/** `update` and `audit`: the verbs that change or check endpoints after creation. */
function maintenanceVerbs(
  endpoints: Command,
  ctx: CliContext,
  announce: (id: string, change: EndpointChanged["change"]) => Promise<void>,
  limits: (maxBodyBytes: number | null | undefined) => Promise<Limits>,
): void {
  endpoints
    .command("update")
    .description("change an endpoint's description, public flag, provider options or body limit (the path and provider are fixed)")
    .argument("<id>", "the endpoint's id (see `endpoints list`)")
    .option("--description <text>", "new description (\"\" clears it)")
    .addOption(new Option("--public", "make it readable by every authenticated user").conflicts("private"))
    .option("--private", "readable only by its owner (and the organization's members)")
    .addOption(new Option("--max-body <size>", "new body size limit, e.g. 1MiB; checked against the NATS server's max_payload").conflicts("defaultMaxBody"))
    .option("--default-max-body", "back to the gateway's default body limit")
    .option("--option <key=value...>", "replaces all provider options (repeatable)")
    .option("--clear-options", "removes all provider options")
    .addOption(new Option("--repository-scoped", "readable only by members GitHub lets read its repository").conflicts("notRepositoryScoped"))
    .option("--not-repository-scoped", "readable by all the organization's members again")
    .action(
      async (
        id: string,
        opts: {
          description?: string;
          public?: boolean;
          private?: boolean;
          maxBody?: string;
          defaultMaxBody?: boolean;
          option?: string[];
          clearOptions?: boolean;
          repositoryScoped?: boolean;
          notRepositoryScoped?: boolean;
        },
      ) => {
        if (opts.option && opts.clearOptions) throw new UsageError("--option and --clear-options exclude each other");
        const patch: EndpointPatch = {
          description: opts.description === undefined ? undefined : opts.description === "" ? null : opts.description,
          isPublic: opts.public ? true : opts.private ? false : undefined,
          maxBodyBytes: opts.defaultMaxBody ? null : opts.maxBody === undefined ? undefined : parseMaxBody(opts.maxBody),
          providerOptions: opts.clearOptions ? {} : opts.option ? parseProviderOptions(opts.option) : undefined,
          repositoryScoped: opts.repositoryScoped ? true : opts.notRepositoryScoped ? false : undefined,
        };
        if (Object.values(patch).every((v) => v === undefined)) throw new UsageError("nothing to change: give --description, --public/--private, --max-body/--default-max-body, --option/--clear-options or --repository-scoped/--not-repository-scoped");
        const db = await ctx.db();
        const { endpoint, accessChanged } = await updateEndpointAs(db, ctx.acting(), id, patch, await limits(patch.maxBodyBytes));
        await announce(endpoint.id, "updated");
        const shown = (await ownerNamer(db))(endpoint);
        if (ctx.json) return ctx.out.json({ ...shown, access_changed: accessChanged });
        ctx.out.line(`updated endpoint ${shown.id}: ${shown.url_path} (${ownerLabel(shown)}${shown.public ? ", public" : ""})`);
      },
    );

  endpoints
    .command("audit")
    .description("report endpoints that break the ownership rules (nested under or around another owner's, in another's namespace or reservation); changes nothing")
    .action(async () => {
      const db = await ctx.db();
      const found = await findPlacementViolations(db);
      if (ctx.json) ctx.out.json({ violations: found.map((v) => ({ endpoint_id: v.endpointId, path: v.path, owner: v.owner, rule: v.rule, with: v.with, reason: v.reason })) });
      else if (found.length === 0) ctx.out.line("no endpoint breaks the ownership rules");
      else
        ctx.out.table(
          found,
          { id: (v) => v.endpointId, path: (v) => `/webhook/${v.path}`, owner: (v) => `${v.owner.type === "user" ? "user" : "org"}:${v.owner.name}`, rule: (v) => v.rule, with: (v) => v.with.join(" "), reason: (v) => v.reason },
          "violations",
        );
      // Exit 1 when there is anything to look at, so a script can check.
      if (found.length > 0) throw new BrokerError("conflict", `${found.length} ownership violation(s) found; nothing was changed`);
    });
}
