/**
 * A TCP proxy in front of the shared PostgreSQL that a test can take down or make hang, so
 * "PostgreSQL down / slow" is tested against a real server without stopping the shared one.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export type ProxyMode = "up" | "down" | "slow";

export interface PgProxy {
  /** `url` with host and port replaced by the proxy's. */
  url: string;
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

export async function startPgProxy(targetUrl: string): Promise<PgProxy> {
  const target = new URL(targetUrl);
  let mode: ProxyMode = "up";
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (mode === "down") return void client.destroy();
    if (mode === "slow") return; // accept and never answer
    const upstream = connect({ host: target.hostname, port: Number(target.port) });
    sockets.add(upstream);
    upstream.on("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    setMode(next) {
      mode = next;
      // Existing connections share the fate of new ones: cut them so nothing slips through.
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
