/**
 * `npm run traffic`: sends a bounded burst of realistic reads to the demo proxy, as many users, so the
 * rollout split, the shadow comparison and the metrics have something to show.
 *
 * Environment: PROXY_URL (default http://127.0.0.1:$PORT, 8080, the port the demo honours; https:// for
 * `demo --tls`, with NODE_EXTRA_CA_CERTS naming its CA; several,
 * comma-separated, to spread the requests over a fleet's nodes in turn), COUNT (requests, default 300; at
 * most 100000), DURATION (seconds: keep sending until then instead, at most 600), ORDERS (also place this
 * many orders, spread over the run, each read back by the user who placed it at their next order read:
 * writes for order-create and reads of new orders for order-detail; default 0, as the monolith's and the
 * orders service's databases then part ways). Exits 1 when any request got no answer at all (the proxy
 * down, or the wrong port).
 */
import { seedProducts } from "../demo-data/seed-data.ts";

const proxyUrls = (process.env.PROXY_URL || `http://127.0.0.1:${process.env.PORT || "8080"}`).split(",").map((u) => u.trim()).filter(Boolean);
const durationMs = Math.min(Number(process.env.DURATION ?? 0), 600) * 1000;
const count = durationMs > 0 ? 100_000_000 : Math.min(Number(process.env.COUNT ?? 300), 100_000);
const orders = Math.min(Math.max(0, Math.floor(Number(process.env.ORDERS ?? 0))), 10_000);
/** Products with stock to spare, so the orders placed (in the monolith, and by a replay in a sandbox) do not run out. */
const stocked = seedProducts().filter((p) => p.stock >= 100).map((p) => p.id);
const deadline = Date.now() + durationMs;
for (const proxyUrl of proxyUrls) {
  if (!/^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(proxyUrl)) {
    console.error(`PROXY_URL must be loopback addresses, got ${proxyUrl}`);
    process.exit(2);
  }
}

const pad = (n: number) => String(n).padStart(3, "0");
const paths = [
  (i: number) => `/api/products?page=${1 + (i % 3)}`,
  () => `/api/products?category=books&sort=price`,
  (i: number) => `/api/products/p_${pad(1 + (i % 60))}`,
  (i: number) => `/api/inventory/p_${pad(1 + (i % 60))}`,
  (i: number) => `/api/orders?page=${1 + (i % 2)}`,
  (i: number) => `/api/orders/ord_seed_${pad(1 + (i % 40))}`,
  (i: number) => `/api/users/u_${pad(1 + (i % 25))}`,
];

const tally = new Map<string, number>();
let failed = 0;
let sent = 0;
/** Orders placed and not read back yet, by the user who placed them. */
const placed: Array<{ readonly id: string; readonly user: string }> = [];
/** Every this many requests one is an order placed (with ORDERS). */
const orderEvery = orders > 0 ? Math.max(2, Math.floor(count / orders)) : 0;
let ordersPlaced = 0;
for (let i = 0; i < count && (durationMs === 0 || Date.now() < deadline); i++) {
  sent++;
  const kind = i % paths.length;
  let path = (paths[kind] as (i: number) => string)(Math.floor(i / paths.length));
  let user = `user-${i % 50}`;
  let init: RequestInit = {};
  if (orderEvery > 0 && ordersPlaced < orders && i % orderEvery === orderEvery - 1) {
    ordersPlaced++;
    path = "/api/orders";
    const body = { userId: `u_${String(1 + (i % 25)).padStart(3, "0")}`, items: [{ productId: stocked[i % stocked.length], quantity: 1 }] };
    init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  } else if (kind === 5 && placed.length > 0) {
    const order = placed.shift() as { id: string; user: string };
    path = `/api/orders/${order.id}`;
    user = order.user;
  }
  try {
    const res = await fetch(`${proxyUrls[i % proxyUrls.length] as string}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), "x-user-id": user } });
    if (init.method === "POST" && res.status === 201) {
      const { id } = (await res.json()) as { id: string };
      placed.push({ id, user });
    } else await res.arrayBuffer();
    const key = `${res.status} ${res.headers.get("x-served-by") ?? "?"}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  } catch {
    failed++;
  }
}
console.log(`sent ${sent} requests to ${proxyUrls.join(", ")}: ${[...tally].map(([k, v]) => `${v} × ${k}`).join(", ")}${failed ? `, ${failed} failed` : ""}`);
if (failed > 0) {
  console.error(`${failed} of ${sent} requests got no answer: is the proxy running at ${proxyUrls.join(", ")}? (PROXY_URL, or PORT as for the demo)`);
  process.exitCode = 1;
}
