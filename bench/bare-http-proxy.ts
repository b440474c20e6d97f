/**
 * The design card's engine: a bare http-proxy pass-through (http-proxy-3, the maintained fork with the
 * same API), with a keep-alive agent as any production setup of it has. No routing, no flags, no
 * metrics. TARGET is the backend URL; prints `{"port":N}` once listening.
 */
import { Agent, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createProxyServer } from "http-proxy-3";

const proxy = createProxyServer({ target: process.env.TARGET ?? "http://127.0.0.1:3001", agent: new Agent({ keepAlive: true, maxSockets: 128 }), xfwd: true });
proxy.on("error", (_error, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
