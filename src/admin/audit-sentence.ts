import type { AuditEntry } from "../store/rollout-repository.ts";
import { differencePlace } from "./readable-diff.ts";

/**
 * An audit entry as one sentence an operator reads at a glance, actor first: "guard rolled back to 0% and
 * halted the route: error rate 12% > 5% over 140 requests (17 errors)", "alice set the rollout from 10% to
 * 25%: catalog verified". The entry's fields stay in the API beside it, for tools; this is for people.
 */
export function auditSentence(entry: AuditEntry): string {
  const before = record(entry.oldValue);
  const after = record(entry.newValue);
  const why = entry.reason.trim();
  const because = why ? `: ${why}` : "";
  const who = entry.actor;
  const percent = (v: Record<string, unknown>) => (typeof v.percent === "number" ? `${v.percent}%` : "?");
  switch (entry.action) {
    case "set_percent":
      return `${who} set the rollout from ${percent(before)} to ${percent(after)}${because}`;
    case "rollback":
      return `${who} rolled the route back from ${percent(before)} to 0%${because}`;
    case "reroll_salt":
      return `${who} re-rolled who is in the rollout (new salt)${because}`;
    case "guard_rollback":
      return `guard set the rollout from ${percent(before)} to ${percent(after)}${because}`;
    case "halted":
      // The guard's reason is already the sentence's body ("rolled back to 0% and halted the route: …").
      return `${who} ${why || "halted the route"}`;
    case "promote":
      return `promotion set the rollout from ${percent(before)} to ${percent(after)}${because}`;
    case "promote_step":
      return entry.source === "promotion"
        ? `promotion stepped from ${percent(before)} to ${percent(after)}${because}`
        : `${who} took the promotion's next step by hand (to ${percent(after)})${because}`;
    case "promotion_done":
      return `promotion finished${because}`;
    case "promotion_start":
      return `${who} started the promotion at ${percent(after)} (steps ${Array.isArray(after.steps) ? after.steps.join(" → ") : "?"})${because}`;
    case "promotion_awaiting_approval":
      return `the promotion waits for a yes to go to ${percent(after)}: ${why}`;
    case "promotion_approved":
      return `${who} said yes to the promotion's step to ${percent(after)}${because}`;
    case "promotion_approval_expired":
      return `promotion paused: ${why}`;
    case "promotion_pause":
      return `${who} paused the promotion${because}`;
    case "promotion_resume":
      return `${who} resumed the promotion at ${percent(after)}${because}`;
    case "resume":
      return `${who} lifted the ${String(before.state ?? "hold")} state: the route follows its percentage again${because}`;
    case "retire":
      return `${who} retired the route: the monolith's code for it can go${because}`;
    case "state_change":
      return `the route went from ${String(before.state ?? "?")} to ${String(after.state ?? "?")}${typeof after.percent === "number" ? ` at ${after.percent}%` : ""}${because}`;
    case "acknowledge_divergence":
      return `${who} marked the divergence "${differencePlace({ kind: String(before.kind ?? ""), path: String(before.path ?? "") })}" as ${String(after.status ?? "?")}${because}`;
    case "replay_example": {
      const n = typeof after.differences === "number" ? after.differences : 0;
      const outcome = after.outcome === "match" ? "now matches" : after.outcome === "diverge" ? `still diverges (${n} difference${n === 1 ? "" : "s"})` : "one side gave no answer";
      return `${who} replayed a stored example (${String(before.request ?? "?")}) to both backends: ${outcome}`;
    }
    case "recording_started":
      return `${who} started recording the route (recording ${String(after.recording ?? "?")}: a share ${String(after.rate ?? "?")} of its exchanges with the monolith, up to ${String(after.max ?? "?")})${because}`;
    case "recording_stopped":
      return `${who} stopped recording ${String(before.recording ?? "?")} at ${String(after.exchanges ?? "?")} exchanges${because}`;
    case "recording_deleted":
      return `${who} deleted recording ${String(before.recording ?? "?")} (${String(before.exchanges ?? "?")} exchanges) and its replay runs${because}`;
    case "replay_run": {
      const recordings = Array.isArray(before.recordings) ? before.recordings.join(", ") : "?";
      return `${who} replayed recording${Array.isArray(before.recordings) && before.recordings.length === 1 ? "" : "s"} ${recordings} against ${String(before.target ?? "?")}: ${String(after.status ?? "?")}, ${String(after.verdict ?? "")}${because}`;
    }
    case "divergence_signature":
      return `shadow comparison found a recurring divergence: ${differencePlace({ kind: String(after.kind ?? ""), path: String(after.path ?? "") })} (${String(after.count ?? "?")} times so far)`;
    case "webhook_test":
      return `${who} sent a test event to webhook "${String(after.webhook ?? "?")}": ${after.ok === true ? "delivered" : `not delivered (${String(after.error ?? "?")})`}`;
    case "reset_shadow_evidence":
      return `${who} cleared the route's shadow evidence${because}`;
    case "route_added":
      return `the route was added at ${percent(after)} (from ${who})`;
    case "config_change":
      return `routes.config.ts changed the rollout from ${percent(before)} to ${percent(after)}`;
    default:
      return `${who}: ${entry.action.replace(/_/g, " ")}${because}`;
  }
}

const record = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
