/**
 * The inspector's stylesheet and its one small script, served as files (the pages' Content
 * Security Policy allows no inline script or style). No build step: plain CSS and browser JS.
 */
export const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --line: #d0d7de; --accent: #0550ae; --ok: #1a7f37; --bad: #cf222e; --code: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --line: #30363d; --accent: #6cb6ff; --ok: #3fb950; --bad: #f85149; --code: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .25rem .5rem; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1.25rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 600; margin-right: .5rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .9rem; list-style: none; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 600; text-decoration: none; color: var(--fg); }
header .who { margin-left: auto; display: flex; gap: .6rem; align-items: center; color: var(--muted); }
main { padding: 1rem 1.25rem 3rem; max-width: 72rem; }
h1 { font-size: 1.4rem; margin: .3rem 0 1rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .3rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: .85rem; color: var(--muted); }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; word-break: break-all; }
button, input, select { font: inherit; }
button { border: 1px solid var(--line); background: var(--code); color: var(--fg); border-radius: 6px; padding: .3rem .8rem; cursor: pointer; }
button.primary, a.button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
a.button { display: inline-block; border: 1px solid var(--line); border-radius: 6px; padding: .3rem .8rem; text-decoration: none; }
button:focus-visible, a:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
input { border: 1px solid var(--line); border-radius: 6px; padding: .3rem .5rem; background: var(--bg); color: var(--fg); }
form.inline { display: inline; }
.row { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin: .5rem 0; }
.row label { display: flex; flex-direction: column; gap: .2rem; font-size: .85rem; color: var(--muted); }
.ok { color: var(--ok); } .bad { color: var(--bad); } .muted { color: var(--muted); }
.notice { border: 1px solid var(--line); border-left: 4px solid var(--accent); padding: .5rem .8rem; margin: .5rem 0 1rem; border-radius: 4px; }
.notice.error { border-left-color: var(--bad); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.status::before { content: "●"; margin-right: .35rem; } .status.live::before { color: var(--ok); } .status.down::before { color: var(--bad); }
#tail-rows tr.new { animation: flash 1.2s ease-out; } @keyframes flash { from { background: color-mix(in srgb, var(--accent) 20%, transparent); } }
@media (prefers-reduced-motion: reduce) { #tail-rows tr.new { animation: none; } }
`;

/** Copy buttons, and the live tail over Server-Sent Events (EventSource reconnects with Last-Event-ID). */
export const JS = `
"use strict";
document.addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-copy]");
  if (!b) return;
  const text = document.getElementById(b.dataset.copy).textContent;
  try { await navigator.clipboard.writeText(text); b.textContent = "Copied"; } catch { b.textContent = "Select and copy"; }
  setTimeout(() => { b.textContent = "Copy"; }, 2000);
});
const tail = document.getElementById("tail-rows");
if (tail) {
  const status = document.getElementById("tail-status");
  const consumer = tail.dataset.consumer;
  const say = (text, cls) => { status.textContent = text; status.className = "status " + cls; };
  const cell = (tr, text) => { const td = document.createElement("td"); td.textContent = text; tr.append(td); return td; };
  const es = new EventSource(tail.dataset.src);
  es.addEventListener("open", () => say("Live: new deliveries appear here", "live"));
  es.addEventListener("error", () => say(es.readyState === EventSource.CLOSED ? "Disconnected: reload to retry" : "Reconnecting…", "down"));
  es.addEventListener("message", (ev) => {
    let m; try { m = JSON.parse(ev.data); } catch { return; }
    document.getElementById("tail-empty")?.remove();
    const tr = document.createElement("tr");
    tr.className = "new";
    tr.dataset.id = String(m.id);
    const a = document.createElement("a");
    a.href = "/ui/messages/" + m.id + "?consumer=" + encodeURIComponent(consumer);
    a.textContent = "#" + m.id;
    cell(tr, "").append(a);
    cell(tr, m.received_at); cell(tr, m.source); cell(tr, m.event); cell(tr, m.webhook_path);
    const v = cell(tr, m.verified ? "verified" : "not verified"); v.className = m.verified ? "ok" : "bad";
    cell(tr, String(m.delivery_count ?? ""));
    tail.prepend(tr);
    while (tail.rows.length > 200) tail.deleteRow(-1);
  });
}
`;
