/** @jsxImportSource hono/jsx */
/**
 * The web inspector at /ui: server-rendered pages over the public API only. Every page and
 * action calls `/api/v1/...` in-process (`deps.api`, the app's own `request`) with the API
 * token of the signed-in browser, so the API's authorization is the only authorization here;
 * nothing in this file reads the database or NATS. The live tail is the API's SSE stream,
 * passed through (an EventSource cannot send an Authorization header; the cookie is /ui-scoped).
 */
import { createHash } from "node:crypto";
import { Hono, type Context } from "hono";
import { getCookie } from "hono/cookie";
import type { Child } from "hono/jsx";
import { CSS, JS } from "./assets.js";
import { testDeliveryCurl } from "./curl.js";
import { CopyBlock, Csrf, Facts, Login, Page, Table, Verified, type Nav } from "./pages.js";
import { clearUiCookies, COOKIE, csrfToken, csrfValid, parseSession, sameOrigin, SESSION_COOKIE, setUiCookies, type UiSession } from "./session.js";

export interface UiDeps {
  /** The app's own request handler: the public API, in-process. */
  api: (path: string, init?: RequestInit) => Response | Promise<Response>;
  /** Mark the cookie Secure (PUBLIC_URL is https). */
  secureCookie: boolean;
  /** Where senders reach the broker (PUBLIC_URL); else the request's origin. */
  publicUrl?: string;
  /** Sign in with GitHub is configured: the sign-in page offers it. */
  github: boolean;
}

/** What the sign-in page may say after a failed GitHub sign-in (`?failed=<code>`; never free text from the query). */
const GITHUB_FAILED: Record<string, string> = {
  github_access_denied: "You declined the authorization on GitHub.",
  invalid_request: "That sign-in was not started here or took too long. Try again.",
  github_unavailable: "GitHub cannot be reached right now. Try again later.",
};

interface Session {
  token: string;
  user: string;
  csrf: string;
  /** Signed in with GitHub: the session's refresh state (wb_ui_session). */
  github?: UiSession;
}

/** What POST /auth/refresh answers. */
interface Refreshed {
  access_token: string;
  refresh_token: string;
}

/** How long a refresh's answer is reused for the same (now spent) refresh token. */
const REFRESH_REUSE_MS = 60_000;

type ApiResult = { status: number; body: any };

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** What redirects after an action may report (never free text from the query). */
const RESULTS: Record<string, string> = {
  acked: "Acknowledged: this delivery will not come again.",
  naked: "Handed back: it will be delivered again.",
  terminated: "Terminated: it will not be delivered again (recorded as a dead letter).",
  not_delivered: "Not settled: this consumer has not delivered this message (yet).",
  redriven: "Redriven: the consumer delivers it again as a new message.",
  rewound: "Rewound: the consumer delivers again from the chosen start.",
};

export function uiRoutes(deps: UiDeps) {
  const app = new Hono<{ Variables: { session: Session } }>();

  const call = async (token: string, method: string, path: string, body?: unknown): Promise<ApiResult> => {
    const res = await deps.api(`/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  };
  /**
   * Refreshes a GitHub session's access token. A refresh token works once, and a second use
   * revokes the session; the browser may send several requests with the same spent cookie (the
   * live tail's stream beside a page), so one refresh per token runs, and its answer is reused
   * by requests that arrive with that token within a minute (on this gateway).
   */
  const refreshing = new Map<string, { at: number; answer: Promise<Refreshed | "refused" | "unavailable"> }>();
  const refresh = (refreshToken: string): Promise<Refreshed | "refused" | "unavailable"> => {
    const now = Date.now();
    for (const [k, v] of refreshing) if (now - v.at > REFRESH_REUSE_MS) refreshing.delete(k);
    const key = createHash("sha256").update(refreshToken).digest("base64url");
    let entry = refreshing.get(key);
    if (!entry) {
      const answer = (async () => {
        const res = await deps.api("/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh_token: refreshToken }) });
        if (res.status === 200) return (await res.json()) as Refreshed;
        if (res.status < 500) return "refused"; // spent, expired or revoked: that stays so
        refreshing.delete(key); // the database down: the next request tries again
        return "unavailable";
      })().catch((): "unavailable" => {
        refreshing.delete(key);
        return "unavailable";
      });
      entry = { at: now, answer };
      refreshing.set(key, entry);
    }
    return entry.answer;
  };
  const errorText = (r: ApiResult) => `${r.body?.error?.message ?? "request failed"} (${r.status} ${r.body?.error?.code ?? ""})`;

  app.use(async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Frame-Options", "DENY");
    // Not no-referrer: Chromium then sends `Origin: null` on same-origin form posts, which sameOrigin refuses.
    c.header("Referrer-Policy", "same-origin");
    c.header("X-Content-Type-Options", "nosniff");
    if (!c.req.path.startsWith("/ui/assets/")) c.header("Cache-Control", "no-store");
  });

  app.get("/assets/app.css", (c) => c.body(CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "max-age=300" }));
  app.get("/assets/app.js", (c) => c.body(JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=300" }));

  app.get("/login", (c) => {
    const failed = c.req.query("failed");
    return c.html(<Login github={deps.github} error={failed === undefined ? undefined : (GITHUB_FAILED[failed] ?? "Sign in with GitHub failed. Try again.")} />, failed === undefined ? 200 : 401);
  });
  app.post("/login", async (c) => {
    if (!sameOrigin(c.req.header("origin"), c.req.url)) return c.html(<Login github={deps.github} error="Refused: the form was sent from another site." />, 403);
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const me = token ? await call(token, "GET", "/me") : { status: 401, body: null };
    if (me.status !== 200) return c.html(<Login github={deps.github} error="That token was not accepted. Check it and try again." />, 401);
    setUiCookies(c, token, undefined, { secure: deps.secureCookie });
    return c.redirect("/ui/endpoints", 303);
  });

  // Everything below needs a signed-in browser.
  app.use(async (c, next) => {
    let token = getCookie(c, COOKIE);
    let github = parseSession(getCookie(c, SESSION_COOKIE));
    if (!token && !github) return c.redirect("/ui/login", 303);
    let me: ApiResult = token ? await call(token, "GET", "/me") : { status: 401, body: null };
    let refreshed = false;
    if (me.status === 401 && github) {
      // A GitHub session whose access token expired: refresh it, keep the same CSRF key.
      const fresh = await refresh(github.refresh);
      // Not signed out for an outage: the same cookies work once the API is back.
      if (fresh === "unavailable") return c.html(<Page title="Unavailable" notice={{ text: "The session could not be renewed right now; try again shortly.", error: true }} />, 503);
      if (fresh !== "refused") {
        token = fresh.access_token;
        github = { key: github.key, refresh: fresh.refresh_token };
        refreshed = true;
        me = await call(token, "GET", "/me");
      }
    }
    if (me.status === 401 || !token) {
      clearUiCookies(c);
      return c.redirect("/ui/login", 303);
    }
    if (me.status !== 200) return c.html(<Page title="Unavailable" notice={{ text: errorText(me), error: true }} />, 503);
    const csrfKey = github ? github.key : token;
    c.set("session", { token, user: me.body.user.name, csrf: csrfToken(csrfKey), github });
    if (c.req.method === "POST") {
      const form = await c.req.parseBody();
      if (!sameOrigin(c.req.header("origin"), c.req.url) || !csrfValid(csrfKey, form.csrf)) {
        return c.html(<Page title="Refused" notice={{ text: "This form did not come from this inspector page (CSRF check failed). Reload the page and try again.", error: true }} />, 403);
      }
    }
    await next();
    // On the final response (the live tail's stream is the API's own Response): the new tokens,
    // unless the route signed out.
    if (refreshed && c.req.path !== "/ui/logout") setUiCookies(c, token, github, { secure: deps.secureCookie });
  });

  const page = (c: Context<{ Variables: { session: Session } }>, title: string, nav: Nav | undefined, children: Child, status: 200 | 404 | 400 = 200) => {
    const s = c.get("session");
    const result = c.req.query("result");
    const problem = c.req.query("problem");
    const notice = problem ? { text: problem, error: true } : result && RESULTS[result] ? { text: RESULTS[result]! } : undefined;
    return c.html(
      <Page title={title} nav={nav} user={s.user} csrf={s.csrf} notice={notice}>
        {children}
      </Page>,
      status,
    );
  };
  const apiError = (c: Context<{ Variables: { session: Session } }>, r: ApiResult, nav?: Nav) =>
    page(c, r.status === 404 ? "Not found" : "Something went wrong", nav, <p class="notice error" role="alert">{errorText(r)}</p>, r.status === 404 ? 404 : 400);
  /** After an action: back to `to`, with the outcome as a known code or the API's error message. */
  const back = (c: Context, to: string, r: ApiResult, result: string) => {
    const u = new URL(to, "http://x");
    if (r.status >= 400) u.searchParams.set("problem", errorText(r));
    else u.searchParams.set("result", result);
    return c.redirect(u.pathname + u.search, 303);
  };

  app.get("/", (c) => c.redirect("/ui/endpoints", 303));

  app.post("/logout", async (c) => {
    // A GitHub session ends for good (its tokens are refused at once); an API token stays valid.
    const github = c.get("session").github;
    if (github) {
      const res = await deps.api("/auth/logout", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh_token: github.refresh }) });
      if (res.status !== 204) return c.html(<Page title="Not signed out" notice={{ text: `The session could not be ended (${res.status}); try again.`, error: true }} />, 503);
    }
    clearUiCookies(c);
    return c.redirect("/ui/login", 303);
  });

  app.get("/endpoints", async (c) => {
    const r = await call(c.get("session").token, "GET", "/endpoints");
    if (r.status !== 200) return apiError(c, r, "endpoints");
    const base = (deps.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, "");
    const endpoints = r.body.endpoints as any[];
    return page(
      c,
      "Endpoints",
      "endpoints",
      <>
        <p>The endpoints you may read. Send a test delivery with the snippet under each one: it signs like the provider does, with the endpoint's secret in <code>$WB_SECRET</code>.</p>
        {endpoints.length === 0 && <p class="muted">No endpoints yet.</p>}
        {endpoints.map((e, i) => {
          const url = `${base}${e.url_path}`;
          const curl = testDeliveryCurl(e.provider, url, e.provider_options);
          return (
            <section aria-labelledby={`ep-${i}`}>
              <h2 id={`ep-${i}`}>{e.path}</h2>
              <Facts
                rows={[
                  ["Webhook URL", <code>{url}</code>],
                  ["Provider", e.provider],
                  ["Visibility", e.public ? "public" : "private"],
                  ["Id", <code>{e.id}</code>],
                ]}
              />
              {curl ? (
                <CopyBlock id={`curl-${i}`} text={curl} label={`Signed test delivery for ${e.path}`} />
              ) : (
                <p class="muted">No one-line signer for {e.provider}: see the README's Providers section.</p>
              )}
            </section>
          );
        })}
      </>,
    );
  });

  const consumerOf = (c: Context) => {
    const q = c.req.query("consumer") ?? "default";
    return /^[a-z0-9_-]{1,32}$/.test(q) ? q : "default";
  };

  app.get("/tail", (c) => {
    const consumer = consumerOf(c);
    return page(
      c,
      "Live tail",
      "tail",
      <>
        <p>
          New deliveries to your consumer <strong>{consumer}</strong>, as they arrive (Server-Sent Events on the same durable as pulls: open one to ack it; unacked ones come back after the ack wait).
        </p>
        <form method="get" action="/ui/tail" class="row">
          <label>
            Consumer
            <input name="consumer" value={consumer} pattern="[a-z0-9_-]{1,32}" />
          </label>
          <button type="submit">Switch</button>
        </form>
        <p id="tail-status" class="status down" role="status" aria-live="polite">
          Connecting…
        </p>
        <Table
          caption="Deliveries, newest first"
          rows={[] as never[]}
          empty="Waiting for deliveries…"
          bodyId="tail-rows"
          bodyData={{ src: `/ui/stream?consumer=${consumer}`, consumer }}
          columns={[["Id", () => ""], ["Received", () => ""], ["Source", () => ""], ["Event", () => ""], ["Path", () => ""], ["Signature", () => ""], ["Delivery", () => ""]]}
        />
      </>,
    );
  });

  app.get("/stream", async (c) => {
    const last = c.req.header("last-event-id");
    return deps.api(`/api/v1/messages/stream?consumer=${encodeURIComponent(consumerOf(c))}`, {
      headers: { authorization: `Bearer ${c.get("session").token}`, accept: "text/event-stream", ...(last ? { "last-event-id": last } : {}) },
      signal: c.req.raw.signal,
    });
  });

  app.get("/messages/:id", async (c) => {
    const s = c.get("session");
    const id = Number(c.req.param("id"));
    const consumer = consumerOf(c);
    const notFound = { status: 404, body: { error: { code: "message_not_found", message: `message ${c.req.param("id")} not found` } } };
    if (!Number.isSafeInteger(id) || id < 1) return apiError(c, notFound);
    // One message by id, read-only (a redrive copy of his too), with where it stands on the consumer.
    const r = await call(s.token, "GET", `/messages/${id}?consumer=${encodeURIComponent(consumer)}`);
    if (r.status !== 200) return apiError(c, r);
    const m = r.body;
    const raw = await deps.api(`/api/v1/messages/${id}/raw`, { headers: { authorization: `Bearer ${s.token}` } });
    const rawBytes = raw.status === 200 ? new Uint8Array(await raw.arrayBuffer()) : undefined;
    const payload = m.payload_encoding === "json" ? JSON.stringify(m.payload, null, 2) : asText(Buffer.from(m.payload, "base64"));
    return page(
      c,
      `Message #${id}`,
      undefined,
      <>
        <Facts
          rows={[
            ["Signature", <Verified ok={m.verified} source={m.source} />],
            ["Event", m.event],
            ["Webhook path", <code>{m.webhook_path}</code>],
            ["Received", m.received_at],
            ["Delivery id", <code>{m.delivery_id}</code>],
            ["Content type", m.content_type],
            ["Delivery count", deliveryText(m.consumer)],
            ...(m.redrive_of ? ([["Redrive of", <a href={`/ui/messages/${m.redrive_of}?consumer=${consumer}`}>#{m.redrive_of}</a>]] as [string, Child][]) : []),
            ...(m.consumer.dead_letter?.redrive_id ? ([["Redriven as", <a href={`/ui/messages/${m.consumer.dead_letter.redrive_id}?consumer=${consumer}`}>#{m.consumer.dead_letter.redrive_id}</a>]] as [string, Child][]) : []),
          ]}
        />
        <h2>Settle on consumer {consumer}</h2>
        <div class="row">
          {(["ack", "nak", "term"] as const).map((kind) => (
            <form method="post" action={`/ui/messages/${id}/settle`} class="inline">
              <Csrf value={s.csrf} />
              <input type="hidden" name="consumer" value={consumer} />
              <input type="hidden" name="kind" value={kind} />
              <button type="submit" class={kind === "ack" ? "primary" : undefined}>
                {kind === "ack" ? "Ack" : kind === "nak" ? "Nak (deliver again)" : "Term (give up)"}
              </button>
            </form>
          ))}
        </div>
        <h2>Sender's headers</h2>
        <Table caption="As received" rows={Object.entries(m.headers as Record<string, string>)} empty="none" columns={[["Header", ([k]) => <code>{k}</code>], ["Value", ([, v]) => <code>{v}</code>]]} />
        <h2>Payload</h2>
        <section aria-label="Payload">
          <pre tabindex={0}>{payload}</pre>
        </section>
        <h2>Raw bytes</h2>
        {rawBytes ? (
          <>
            <p class="muted">{rawBytes.byteLength} bytes, exactly as received (what the signature covers).</p>
            <section aria-label="Raw bytes">
              <pre tabindex={0}>{asText(rawBytes)}</pre>
            </section>
          </>
        ) : (
          <p class="muted">Not available ({raw.status}).</p>
        )}
      </>,
    );
  });

  app.post("/messages/:id/settle", async (c) => {
    const form = await c.req.parseBody();
    const kind = ["ack", "nak", "term"].includes(String(form.kind)) ? String(form.kind) : "ack";
    const consumer = typeof form.consumer === "string" ? form.consumer : "default";
    const id = Number(c.req.param("id"));
    const r = await call(c.get("session").token, "POST", `/messages/${kind}`, { message_ids: [id], consumer });
    const done = r.body?.not_delivered?.length ? "not_delivered" : ({ ack: "acked", nak: "naked", term: "terminated" } as Record<string, string>)[kind]!;
    return back(c, `/ui/messages/${id}?consumer=${encodeURIComponent(consumer)}`, r, done);
  });

  app.get("/replay", async (c) => {
    const s = c.get("session");
    const consumer = consumerOf(c);
    const after = c.req.query("after_id");
    const r = after !== undefined && /^\d+$/.test(after) ? await call(s.token, "GET", `/messages?after_id=${after}&limit=50`) : undefined;
    if (r && r.status !== 200) return apiError(c, r, "replay");
    const messages = (r?.body.messages ?? []) as any[];
    return page(
      c,
      "Replay",
      "replay",
      <>
        <h2>Read from a sequence</h2>
        <p>Shows what is stored after an id, read-only: no consumer's position or acks change.</p>
        <form method="get" action="/ui/replay" class="row">
          <label>
            After id
            <input name="after_id" inputmode="numeric" pattern="\d+" value={after ?? "0"} required />
          </label>
          <button type="submit">Show</button>
        </form>
        {r && (
          <Table
            caption={`Stored after #${after}${r.body.has_more ? ` (more after #${r.body.next_cursor})` : ""}`}
            rows={messages}
            empty="Nothing stored after this id that you may read."
            columns={[
              ["Id", (m) => <a href={`/ui/messages/${m.id}?consumer=${consumer}`}>#{m.id}</a>],
              ["Received", (m) => m.received_at],
              ["Source", (m) => m.source],
              ["Event", (m) => m.event],
              ["Path", (m) => <code>{m.webhook_path}</code>],
            ]}
          />
        )}
        <h2>Deliver again from a time or a sequence</h2>
        <p>Rewinds a consumer: everything from there is delivered to it again, including what was acked.</p>
        <form method="post" action={`/ui/consumers/${consumer}/rewind`} class="row">
          <Csrf value={s.csrf} />
          <label>
            Consumer
            <input name="consumer" value={consumer} pattern="[a-z0-9_-]{1,32}" required />
          </label>
          <label>
            From sequence
            <input name="sequence" inputmode="numeric" pattern="\d*" />
          </label>
          <label>
            or from time (UTC)
            <input name="time" type="datetime-local" step="1" />
          </label>
          <button type="submit">Rewind</button>
        </form>
      </>,
    );
  });

  app.post("/consumers/:name/rewind", async (c) => {
    const form = await c.req.parseBody();
    const name = typeof form.consumer === "string" && form.consumer ? form.consumer : c.req.param("name");
    const seq = String(form.sequence ?? "").trim();
    const time = String(form.time ?? "").trim();
    const body = seq ? { sequence: Number(seq) } : time ? { time: new Date(`${time}Z`).toISOString() } : {};
    const r = await call(c.get("session").token, "POST", `/consumers/${encodeURIComponent(name)}/rewind`, body);
    return back(c, `/ui/replay?consumer=${encodeURIComponent(name)}`, r, "rewound");
  });

  app.get("/dead-letters", async (c) => {
    const s = c.get("session");
    const r = await call(s.token, "GET", "/dead-letters?limit=200");
    if (r.status !== 200) return apiError(c, r, "dead-letters");
    return page(
      c,
      "Dead letters",
      "dead-letters",
      <>
        <p>Deliveries your consumers gave up on (too many deliveries, or terminated). Redrive delivers one again, once, to the same consumer, as a new message.</p>
        <Table
          caption="Newest first"
          rows={r.body.dead_letters as any[]}
          empty="No dead letters."
          columns={[
            ["Message", (d) => <a href={`/ui/messages/${d.id}?consumer=${d.consumer}`}>#{d.id}</a>],
            ["Consumer", (d) => d.consumer],
            ["Reason", (d) => d.reason],
            ["Deliveries", (d) => d.delivery_count],
            ["Died", (d) => d.dead_at],
            [
              "Redrive",
              (d) =>
                d.redriven_at ? (
                  <span>
                    redriven {d.redriven_at} by {d.redriven_by} as <a href={`/ui/messages/${d.redrive_id}?consumer=${d.consumer}`}>#{d.redrive_id}</a>
                  </span>
                ) : (
                  <form method="post" action={`/ui/dead-letters/${d.id}/redrive`} class="inline">
                    <Csrf value={s.csrf} />
                    <input type="hidden" name="consumer" value={d.consumer} />
                    <button type="submit" aria-label={`Redrive message ${d.id} on ${d.consumer}`}>
                      Redrive
                    </button>
                  </form>
                ),
            ],
          ]}
        />
        <h2>Redrive a time range</h2>
        <form method="post" action="/ui/dead-letters/redrive" class="row">
          <Csrf value={s.csrf} />
          <label>
            Died from (UTC)
            <input name="from" type="datetime-local" step="1" required />
          </label>
          <label>
            until (UTC, optional)
            <input name="to" type="datetime-local" step="1" />
          </label>
          <button type="submit">Redrive all not yet redriven</button>
        </form>
      </>,
    );
  });

  app.post("/dead-letters/redrive", async (c) => {
    const form = await c.req.parseBody();
    const iso = (v: unknown) => (typeof v === "string" && v ? new Date(`${v}Z`).toISOString() : undefined);
    let body: Record<string, string | undefined>;
    try {
      body = { from: iso(form.from), to: iso(form.to) };
    } catch {
      body = { from: String(form.from) };
    }
    const r = await call(c.get("session").token, "POST", "/dead-letters/redrive", body);
    return back(c, "/ui/dead-letters", r, "redriven");
  });

  app.post("/dead-letters/:id/redrive", async (c) => {
    const form = await c.req.parseBody();
    const consumer = typeof form.consumer === "string" ? form.consumer : "default";
    const r = await call(c.get("session").token, "POST", `/dead-letters/${encodeURIComponent(c.req.param("id"))}/redrive?consumer=${encodeURIComponent(consumer)}`);
    return back(c, "/ui/dead-letters", r, "redriven");
  });

  app.get("/consumers", async (c) => {
    const s = c.get("session");
    const list = await call(s.token, "GET", "/consumers");
    if (list.status !== 200) return apiError(c, list, "consumers");
    const names = ["default", ...(list.body.consumers as any[]).map((x) => x.name).filter((n: string) => n !== "default")];
    const details = await Promise.all(names.map((n) => call(s.token, "GET", `/consumers/${n}`)));
    const rows = details.filter((d) => d.status === 200).map((d) => d.body);
    return page(
      c,
      "Consumers",
      "consumers",
      <Table
        caption="Lag: messages stored and not yet delivered (pending), delivered and not yet acked (ack pending)"
        rows={rows}
        empty="No consumers."
        columns={[
          ["Name", (x) => <a href={`/ui/tail?consumer=${x.name}`}>{x.name}</a>],
          ["Pending", (x) => x.pending],
          ["Ack pending", (x) => x.ack_pending],
          ["Redelivered", (x) => x.redelivered],
          ["Dead letters", (x) => x.dead_letters],
          ["Last delivered", (x) => (x.delivered_id === null ? "never" : `#${x.delivered_id}`)],
          ["Last active", (x) => x.last_active ?? "never"],
        ]}
      />,
    );
  });

  return app;
}

/** The API's `consumer` state of a message, for people. */
function deliveryText(x: { name: string; state: string; delivery_count: number | null; dead_letter: { reason: string } | null }): string {
  const n = x.delivery_count;
  switch (x.state) {
    case "not_selected":
      return `0: consumer ${x.name} does not select it`;
    case "not_delivered":
      return `0: not delivered to consumer ${x.name} yet`;
    case "awaiting_ack":
      return `${n ?? "1 or more"}: delivered to consumer ${x.name}, awaiting its ack`;
    case "acked":
      return `acknowledged by consumer ${x.name}`;
    case "dead_letter":
      return `${n}: a dead letter of consumer ${x.name} (${x.dead_letter?.reason ?? ""})`;
    default:
      return x.state;
  }
}

/** Bytes as text when they are UTF-8, else base64 (labelled). */
function asText(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return `(not UTF-8; base64)\n${Buffer.from(bytes).toString("base64")}`;
  }
}
