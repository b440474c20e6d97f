/**
 * The cost of the forwarding engine alone: a minimal undici Pool.stream pass-through, no routing, no
 * flags, no metrics. TARGET is the backend URL; prints `{"port":N}` once listening.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool, type Dispatcher } from "undici";

const pool = new Pool(process.env.TARGET ?? "http://127.0.0.1:3001", { connections: 128, pipelining: 1 });
const server = createServer((req, res) => {
  const { connection: _c, "keep-alive": _k, host: _h, ...headers } = req.headers;
  pool.stream(
    { path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers: headers as Record<string, string>, body: req.method === "GET" ? null : req, opaque: res },
    ({ statusCode, headers, opaque }) => {
      (opaque as typeof res).writeHead(statusCode, headers as Record<string, string>);
      return opaque as typeof res;
    },
    (error) => {
      if (error && !res.headersSent) res.writeHead(502).end();
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
