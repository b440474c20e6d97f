import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import type { Stores } from "../store/open-stores.ts";
import type { WebhookState } from "../store/webhook-store.ts";
import { deliver, shownUrl, WebhookDeliverer, type AttemptResult, type WebhookMetrics } from "../webhooks/webhook-deliverer.ts";
import { pingPayload } from "../webhooks/webhook-payload.ts";
import type { LiveState } from "./live-state.ts";

/** A webhook as the admin API shows it: its settings (the URL's origin only, never the secret) and its deliveries. */
export interface WebhookView {
  readonly name: string;
  readonly url: string;
  readonly format: "json" | "slack";
  readonly events: readonly string[];
  readonly routes: readonly string[] | null;
  readonly signed: boolean;
  /** `new` (nothing to deliver yet), `ok`, or `retrying` (an event failed: `attempts` so far, next at `nextAttemptAt`). */
  readonly status: "new" | "ok" | "retrying";
  /** Audit entries it is behind (not every one is an event it wants). */
  readonly backlog: number;
  readonly delivery: Record<string, unknown> | null;
}

export interface WebhookWiring {
  readonly deliverer: WebhookDeliverer;
  view(): Promise<WebhookView[]>;
  /** Sends a `ping` now, once, and says what the receiver answered (not retried, not in the delivery state). */
  test(name: string, actor: string): Promise<(AttemptResult & { readonly id: string }) | undefined>;
  /**
   * Gives each webhook of the config in force its place in the audit trail, if it has none: the trail's
   * end now. Every node does it at start-up and on reload, so a new webhook hears of every change made
   * after the config naming it was loaded, whichever node made it and whenever the judge first looks.
   */
  register(): Promise<void>;
  /** Starts delivering (on the judge) every `everyMs`; returns the stop function. */
  start(everyMs: number): () => Promise<void>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function deliveryView(state: WebhookState) {
  return {
    lastId: state.lastId,
    delivered: state.delivered,
    failed: state.failed,
    skipped: state.skipped,
    attempts: state.attempts,
    nextAttemptAt: iso(state.nextAttemptAt),
    lastStatus: state.lastStatus,
    lastError: state.lastError,
    lastAttemptAt: iso(state.lastAttemptAt),
    lastDeliveredAt: iso(state.lastDeliveredAt),
  };
}

function webhookMetrics(registry: Registry, backlogs: () => ReadonlyArray<readonly [string, number]>): WebhookMetrics {
  const deliveries = new Counter({
    name: "strangler_webhook_deliveries_total",
    help: "Webhook delivery attempts by outcome: delivered, failed (tried again later), given_up (after maxAttempts), skipped (past maxBacklog, one per entry)",
    labelNames: ["webhook", "outcome"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "strangler_webhook_backlog",
    help: "Audit entries a webhook is behind, on the process that delivers (the judge)",
    labelNames: ["webhook"] as const,
    registers: [registry],
    aggregator: "max",
    collect() {
      this.reset();
      for (const [name, n] of backlogs()) this.labels(name).set(n);
    },
  });
  return { outcome: (webhook, outcome, n = 1) => deliveries.labels(webhook, outcome).inc(n) };
}

/**
 * Webhooks: the deliverer of the audit trail's migration events (on the judge: one per store, so a fleet
 * sends each event once), their view for the admin API, and a test delivery.
 */
export function wireWebhooks(deps: {
  readonly stores: Stores;
  readonly live: LiveState;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly shadows: ShadowRunner;
  /** True on the process that judges (fleet-wiring.ts): it delivers. */
  readonly isDeliverer: () => boolean;
}): WebhookWiring {
  const { stores, live } = deps;
  let deliverer: WebhookDeliverer | undefined;
  const metrics = webhookMetrics(deps.registry, () => (deliverer?.delivering ? deliverer.backlogs() : []));
  deliverer = new WebhookDeliverer({
    store: stores.webhooks,
    audit: { after: (id, limit) => stores.rollouts.auditAfter(id, limit), head: () => stores.rollouts.auditHead() },
    webhooks: () => live.config.webhooks,
    isDeliverer: deps.isDeliverer,
    gapWaitMs: stores.kind === "postgres" ? 2_000 : 0,
    // A divergence the route has since learned as noise is not news any more.
    stillNews: (entry) => {
      if (entry.action !== "divergence_signature" || entry.routeId === null) return true;
      const told = entry.newValue as { path?: string; kind?: string };
      const route = live.config.routes.find((r) => r.id === entry.routeId);
      return !deps.shadows.noise.isNoise(entry.routeId, String(told.path), String(told.kind), route?.shadow?.noise.minOccurrences ?? 2);
    },
    metrics,
    logger: deps.logger,
  });
  const running = deliverer;
  return {
    deliverer: running,
    async view() {
      const [states, head] = await Promise.all([stores.webhooks.states(), stores.rollouts.auditHead()]);
      const byName = new Map(states.map((s) => [s.name, s]));
      return live.config.webhooks.map((hook) => {
        const state = byName.get(hook.name);
        return {
          name: hook.name,
          url: shownUrl(hook.url),
          format: hook.format,
          events: hook.events,
          routes: hook.routes ?? null,
          signed: hook.secret !== undefined,
          status: state === undefined ? "new" : state.attempts > 0 ? "retrying" : "ok",
          backlog: state === undefined ? 0 : Math.max(0, head - state.lastId),
          delivery: state === undefined ? null : deliveryView(state),
        };
      });
    },
    async test(name, actor) {
      const hook = live.config.webhooks.find((h) => h.name === name);
      if (!hook) return undefined;
      const payload = pingPayload(hook.name, actor, new Date());
      return { id: payload.id, ...(await deliver(hook, payload, 1)) };
    },
    async register() {
      if (live.config.webhooks.length === 0) return;
      const head = await stores.rollouts.auditHead();
      for (const hook of live.config.webhooks) await stores.webhooks.ensure(hook.name, head);
    },
    start: (everyMs) => running.start(everyMs),
  };
}
