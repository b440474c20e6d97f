import { defineConfig } from "./src/config/define-config.ts";

/**
 * The demo's route table: the monolith serves everything, except the endpoints below, which are being
 * moved to the catalog and orders services. Edit a percentage and save: the proxy applies it within a
 * second, without a restart. Backend URLs come from the environment so the same file serves the demo,
 * the tests and a deployment.
 */
const readShadow = { percent: 100, compare: { timestampToleranceMs: 5_000 } };

export default defineConfig({
  backends: {
    legacy: { url: process.env.LEGACY_URL ?? "http://127.0.0.1:3001", responseTimeoutMs: 10_000 },
    // Several instances would be `urls: [...]`; each is asked GET /healthz every 5 s, and one failing three
    // checks in a row gets no requests until it passes two.
    catalog: { url: process.env.CATALOG_URL ?? "http://127.0.0.1:3002", connectTimeoutMs: 1_000, responseTimeoutMs: 5_000, healthCheck: { path: "/healthz" } },
    orders: { url: process.env.ORDERS_URL ?? "http://127.0.0.1:3003", connectTimeoutMs: 1_000, responseTimeoutMs: 5_000 },
  },
  // HTTPS and HTTP/2 on the proxy's port, and HTTPS on the admin listener, when TLS_CERT and TLS_KEY name PEM
  // files (`npm run demo -- --tls` makes a throwaway pair). The files are followed: replace them to renew.
  ...(process.env.TLS_CERT && process.env.TLS_KEY
    ? { server: { tls: { cert: process.env.TLS_CERT, key: process.env.TLS_KEY } }, admin: { tls: { cert: process.env.TLS_CERT, key: process.env.TLS_KEY } } }
    : {}),
  // Guards and promotions are evaluated every 5 s in the demo (default 10 s).
  guards: { intervalMs: 5_000 },
  // QA can force a backend with x-strangler-force + x-strangler-force-secret when a secret is set.
  ...(process.env.STRANGLER_FORCE_SECRET ? { forceRouting: { secret: process.env.STRANGLER_FORCE_SECRET } } : {}),
  routes: [
    // Reads are shadowed: the backend that did not answer is asked too, and the answers compared.
    // Timestamps within 5 s are equal; generated ids (requestId) are learned as noise.
    { id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 50 }, shadow: readShadow },
    // Guarded: if the catalog starts failing, the proxy answers from the monolith (fallback) and, once the
    // error rate over 30 s passes 20%, rolls the route back to 0% and halts it by itself. The catalog
    // serves a product at its own path, /products/:id: the monolith still gets /api/products/:id.
    {
      id: "product-detail",
      match: { methods: ["GET"], path: "/api/products/:id" },
      target: "catalog",
      rewrite: { path: "/products/:id" },
      rollout: { percent: 100 },
      shadow: readShadow,
      guard: { windowMs: 30_000, minSamples: 10, maxErrorRate: 0.2 },
      fallback: {},
    },
    { id: "inventory-read", match: { methods: ["GET"], path: "/api/inventory/:productId" }, target: "catalog", rollout: { percent: 100 }, shadow: readShadow },
    { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 25 }, shadow: readShadow },
    // Promoted by evidence: `npx strangler promote start order-detail --reason "..."` takes it from 1% to
    // 100%, a step every 10 s while at least 20 comparisons keep the 95% upper bound of divergence under
    // 20% (short for a demo; a real route would ask for more samples and a lower bound).
    {
      id: "order-detail",
      match: { methods: ["GET"], path: "/api/orders/:id" },
      target: "orders",
      rollout: { percent: 0 },
      shadow: readShadow,
      promote: { steps: [1, 5, 25, 50, 100], intervalMs: 10_000, minSamples: 20, maxDivergenceRate: 0.2 },
      guard: { windowMs: 30_000, minSamples: 10, maxErrorRate: 0.2, maxDivergenceRate: 0.5 },
    },
    { id: "order-create", match: { methods: ["POST"], path: "/api/orders" }, target: "orders", rollout: { percent: 0 } },
    { id: "order-cancel", match: { methods: ["POST"], path: "/api/orders/:id/cancel" }, target: "orders", rollout: { percent: 0 } },
  ],
});
