/**
 * A sender that declares a body over the limit and writes all of it before reading (as most
 * HTTP clients do) must read the 413: the gateway drains a bounded amount instead of closing
 * under the sender's feet (which makes the kernel answer RST: EPIPE, no status).
 */
import { request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "@wb/test-support";

let broker: TestBroker;
let path: string;
beforeAll(async () => {
  broker = await startTestBroker({ RATE_LIMIT_PER_ENDPOINT: "off", RATE_LIMIT_PER_CLIENT: "off" });
  const owner = await broker.user();
  path = (await broker.endpoint({ userId: owner.id }, { maxBodyBytes: 1024 })).path;
});
afterAll(() => broker?.close());

/** node:http as a sender: writes the whole body, then reads the answer. Resolves to the status or the error code. */
function send(size: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${broker.url}/webhook/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(size), "x-github-event": "push" },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    const chunk = Buffer.alloc(16 * 1024, "a");
    let left = size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

/**
 * A sender like Python's http.client: writes headers and the whole body, and only if every write
 * succeeded reads the answer. Resolves to the status line, or to the write's error code.
 */
function sendThenRead(size: number): Promise<string> {
  return new Promise((resolve) => {
    const url = new URL(broker.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let answer = "";
    let writeError: string | undefined;
    socket.on("data", (d) => (answer += d));
    socket.on("error", (err: NodeJS.ErrnoException) => (writeError ??= err.code ?? err.message));
    socket.on("close", () => resolve(writeError ?? (answer.split("\r\n")[0] || "closed without an answer")));
    socket.write(`POST /webhook/${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: ${size}\r\n\r\n`);
    socket.write(Buffer.alloc(size, "a"), (err) => {
      if (err) writeError ??= (err as NodeJS.ErrnoException).code ?? err.message;
      // Everything written: now read, as such a client does, until the server is done.
      socket.end();
    });
  });
}

it("a sender that writes a 30 MiB body before it reads still reads the 413", async () => {
  const results: string[] = [];
  for (let i = 0; i < 5; i++) results.push(await sendThenRead(30 * 1024 * 1024));
  expect(results).toEqual(Array(5).fill("HTTP/1.1 413 Payload Too Large"));
});

it("a declared Content-Length over the limit: every sender writing its whole body reads the 413", async () => {
  const results: (number | string)[] = [];
  for (let i = 0; i < 10; i++) results.push(await send(512 * 1024));
  expect(results).toEqual(Array(10).fill(413));
});
