import type { Hono } from "hono";
import { z } from "zod";
import type { RolloutStore } from "../store/rollout-store.ts";
import type { WebhookWiring } from "../wiring/webhook-wiring.ts";
import type { AdminEnv } from "./access.ts";
import { AdminError } from "./admin-error.ts";
import { readBody } from "./read-input.ts";

export interface WebhookApiOptions {
  readonly webhooks: Pick<WebhookWiring, "view" | "test">;
  readonly audit: Pick<RolloutStore, "appendAudit">;
}

/** A test delivery takes no options: an empty JSON object. */
export const webhookTestSchema = z.strictObject({});

/** The webhooks over the admin API: each with its deliveries, and a test delivery. */
export function registerWebhookApi(app: Hono<AdminEnv>, options: WebhookApiOptions): void {
  const find = async (name: string) => {
    const found = (await options.webhooks.view()).find((w) => w.name === name);
    if (!found) throw new AdminError(404, "webhook_not_found", `no webhook "${name}" in the config in force`);
    return found;
  };
  app.get("/api/webhooks", async (c) => c.json({ webhooks: await options.webhooks.view() }));
  app.get("/api/webhooks/:name", async (c) => c.json(await find(c.req.param("name"))));
  app.post("/api/webhooks/:name/test", async (c) => {
    const hook = await find(c.req.param("name"));
    await readBody(c, webhookTestSchema);
    const result = (await options.webhooks.test(hook.name, c.get("actor"))) as NonNullable<Awaited<ReturnType<WebhookApiOptions["webhooks"]["test"]>>>;
    // Audited: it sends a request from the proxy to the receiver's host.
    await options.audit.appendAudit({ actor: c.get("actor"), action: "webhook_test", routeId: null, oldValue: null, newValue: { webhook: hook.name, ok: result.ok, status: result.status, error: result.error }, reason: "", source: "admin" });
    return c.json({ webhook: hook.name, ...result });
  });
}
