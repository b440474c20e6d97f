import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StranglerConfigInput } from "../../src/config/schema.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startDemoBackends, type DemoBackends } from "../helpers/demo.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

type Routes = NonNullable<StranglerConfigInput["routes"]>;

/** The demo's routes, every one at the same percentage. */
function demoRoutes(percent: number): Routes {
  return [
    { id: "products-list", match: { methods: ["GET"], path: "/api/products" }, target: "catalog", rollout: { percent } },
    { id: "product-detail", match: { methods: ["GET"], path: "/api/products/:id" }, target: "catalog", rollout: { percent } },
    { id: "inventory-read", match: { methods: ["GET"], path: "/api/inventory/:productId" }, target: "catalog", rollout: { percent } },
    { id: "orders-list", match: { methods: ["GET"], path: "/api/orders" }, target: "orders", rollout: { percent } },
    { id: "order-detail", match: { methods: ["GET"], path: "/api/orders/:id" }, target: "orders", rollout: { percent } },
    { id: "order-create", match: { methods: ["POST"], path: "/api/orders" }, target: "orders", rollout: { percent } },
    { id: "order-cancel", match: { methods: ["POST"], path: "/api/orders/:id/cancel" }, target: "orders", rollout: { percent } },
  ];
}

const CLAIMED: Array<[method: string, path: string, target: string, body?: unknown]> = [
  ["GET", "/api/products?category=books&page=1", "catalog"],
  ["GET", "/api/products/p_001", "catalog"],
  ["GET", "/api/inventory/p_002", "catalog"],
  ["GET", "/api/orders?userId=u_001", "orders"],
  ["GET", "/api/orders/ord_seed_001", "orders"],
  ["POST", "/api/orders", "orders", { userId: "u_002", items: [{ productId: "p_003", quantity: 1 }] }],
  ["POST", "/api/orders/ord_seed_002/cancel", "orders"],
];

const UNCLAIMED: Array<[method: string, path: string]> = [
  ["GET", "/api/users"],
  ["GET", "/api/users/u_001"],
  ["GET", "/api/cart/u_001"],
  ["GET", "/healthz"],
  ["GET", "/"],
  ["DELETE", "/api/products"], // method mismatch: no route claims DELETE
  ["PUT", "/api/orders/ord_seed_003"],
  ["GET", "/api/products/p_001/reviews"], // deeper than any template
  ["GET", "/api/products/"], // a trailing slash is another path
];

async function call(proxy: Strangler, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${proxy.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("routing matrix over the demo", () => {
  let demo: DemoBackends;
  const temp = makeTempDir();
  beforeAll(async () => {
    demo = await startDemoBackends();
  });
  afterAll(async () => {
    await demo.close();
    temp.remove();
  });

  async function withProxy(percent: number, run: (proxy: Strangler) => Promise<void>): Promise<void> {
    const proxy = await startTestProxy(writeConfig(temp.dir, { backends: demo.backends, routes: demoRoutes(percent) }, `routes-${percent}.config.ts`));
    try {
      await run(proxy);
    } finally {
      await proxy.close();
    }
  }

  it("at 0% every route goes to the monolith", async () => {
    await withProxy(0, async (proxy) => {
      for (const [method, path, , body] of CLAIMED) {
        const res = await call(proxy, method, path, body);
        expect(res.headers.get("x-served-by"), `${method} ${path}`).toBe("legacy");
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        await res.arrayBuffer();
      }
    });
  });

  it("at 100% every route goes to its service", async () => {
    await withProxy(100, async (proxy) => {
      for (const [method, path, target, body] of CLAIMED) {
        const res = await call(proxy, method, path, body);
        expect(res.headers.get("x-served-by"), `${method} ${path}`).toBe(target);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        await res.arrayBuffer();
      }
    });
  });

  it("paths no route claims go to the monolith, at any percentage", async () => {
    await withProxy(100, async (proxy) => {
      for (const [method, path] of UNCLAIMED) {
        const res = await call(proxy, method, path);
        expect(res.headers.get("x-served-by"), `${method} ${path}`).toBe("legacy");
        await res.arrayBuffer();
      }
    });
  });

  it("the service's answer is the client's: the catalog's deliberate string price comes through", async () => {
    await withProxy(100, async (proxy) => {
      const res = await call(proxy, "GET", "/api/products/p_001");
      expect(await res.json()).toMatchObject({ id: "p_001", category: "books", price: expect.any(String) });
    });
    await withProxy(0, async (proxy) => {
      const res = await call(proxy, "GET", "/api/products/p_001");
      expect(await res.json()).toMatchObject({ id: "p_001", category: "books", price: expect.any(Number) });
    });
  });

  it("a disguised path is matched as the backend reads it", async () => {
    await withProxy(100, async (proxy) => {
      for (const disguised of ["/api/%70roducts/p_001", "/api/users/../products/p_001", "/api/users/%2e%2e/products/p_001"]) {
        const res = await call(proxy, "GET", disguised);
        expect(res.headers.get("x-served-by"), disguised).toBe("catalog");
        expect(res.status, disguised).toBe(200);
        await res.arrayBuffer();
      }
    });
  });

  it("at 50% each user stays on one side, and both sides serve some users", async () => {
    await withProxy(50, async (proxy) => {
      const sides = new Set<string>();
      for (let user = 0; user < 40; user++) {
        const seen = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${proxy.url}/api/products/p_001`, { headers: { "x-user-id": `user-${user}` } });
          seen.add(res.headers.get("x-served-by") ?? "");
          await res.arrayBuffer();
        }
        expect(seen.size, `user-${user}`).toBe(1);
        sides.add([...seen][0] as string);
      }
      expect(sides).toEqual(new Set(["legacy", "catalog"]));
    });
  });
});
