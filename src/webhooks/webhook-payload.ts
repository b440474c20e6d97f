import { createHmac } from "node:crypto";
import { auditSentence } from "../admin/audit-sentence.ts";
import type { AuditEntry } from "../store/rollout-repository.ts";
import { EVENT_OF_ACTION, type WebhookEvent } from "./event-names.ts";

/** One event as a receiver gets it (format "json"). */
export interface WebhookPayload {
  /** The same for every attempt at this event, and never another event's: receivers drop a second delivery by it. */
  readonly id: string;
  /** The event; `ping` for a test delivery (`POST /api/webhooks/{name}/test`), `promotion.confirm` for a gate's question. */
  readonly event: WebhookEvent | "ping" | "promotion.confirm";
  /** When it happened (the audit entry's time), ISO 8601. */
  readonly at: string;
  readonly route: string | null;
  /** Who did it: a token's label, `guard`, `promotion`, `routes.config.ts`, `shadow`, `recorder`. */
  readonly actor: string;
  /** The cockpit's sentence for it, actor first: "guard rolled back to 0% and halted the route: error rate 12% > 5% …". */
  readonly sentence: string;
  readonly reason: string;
  /** The audit entry's before and after (percentages, states, the evidence a guard or a promotion judged). */
  readonly before: unknown;
  readonly after: unknown;
  /** The audit entry it is, to look it up in `GET /api/audit`. */
  readonly auditId: number;
}

/** The event an audit entry is, or undefined when no webhook hears of it. */
export function eventOf(entry: AuditEntry): WebhookEvent | undefined {
  return EVENT_OF_ACTION[entry.action];
}

export function payloadOf(entry: AuditEntry, event: WebhookEvent): WebhookPayload {
  return {
    id: `audit-${entry.id}`,
    event,
    at: entry.at,
    route: entry.routeId,
    actor: entry.actor,
    sentence: auditSentence(entry),
    reason: entry.reason,
    before: entry.oldValue,
    after: entry.newValue,
    auditId: entry.id,
  };
}

const SLACK_MARK: Partial<Record<WebhookPayload["event"], string>> = {
  ping: ":wave:",
  "guard.tripped": ":rotating_light:",
  "promotion.awaiting_approval": ":raised_hand:",
  "promotion.approval_expired": ":hourglass:",
  "divergence.new": ":mag:",
  "route.retired": ":tada:",
  "promotion.done": ":white_check_mark:",
};

/**
 * The body sent: the event as JSON, or for Slack (and Teams' incoming webhooks, which read the same
 * `text`) one line a person reads in a channel. Slack's mrkdwn treats `&`, `<` and `>` as markup: escaped.
 */
export function bodyOf(payload: WebhookPayload, format: "json" | "slack"): string {
  if (format === "json") return JSON.stringify(payload);
  const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const mark = SLACK_MARK[payload.event] ?? ":arrows_counterclockwise:";
  const where = payload.route ? `*${escape(payload.route)}*: ` : "";
  return JSON.stringify({ text: `${mark} strangler-fig · ${where}${escape(payload.sentence)}`, event: payload.event, id: payload.id });
}

/** A test delivery: what a person asks for to see that a receiver takes the events (and checks their signature). */
export function pingPayload(webhook: string, actor: string, at: Date): WebhookPayload {
  const id = `ping-${at.getTime().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const sentence = `${actor} sent a test event to webhook "${webhook}"`;
  return { id, event: "ping", at: at.toISOString(), route: null, actor, sentence, reason: "", before: null, after: null, auditId: 0 };
}

/**
 * The question a confirming webhook is asked about a waiting step (Flagger's confirm-promotion): a 2xx
 * is a yes. The id is the same for every ask of one wait.
 */
export function confirmPayload(request: { routeId: string; step: number; fromPercent: number; toPercent: number; awaitingSince: number }, at: Date): WebhookPayload {
  return {
    id: `confirm-${request.routeId}-${request.step}-${request.awaitingSince}`,
    event: "promotion.confirm",
    at: at.toISOString(),
    route: request.routeId,
    actor: "promotion",
    sentence: `promotion asks: may ${request.routeId} go from ${request.fromPercent}% to ${request.toPercent}%? (waiting since ${new Date(request.awaitingSince).toISOString()})`,
    reason: "",
    before: { percent: request.fromPercent, step: request.step - 1 },
    after: { percent: request.toPercent, step: request.step },
    auditId: 0,
  };
}

/** `sha256=<hex>`: the HMAC-SHA256 of the exact body with the webhook's secret, as GitHub signs its webhooks. */
export function signatureOf(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
