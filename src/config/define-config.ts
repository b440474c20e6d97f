import type { StranglerConfigInput } from "./schema.ts";

/**
 * Identity function that gives `routes.config.ts` editor autocomplete and type checking.
 *
 * @example
 * export default defineConfig({
 *   backends: { legacy: { url: "http://127.0.0.1:3001" }, catalog: { url: "http://127.0.0.1:3002" } },
 *   routes: [{ id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent: 10 } }],
 * });
 */
export function defineConfig(config: StranglerConfigInput): StranglerConfigInput {
  return config;
}
