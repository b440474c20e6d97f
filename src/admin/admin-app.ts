import { Hono } from "hono";

export interface AdminAppOptions {
  /** True once the data plane is listening. */
  readonly isServing: () => boolean;
}

/** The admin listener's app. For now: `GET /healthz`, 200 once the data plane serves, 503 before. */
export function createAdminApp(options: AdminAppOptions): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => (options.isServing() ? c.json({ status: "ok" }) : c.json({ status: "starting" }, 503)));
  app.notFound((c) => c.json({ error: { code: "not_found", message: `no admin endpoint ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((error, c) => c.json({ error: { code: "internal", message: error.message } }, 500));
  return app;
}
