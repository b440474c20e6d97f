import type { Logger } from "pino";
import { performance } from "node:perf_hooks";
import { request } from "undici";
import { routeMatches } from "../admin/access.ts";
import type { z } from "zod";
import type { webhookSchema } from "../config/schema.ts";
import type { AuditEntry } from "../store/rollout-repository.ts";
import type { WebhookState, WebhookStore } from "../store/webhook-store.ts";
import { PACKAGE_VERSION } from "../version.ts";
import type { WebhookEvent } from "./event-names.ts";
import { bodyOf, eventOf, payloadOf, signatureOf, type WebhookPayload } from "./webhook-payload.ts";

export type WebhookConfig = z.output<typeof webhookSchema>;

/** The audit log as the deliverer reads it: its outbox. */
export interface AuditFeed {
  after(afterId: number, limit: number): Promise<AuditEntry[]>;
  head(): Promise<number>;
}

export interface WebhookMetrics {
  /** One delivery attempt's outcome: delivered, failed (tried again later), given_up, or skipped (past maxBacklog; `n` entries). */
  outcome(webhook: string, outcome: "delivered" | "failed" | "given_up" | "skipped", n?: number): void;
}

export interface WebhookDelivererOptions {
  readonly store: WebhookStore;
  readonly audit: AuditFeed;
  readonly webhooks: () => readonly WebhookConfig[];
  /** True on the one process that delivers: the fleet's judge (one per store). */
  readonly isDeliverer: () => boolean;
  /**
   * How long a gap in the audit ids is waited for before it is passed: PostgreSQL hands out ids before
   * their transactions commit, so entry 11 can be seen before entry 10 is. 0 on SQLite (one writer at a time).
   */
  readonly gapWaitMs: number;
  /** Whether an entry is still worth telling (a divergence since learned as noise is not). Default: all. */
  readonly stillNews?: (entry: AuditEntry) => boolean;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** What one attempt got: the receiver's status, or why there was none. */
export interface AttemptResult {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
  readonly ms: number;
}

/** Entries read from the audit log per query, and at most per webhook per pass (a pass is every second). */
const PAGE = 50;
const MAX_PER_PASS = 200;

/**
 * Delivers the audit trail's migration events to the configured webhooks: at least once, in order, each
 * webhook on its own. The audit log is the outbox (every change is in it, from any node, in the same
 * transaction as the change itself), and each webhook's place in it is kept in the store: a restart, or a
 * new judge after the old one died, goes on from there, so nothing is lost; an event is sent again only
 * when its attempt did not get a 2xx (the same `id`, a higher `X-Strangler-Attempt`). A failing receiver
 * is retried with exponential back-off up to `maxAttempts`, then that event is given up (counted and
 * logged) and the next one is sent. Nothing here runs on the data plane or in a guard's evaluation: a
 * slow receiver delays only its own webhook.
 */
export class WebhookDeliverer {
  readonly #options: WebhookDelivererOptions;
  readonly #now: () => number;
  /** Each webhook's state as this deliverer last wrote or read it: the store is read again after a CAS loss, or on becoming the deliverer. */
  readonly #states = new Map<string, WebhookState>();
  /** A gap in the audit ids first seen (after which id, since when), per webhook. */
  readonly #gaps = new Map<string, { after: number; since: number }>();
  #delivering = false;
  #head = 0;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: WebhookDelivererOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Delivers every `everyMs` while this process is the deliverer. Returns the stop function. */
  start(everyMs: number): () => Promise<void> {
    let stopped = false;
    const loop = async () => {
      await this.pass();
      if (!stopped) {
        this.#timer = setTimeout(() => void loop(), everyMs);
        this.#timer.unref();
      }
    };
    this.#timer = setTimeout(() => void loop(), 0);
    this.#timer.unref();
    return async () => {
      stopped = true;
      clearTimeout(this.#timer);
      await this.#running;
    };
  }

  /** One pass over every webhook (one at a time: a pass already running is joined). */
  pass(): Promise<void> {
    this.#running ??= this.#pass()
      .catch((error: Error) => this.#options.logger.error({ err: error.message }, "webhook delivery pass failed"))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** The newest audit id the last pass saw (what each webhook's backlog is measured against). */
  get head(): number {
    return this.#head;
  }

  /** Each webhook's distance from the head, as this deliverer last knew it. */
  backlogs(): Array<readonly [string, number]> {
    return [...this.#states.values()].map((s) => [s.name, Math.max(0, this.#head - s.lastId)] as const);
  }

  get delivering(): boolean {
    return this.#delivering;
  }

  async #pass(): Promise<void> {
    if (!this.#options.isDeliverer()) {
      this.#delivering = false;
      return;
    }
    if (!this.#delivering) {
      // Another process delivered meanwhile: what it wrote is the truth now.
      this.#states.clear();
      this.#delivering = true;
    }
    this.#head = await this.#options.audit.head();
    await Promise.all(this.#options.webhooks().map((hook) => this.#advance(hook).catch((error: Error) => this.#options.logger.error({ webhook: hook.name, err: error.message }, "webhook delivery failed"))));
  }

  async #advance(hook: WebhookConfig): Promise<void> {
    const { store, logger, metrics } = this.#options;
    const head = this.#head;
    // A new webhook starts at the head: it hears of what happens from now on, not of the whole history.
    let state = this.#states.get(hook.name) ?? (await store.ensure(hook.name, head));
    let stored = state.lastId;
    const save = async (next: WebhookState): Promise<boolean> => {
      if (await store.save(next, stored)) {
        stored = next.lastId;
        this.#states.set(hook.name, next);
        return true;
      }
      // Another deliverer moved it: read it again on the next pass, and send nothing on a stale place.
      this.#states.delete(hook.name);
      return false;
    };
    if (state.nextAttemptAt !== null && this.#now() < state.nextAttemptAt) {
      this.#states.set(hook.name, state);
      return;
    }
    if (head - state.lastId > hook.maxBacklog) {
      const skipped = head - hook.maxBacklog - state.lastId;
      logger.warn({ webhook: hook.name, skipped, maxBacklog: hook.maxBacklog }, "webhook fell further behind than its maxBacklog: the oldest events are passed over");
      metrics.outcome(hook.name, "skipped", skipped);
      if (!(await save({ ...state, lastId: head - hook.maxBacklog, attempts: 0, nextAttemptAt: null, skipped: state.skipped + skipped }))) return;
      state = this.#states.get(hook.name) as WebhookState;
    }
    let seen = 0;
    while (state.lastId < head && seen < MAX_PER_PASS) {
      const entries = await this.#options.audit.after(state.lastId, PAGE);
      if (entries.length === 0) break;
      for (const entry of entries) {
        if (entry.id > state.lastId + 1 && !this.#gapPassed(hook.name, state.lastId)) {
          if (state.lastId !== stored) await save(state);
          return;
        }
        seen++;
        const event = eventOf(entry);
        if (event === undefined || !this.#wants(hook, event, entry)) {
          state = { ...state, lastId: entry.id };
          continue;
        }
        const attempt = state.attempts + 1;
        const result = await deliver(hook, payloadOf(entry, event), attempt);
        const now = this.#now();
        const tried = { ...state, lastStatus: result.status, lastError: result.error, lastAttemptAt: now };
        if (result.ok) {
          metrics.outcome(hook.name, "delivered");
          if (!(await save({ ...tried, lastId: entry.id, attempts: 0, nextAttemptAt: null, delivered: state.delivered + 1, lastDeliveredAt: now }))) return;
        } else if (attempt >= hook.maxAttempts) {
          metrics.outcome(hook.name, "given_up");
          logger.error({ webhook: hook.name, event, id: `audit-${entry.id}`, attempts: attempt, status: result.status, err: result.error }, "webhook event given up after its last attempt");
          if (!(await save({ ...tried, lastId: entry.id, attempts: 0, nextAttemptAt: null, failed: state.failed + 1 }))) return;
        } else {
          metrics.outcome(hook.name, "failed");
          logger.warn({ webhook: hook.name, event, id: `audit-${entry.id}`, attempt, status: result.status, err: result.error }, "webhook delivery failed: it will be tried again");
          await save({ ...tried, attempts: attempt, nextAttemptAt: now + backoffMs(hook, attempt) });
          return;
        }
        state = this.#states.get(hook.name) as WebhookState;
      }
      if (entries.length < PAGE) break;
    }
    // Entries no webhook of this kind wanted move its place on too, in one write.
    if (state.lastId !== stored) await save(state);
    else this.#states.set(hook.name, state);
  }

  /** True once a gap after `after` has been waited for long enough (or gaps are not waited for). */
  #gapPassed(webhook: string, after: number): boolean {
    if (this.#options.gapWaitMs <= 0) return true;
    const gap = this.#gaps.get(webhook);
    if (!gap || gap.after !== after) {
      this.#gaps.set(webhook, { after, since: this.#now() });
      return false;
    }
    return this.#now() - gap.since >= this.#options.gapWaitMs;
  }

  #wants(hook: WebhookConfig, event: WebhookEvent, entry: AuditEntry): boolean {
    if (!hook.events.includes("*") && !hook.events.includes(event)) return false;
    if (hook.routes && (entry.routeId === null || !routeMatches(hook.routes, entry.routeId))) return false;
    return this.#options.stillNews?.(entry) ?? true;
  }
}

/** The wait before attempt `attempt + 1`: the base doubled per attempt, capped, and between half and all of it (jitter, so receivers coming back are not hit by every sender at once). */
export function backoffMs(hook: Pick<WebhookConfig, "retryBackoffMs" | "maxRetryBackoffMs">, attempt: number): number {
  const full = Math.min(hook.maxRetryBackoffMs, hook.retryBackoffMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(full / 2 + Math.random() * (full / 2));
}

/** POSTs one event, signed, within the webhook's timeout; a 2xx is delivered, anything else (a redirect too) is not. */
export async function deliver(hook: WebhookConfig, payload: WebhookPayload, attempt: number): Promise<AttemptResult> {
  const body = bodyOf(payload, hook.format);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": `strangler-fig/${PACKAGE_VERSION}`,
    "x-strangler-event": payload.event,
    "x-strangler-delivery": payload.id,
    "x-strangler-attempt": String(attempt),
  };
  if (hook.secret !== undefined) headers["x-strangler-signature"] = signatureOf(body, hook.secret);
  const started = performance.now();
  try {
    // undici's request, not fetch: fetch refuses some ports (its "bad ports" list) a receiver may well use.
    // No redirect is followed (a 3xx is not delivered), and the answer's body is not kept.
    const res = await request(hook.url, { method: "POST", headers, body, signal: AbortSignal.timeout(hook.timeoutMs) });
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return { ok, status: res.statusCode, error: ok ? null : `the receiver answered ${res.statusCode}`, ms: Math.round(performance.now() - started) };
  } catch (error) {
    const { name, code, message } = error as { name?: string; code?: string; message: string };
    const reason = name === "TimeoutError" || name === "AbortError" ? `no answer within timeoutMs (${hook.timeoutMs} ms)` : (code ?? message);
    return { ok: false, status: null, error: reason, ms: Math.round(performance.now() - started) };
  }
}

/** A webhook's URL as shown (API, logs): its origin only, since a path or query often holds the secret (Slack's do). */
export function shownUrl(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname === "/" && parsed.search === "" ? parsed.origin : `${parsed.origin}/…`;
}
