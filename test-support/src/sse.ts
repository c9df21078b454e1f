/**
 * A minimal Server-Sent Events reader for tests, over fetch: parses the stream as the HTML spec
 * says (fields, multi-line data, comments) and hands out events and comments in arrival order.
 */
import { bearer } from "./webhooks.js";

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export type SseItem = { type: "event"; event: SseEvent } | { type: "comment"; text: string } | { type: "retry"; ms: number };

export interface SseReader {
  status: number;
  headers: Headers;
  /** The error body when the answer was not a stream. */
  errorBody?: any;
  /** The next event (comments skipped); rejects after `timeoutMs`, or when the stream ended. */
  nextEvent(timeoutMs?: number): Promise<SseEvent>;
  /** The next item of any kind (event, comment, retry). */
  nextItem(timeoutMs?: number): Promise<SseItem>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `GET /api/v1/messages/stream?<query>` as `token`. */
export async function openStream(url: string, token: string, query = "", headers: Record<string, string> = {}): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/v1/messages/stream${query ? `?${query}` : ""}`, {
    headers: { ...bearer(token), accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  const items: SseItem[] = [];
  const waiters: (() => void)[] = [];
  let done = false;
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  let errorBody: any;
  let ended: Promise<void> = Promise.resolve();
  if (res.status !== 200 || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
    errorBody = await res.json().catch(() => undefined);
    done = true;
  } else {
    ended = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      let current: { id?: string; event?: string; data: string[] } = { data: [] };
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let nl: number;
          // biome-ignore lint/suspicious/noAssignInExpressions: the usual line loop
          while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
            if (line === "") {
              if (current.data.length > 0 || current.event !== undefined) {
                items.push({ type: "event", event: { id: current.id, event: current.event ?? "message", data: current.data.join("\n") } });
                notify();
              }
              current = { data: [] };
            } else if (line.startsWith(":")) {
              items.push({ type: "comment", text: line.slice(1).trim() });
              notify();
            } else {
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
              if (field === "data") current.data.push(value);
              else if (field === "event") current.event = value;
              else if (field === "id") current.id = value;
              else if (field === "retry") items.push({ type: "retry", ms: Number(value) });
            }
          }
        }
      } catch {
        // aborted by close()
      } finally {
        done = true;
        notify();
      }
    })();
  }
  const nextItem = async (timeoutMs = 10_000): Promise<SseItem> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = items.shift();
      if (item) return item;
      if (done) throw new Error("the stream ended");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE item within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return {
    status: res.status,
    headers: res.headers,
    errorBody,
    nextItem,
    async nextEvent(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const item = await nextItem(Math.max(1, deadline - Date.now()));
        if (item.type === "event") return item.event;
      }
    },
    ended,
    close: () => abort.abort(),
  };
}
