/**
 * The benchmark's fixed backend: node:http with keep-alive, a 1 KB JSON answer for any path, and 1 MB for
 * paths under /bench/large. Prints `{"port":N}` once listening. PORT picks the port (0: any free one).
 * BENCH_VARIANT=diverge serves the same item with its price as a string, so that every shadow comparison
 * against the plain backend diverges (one `type_changed $.price`), as a service with a bug would.
 * It also answers on 127.0.0.2 and 127.0.0.3 at the same port (loopback aliases; best effort), so that a
 * backend of three destinations (BENCH_DESTINATIONS=3 in routes.bench.ts) reaches it three ways.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const diverge = process.env.BENCH_VARIANT === "diverge";
const small = Buffer.from(
  JSON.stringify({ id: "p_001", name: "Benchmark item", tags: ["a", "b", "c"], price: diverge ? "12.5" : 12.5, description: "x".repeat(880) }),
);
const large = Buffer.from(JSON.stringify({ items: Array.from({ length: 5200 }, (_, i) => ({ id: i, name: `item ${i}`, note: "y".repeat(160) })) }));

const answer = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  const body = req.url?.startsWith("/bench/large") ? large : small;
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
};
const server = createServer(answer);
server.keepAliveTimeout = 60_000;
const aliases = ["127.0.0.2", "127.0.0.3"].map(() => {
  const alias = createServer(answer);
  alias.keepAliveTimeout = 60_000;
  return alias;
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const port = (server.address() as AddressInfo).port;
  let waiting = aliases.length;
  const ready = () => {
    if (--waiting === 0) console.log(JSON.stringify({ port, small: small.length, large: large.length }));
  };
  aliases.forEach((alias, i) => {
    alias.once("error", ready); // taken: the three-destination rows then see failures, and say so
    alias.listen(port, `127.0.0.${i + 2}`, ready);
  });
});
process.on("SIGTERM", () => {
  for (const alias of aliases) alias.close();
  server.close(() => process.exit(0));
});
