import { describe, expect, it } from "vitest";
import { auditSentence } from "../../../src/admin/audit-sentence.ts";
import type { AuditEntry } from "../../../src/store/rollout-repository.ts";

const entry = (action: string, fields: Partial<AuditEntry> = {}): AuditEntry => ({
  id: 1,
  at: "2026-12-03T08:00:00.000Z",
  actor: "alice",
  action,
  routeId: "catalog",
  oldValue: null,
  newValue: null,
  reason: "",
  source: "admin",
  ...fields,
});

describe("auditSentence: every audit entry as one sentence, actor first", () => {
  it.each([
    [entry("set_percent", { oldValue: { percent: 10 }, newValue: { percent: 25 }, reason: "catalog verified" }), "alice set the rollout from 10% to 25%: catalog verified"],
    [entry("rollback", { oldValue: { percent: 40 }, newValue: { percent: 0 }, reason: "errors" }), "alice rolled the route back from 40% to 0%: errors"],
    [entry("reroll_salt", { reason: "new cohort" }), "alice re-rolled who is in the rollout (new salt): new cohort"],
    [entry("guard_rollback", { actor: "guard", oldValue: { percent: 25 }, newValue: { percent: 0 }, reason: "rolled back to 0% and halted the route: error rate 12% > 5% over 140 requests (17 errors)" }), "guard set the rollout from 25% to 0%: rolled back to 0% and halted the route: error rate 12% > 5% over 140 requests (17 errors)"],
    [entry("halted", { actor: "guard", reason: "rolled back to 0% and halted the route: error rate 12% > 5% over 140 requests (17 errors)" }), "guard rolled back to 0% and halted the route: error rate 12% > 5% over 140 requests (17 errors)"],
    [entry("halted", { actor: "guard" }), "guard halted the route"],
    [entry("promote", { actor: "promotion", oldValue: { percent: 1 }, newValue: { percent: 5 }, reason: "promotion step 2 of 5" }), "promotion set the rollout from 1% to 5%: promotion step 2 of 5"],
    [entry("promote_step", { actor: "promotion", source: "promotion", oldValue: { percent: 1 }, newValue: { percent: 5 }, reason: "evidence passed at 1%" }), "promotion stepped from 1% to 5%: evidence passed at 1%"],
    [entry("promote_step", { newValue: { percent: 50 }, reason: "skip ahead" }), "alice took the promotion's next step by hand (to 50%): skip ahead"],
    [entry("promotion_done", { actor: "promotion", reason: "promotion complete: 300 comparisons at 100%" }), "promotion finished: promotion complete: 300 comparisons at 100%"],
    [entry("promotion_start", { newValue: { percent: 1, steps: [1, 5, 100] }, reason: "go" }), "alice started the promotion at 1% (steps 1 → 5 → 100): go"],
    [entry("promotion_pause", { reason: "look" }), "alice paused the promotion: look"],
    [entry("promotion_resume", { newValue: { percent: 5 } }), "alice resumed the promotion at 5%"],
    [entry("resume", { oldValue: { state: "halted" }, reason: "fixed" }), "alice lifted the halted state: the route follows its percentage again: fixed"],
    [entry("retire", { reason: "code deleted" }), "alice retired the route: the monolith's code for it can go: code deleted"],
    [entry("state_change", { actor: "system", oldValue: { state: "canary" }, newValue: { state: "migrated", percent: 100 } }), "the route went from canary to migrated at 100%"],
    [entry("acknowledge_divergence", { oldValue: { kind: "type_changed", path: "$.price" }, newValue: { status: "fixed" }, reason: "deployed" }), 'alice marked the divergence "type_changed $.price" as fixed: deployed'],
    [entry("acknowledge_divergence", { oldValue: { kind: "status", path: "status" }, newValue: { status: "accepted" } }), 'alice marked the divergence "HTTP status" as accepted'],
    [entry("replay_example", { oldValue: { request: "GET /api/products?page=2" }, newValue: { outcome: "diverge", differences: 1 } }), "alice replayed a stored example (GET /api/products?page=2) to both backends: still diverges (1 difference)"],
    [entry("replay_example", { oldValue: { request: "GET /x" }, newValue: { outcome: "diverge", differences: 3 } }), "alice replayed a stored example (GET /x) to both backends: still diverges (3 differences)"],
    [entry("replay_example", { oldValue: { request: "GET /x" }, newValue: { outcome: "match", differences: 0 } }), "alice replayed a stored example (GET /x) to both backends: now matches"],
    [entry("replay_example", { oldValue: { request: "GET /x" }, newValue: { outcome: "error", differences: 1 } }), "alice replayed a stored example (GET /x) to both backends: one side gave no answer"],
    [entry("recording_started", { newValue: { recording: 3, rate: 0.1, max: 1000 }, reason: "before extracting" }), "alice started recording the route (recording 3: a share 0.1 of its exchanges with the monolith, up to 1000): before extracting"],
    [entry("recording_stopped", { oldValue: { recording: 3 }, newValue: { exchanges: 412 } }), "alice stopped recording 3 at 412 exchanges"],
    [entry("recording_deleted", { oldValue: { recording: 3, exchanges: 412 } }), "alice deleted recording 3 (412 exchanges) and its replay runs"],
    [
      entry("replay_run", { oldValue: { recordings: [3, 4], target: "http://127.0.0.1:3003" }, newValue: { status: "passed", verdict: "pass rate 100% over 90 exchanges" }, reason: "pre-canary" }),
      "alice replayed recordings 3, 4 against http://127.0.0.1:3003: passed, pass rate 100% over 90 exchanges: pre-canary",
    ],
    [entry("replay_run", { oldValue: { recordings: [3], target: "http://x" }, newValue: { status: "failed", verdict: "too few" } }), "alice replayed recording 3 against http://x: failed, too few"],
    [entry("reset_shadow_evidence", { reason: "new build" }), "alice cleared the route's shadow evidence: new build"],
    [entry("route_added", { actor: "source config", newValue: { percent: 0 } }), "the route was added at 0% (from source config)"],
    [entry("config_change", { actor: "source config", oldValue: { percent: 0 }, newValue: { percent: 10 } }), "routes.config.ts changed the rollout from 0% to 10%"],
    [entry("something_new", { reason: "why" }), "alice: something new: why"],
  ])("%#: %s", (e, sentence) => {
    expect(auditSentence(e)).toBe(sentence);
  });

  it("a missing percentage reads as ?, not as undefined", () => {
    expect(auditSentence(entry("set_percent", { oldValue: "garbage", newValue: null }))).toBe("alice set the rollout from ? to ?");
  });
});
