/** @jsxImportSource hono/jsx */
/**
 * The inspector's pages: plain server-rendered HTML (Hono JSX), one stylesheet, one small
 * script. Every value shown comes from the public API's JSON (ui/index.tsx) and is escaped by JSX.
 */
import type { Child } from "hono/jsx";

export type Nav = "endpoints" | "tail" | "replay" | "dead-letters" | "consumers";

const NAV: [Nav, string, string][] = [
  ["endpoints", "Endpoints", "/ui/endpoints"],
  ["tail", "Live tail", "/ui/tail"],
  ["replay", "Replay", "/ui/replay"],
  ["dead-letters", "Dead letters", "/ui/dead-letters"],
  ["consumers", "Consumers", "/ui/consumers"],
];

export interface Shell {
  title: string;
  nav?: Nav;
  user?: string;
  csrf?: string;
  notice?: { text: string; error?: boolean };
  children?: Child;
}

export function Page(p: Shell) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${p.title} · webhook-broker`}</title>
        <link rel="stylesheet" href="/ui/assets/app.css" />
        <script src="/ui/assets/app.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <span class="brand">webhook-broker</span>
          {p.user !== undefined && (
            <nav aria-label="Inspector">
              <ul>
                {NAV.map(([key, label, href]) => (
                  <li>
                    <a href={href} aria-current={p.nav === key ? "page" : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {p.user !== undefined && (
            <div class="who">
              <span>
                Signed in as <strong>{p.user}</strong>
              </span>
              <form class="inline" method="post" action="/ui/logout">
                <input type="hidden" name="csrf" value={p.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </div>
          )}
        </header>
        <main id="main">
          <h1>{p.title}</h1>
          {p.notice && (
            <p class={p.notice.error ? "notice error" : "notice"} role={p.notice.error ? "alert" : "status"}>
              {p.notice.text}
            </p>
          )}
          {p.children}
        </main>
      </body>
    </html>
  );
}

export function Login(p: { error?: string; github?: boolean }) {
  return (
    <Page title="Sign in" notice={p.error ? { text: p.error, error: true } : undefined}>
      {p.github && (
        <>
          <p>
            <a class="button primary" href="/auth/github/login?to=ui">
              Sign in with GitHub
            </a>
          </p>
          <p class="muted">Or with an API token:</p>
        </>
      )}
      <p>Paste an API token (<code>whb_…</code>). It is kept in an HttpOnly cookie for this browser session only, and the inspector reads everything through the public API with it.</p>
      <form method="post" action="/ui/login" class="row">
        <label>
          API token
          <input type="password" name="token" autocomplete="off" required size={48} />
        </label>
        <button class="primary" type="submit">
          Sign in
        </button>
      </form>
    </Page>
  );
}

export const Csrf = (p: { value: string }) => <input type="hidden" name="csrf" value={p.value} />;

export function CopyBlock(p: { id: string; text: string; label: string }) {
  return (
    <section aria-label={p.label}>
      <pre id={p.id} tabindex={0}>
        {p.text}
      </pre>
      <button type="button" data-copy={p.id}>
        Copy
      </button>
    </section>
  );
}

export function Facts(p: { rows: [string, Child][] }) {
  return (
    <dl class="facts">
      {p.rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  );
}

export function Table<T>(p: { caption: string; rows: T[]; empty: string; columns: [string, (r: T) => Child][]; bodyId?: string; bodyData?: Record<string, string> }) {
  return (
    <table>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          {p.columns.map(([h]) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody id={p.bodyId} {...Object.fromEntries(Object.entries(p.bodyData ?? {}).map(([k, v]) => [`data-${k}`, v]))}>
        {p.rows.length === 0 ? (
          <tr id={p.bodyId ? `${p.bodyId.replace(/-rows$/, "")}-empty` : undefined}>
            <td colspan={p.columns.length} class="muted">
              {p.empty}
            </td>
          </tr>
        ) : (
          p.rows.map((r) => (
            <tr>
              {p.columns.map(([, f]) => (
                <td>{f(r)}</td>
              ))}
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

export const Verified = (p: { ok: boolean; source: string }) =>
  p.ok ? <span class="ok">verified ({p.source} signature)</span> : <span class="bad">not verified ({p.source})</span>;
