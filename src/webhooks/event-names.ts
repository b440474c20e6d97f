/**
 * The migration events a webhook may ask for. Each is an audit entry seen from outside: the audit trail
 * is the webhooks' outbox (webhook-deliverer.ts), so an event is delivered for every change however it
 * was made (the API, the CLI, the cockpit, a guard, a promotion, routes.config.ts) and on whichever node.
 */
export const WEBHOOK_EVENTS = [
  /** A route's percentage was set by a person or routes.config.ts (a roll back to 0% included). */
  "percentage.set",
  "promotion.started",
  /** The promotion took a step (evidence passed, or a person took it by hand). */
  "promotion.step",
  "promotion.done",
  "promotion.paused",
  "promotion.resumed",
  /** A gated step waits for a person's or a webhook's yes. */
  "promotion.awaiting_approval",
  "promotion.approved",
  /** A gated step waited longer than its timeout: the promotion is paused where it is. */
  "promotion.approval_expired",
  /** A guard rolled the route back and halted it. */
  "guard.tripped",
  /** A halt or a pause was lifted. */
  "route.resumed",
  "route.retired",
  /** A recording stopped: by hand, full, or shed under overload. */
  "recording.finished",
  "replay.finished",
  /** A divergence signature reached `shadowing.announceDivergenceAt` comparisons. */
  "divergence.new",
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The event an audit action is, or undefined for actions no webhook hears (a state following its percentage, a note, …). */
export const EVENT_OF_ACTION: Readonly<Record<string, WebhookEvent>> = {
  set_percent: "percentage.set",
  rollback: "percentage.set",
  config_change: "percentage.set",
  promotion_start: "promotion.started",
  promote_step: "promotion.step",
  promotion_done: "promotion.done",
  promotion_pause: "promotion.paused",
  promotion_resume: "promotion.resumed",
  promotion_awaiting_approval: "promotion.awaiting_approval",
  promotion_approved: "promotion.approved",
  promotion_approval_expired: "promotion.approval_expired",
  halted: "guard.tripped",
  resume: "route.resumed",
  retire: "route.retired",
  recording_stopped: "recording.finished",
  replay_run: "replay.finished",
  divergence_signature: "divergence.new",
};
