import { createServer } from "node:net";

/**
 * A TCP port free on 127.0.0.1 at the moment of asking, for a program that cannot listen on port 0 and
 * report its port (HAProxy; the demo's children started by the screenshots script). Another process may
 * take it before it is bound: callers that can, retry.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
