/**
 * `npm run traffic`: sends a bounded burst of realistic reads to the demo proxy, as many users, so the
 * rollout split, the shadow comparison and the metrics have something to show.
 *
 * Environment: PROXY_URL (default http://127.0.0.1:$PORT, 8080, the port the demo honours; https:// for
 * `demo --tls`, with NODE_EXTRA_CA_CERTS naming its CA; several,
 * comma-separated, to spread the requests over a fleet's nodes in turn), COUNT (requests, default 300; at
 * most 100000), DURATION (seconds: keep sending until then instead, at most 600). Exits 1 when any request
 * got no answer at all (the proxy down, or the wrong port).
 */
export {};

const proxyUrls = (process.env.PROXY_URL || `http://127.0.0.1:${process.env.PORT || "8080"}`).split(",").map((u) => u.trim()).filter(Boolean);
const durationMs = Math.min(Number(process.env.DURATION ?? 0), 600) * 1000;
const count = durationMs > 0 ? 100_000_000 : Math.min(Number(process.env.COUNT ?? 300), 100_000);
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
for (let i = 0; i < count && (durationMs === 0 || Date.now() < deadline); i++) {
  sent++;
  const path = (paths[i % paths.length] as (i: number) => string)(Math.floor(i / paths.length));
  try {
    const res = await fetch(`${proxyUrls[i % proxyUrls.length] as string}${path}`, { headers: { "x-user-id": `user-${i % 50}` } });
    await res.arrayBuffer();
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
