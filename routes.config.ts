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
    catalog: { url: process.env.CATALOG_URL ?? "http://127.0.0.1:3002", connectTimeoutMs: 1_000, responseTimeoutMs: 5_000 },
    orders: { url: process.env.ORDERS_URL ?? "http://127.0.0.1:3003", connectTimeoutMs: 1_000, responseTimeoutMs: 5_000 },
  },
  // QA can force a backend with x-strangler-force + x-strangler-force-secret when a secret is set.
  ...(process.env.STRANGLER_FORCE_SECRET ? { forceRouting: { secret: process.env.STRANGLER_FORCE_SECRET } } : {}),
  routes: [
    // Reads are shadowed: the backend that did not answer is asked too, and the answers compared.
    // Timestamps within 5 s are equal; generated ids (requestId) are learned as noise.
    { id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 50 }, shadow: readShadow },
    { id: "product-detail", match: { methods: ["GET"], path: "/api/products/:id" }, target: "catalog", rollout: { percent: 100 }, shadow: readShadow },
    { id: "inventory-read", match: { methods: ["GET"], path: "/api/inventory/:productId" }, target: "catalog", rollout: { percent: 100 }, shadow: readShadow },
    { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent: 25 }, shadow: readShadow },
    { id: "order-detail", match: { methods: ["GET"], path: "/api/orders/:id" }, target: "orders", rollout: { percent: 25 }, shadow: readShadow },
    { id: "order-create", match: { methods: ["POST"], path: "/api/orders" }, target: "orders", rollout: { percent: 0 } },
    { id: "order-cancel", match: { methods: ["POST"], path: "/api/orders/:id/cancel" }, target: "orders", rollout: { percent: 0 } },
  ],
});
