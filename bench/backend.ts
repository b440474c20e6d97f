/**
 * The benchmark's fixed backend: node:http with keep-alive, a 1 KB JSON answer for any path, and 1 MB for
 * paths under /bench/large. Prints `{"port":N}` once listening. PORT picks the port (0: any free one).
 * BENCH_VARIANT=diverge serves the same item with its price as a string, so that every shadow comparison
 * against the plain backend diverges (one `type_changed $.price`), as a service with a bug would.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const diverge = process.env.BENCH_VARIANT === "diverge";
const small = Buffer.from(
  JSON.stringify({ id: "p_001", name: "Benchmark item", tags: ["a", "b", "c"], price: diverge ? "12.5" : 12.5, description: "x".repeat(880) }),
);
const large = Buffer.from(JSON.stringify({ items: Array.from({ length: 5200 }, (_, i) => ({ id: i, name: `item ${i}`, note: "y".repeat(160) })) }));

const server = createServer((req, res) => {
  req.resume();
  const body = req.url?.startsWith("/bench/large") ? large : small;
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port, small: small.length, large: large.length }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
