/**
 * The cost of the forwarding engine alone: a minimal undici Pool.stream pass-through, no routing, no
 * flags, no metrics. TARGET is the backend URL; prints `{"port":N}` once listening.
 *
 * With MIRROR (a backend URL) it is also the floor of shadowing on Node's HTTP stack and undici: every
 * GET is sent to MIRROR as well, its answer read and dropped (undici's dispatch handler, as the proxy's
 * own shadow fetch uses, with nothing kept and nothing compared). What that costs over the plain
 * pass-through is what a second exchange costs any proxy built on these, before capturing, comparing or
 * recording anything.
 *
 * With FORWARDING=1 it also adds the fields every proxy of ours adds, as a hand-written loop would have to
 * for the same behaviour: Host, X-Forwarded-For, -Proto and -Host and X-Request-Id on the way up (and
 * X-Strangler-Shadow on a mirrored request), and X-Request-Id on the way down. What that costs over the plain loop is Node's and undici's work on the
 * fields alone (validated, lower-cased, written), the part of the proxy's cost that is the headers it adds.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool, type Dispatcher } from "undici";

const pool = new Pool(process.env.TARGET ?? "http://127.0.0.1:3001", { connections: 128, pipelining: 1 });
const mirror = process.env.MIRROR ? new Pool(process.env.MIRROR, { connections: 128, pipelining: 1 }) : undefined;

/** Reads a mirrored answer to its end and drops it. */
const DROP: Dispatcher.DispatchHandler = {
  onConnect() {},
  onHeaders: () => true,
  onData: () => true,
  onComplete() {},
  onError() {},
};

const forwarding = process.env.FORWARDING === "1";
const upstreamHost = new URL(process.env.TARGET ?? "http://127.0.0.1:3001").host;
let counter = 0;

const server = createServer((req, res) => {
  const { connection: _c, "keep-alive": _k, host, ...headers } = req.headers;
  // Set field by field, the cheapest way a hand-written loop would (no spread, no setHeader's own header store).
  let requestId: string | undefined;
  if (forwarding) {
    // As the proxy does: the client's id when it sent one, else a counter-based one (no UUID per request).
    const given = headers["x-request-id"];
    requestId = typeof given === "string" ? given : `bench-${(++counter).toString(36)}`;
    headers.host = upstreamHost;
    headers["x-forwarded-for"] = req.socket.remoteAddress ?? "";
    headers["x-forwarded-proto"] = "http";
    if (host !== undefined) headers["x-forwarded-host"] = host;
    headers["x-request-id"] = requestId;
  }
  if (mirror && req.method === "GET") {
    // With the forwarding headers, the mirror's request is marked as a shadow one, as the proxy marks its own.
    const mirrored = forwarding ? { ...headers, "x-strangler-shadow": "1" } : headers;
    mirror.dispatch({ path: req.url ?? "/", method: "GET", headers: mirrored as Record<string, string>, body: null }, DROP);
  }
  pool.stream(
    { path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers: headers as Record<string, string>, body: req.method === "GET" ? null : req, opaque: res },
    ({ statusCode, headers, opaque }) => {
      if (requestId !== undefined) headers["x-request-id"] = requestId;
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
