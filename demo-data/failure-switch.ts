import type { Context, Hono, Next } from "hono";

/**
 * A switch for the demo: `POST /__demo/failure {"status": 500}` makes every `/api/*` answer of this
 * service that status (a deploy gone wrong); `{"status": 0}` turns it off. So a newcomer can watch the
 * proxy's guard roll the route back by itself. The catalog's own `/products/*` paths fail too.
 */
export function registerFailureSwitch(app: Hono): void {
  let failWith = 0;
  app.post("/__demo/failure", async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { status?: unknown };
    const status = Number(body.status ?? 0);
    if (!Number.isInteger(status) || (status !== 0 && (status < 500 || status > 599))) {
      return c.json({ error: { code: "invalid_body", message: 'status must be 0 (off) or a 5xx code, e.g. {"status":500}' } }, 400);
    }
    failWith = status;
    return c.json({ failing: failWith !== 0, status: failWith });
  });
  const failing = async (c: Context, next: Next) => {
    if (failWith === 0) return next();
    return c.json({ error: { code: "demo_failure", message: "this service was told to fail (POST /__demo/failure)" } }, failWith as 500);
  };
  app.use("/api/*", failing);
  app.use("/products/*", failing);
}
