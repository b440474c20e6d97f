import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../../src/store/rollout-repository.ts";
import { WEBHOOK_EVENTS } from "../../../src/webhooks/event-names.ts";
import { backoffMs, shownUrl } from "../../../src/webhooks/webhook-deliverer.ts";
import { bodyOf, eventOf, payloadOf, signatureOf } from "../../../src/webhooks/webhook-payload.ts";

const entry = (action: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  id: 42,
  at: "2026-12-07T03:00:00.000Z",
  actor: "guard",
  action,
  routeId: "checkout",
  oldValue: { state: "canary", percent: 25 },
  newValue: { state: "halted", percent: 0 },
  reason: "rolled back to 0% and halted the route: error rate 12% > 5% over 140 requests",
  source: "guard",
  ...extra,
});

describe("webhook payloads", () => {
  it("names an event for every audit action a migration event is, and none for the others", () => {
    expect(eventOf(entry("halted"))).toBe("guard.tripped");
    expect(eventOf(entry("rollback"))).toBe("percentage.set");
    // The rollout moves a guard or a promotion makes are told by their own events, not twice.
    expect(eventOf(entry("guard_rollback"))).toBeUndefined();
    expect(eventOf(entry("promote"))).toBeUndefined();
    expect(eventOf(entry("state_change"))).toBeUndefined();
    expect(eventOf(entry("webhook_test"))).toBeUndefined();
  });

  it("carries the id every attempt shares, the cockpit's sentence and the entry's before and after", () => {
    const payload = payloadOf(entry("halted"), "guard.tripped");
    expect(payload).toEqual({
      id: "audit-42",
      event: "guard.tripped",
      at: "2026-12-07T03:00:00.000Z",
      route: "checkout",
      actor: "guard",
      sentence: "guard rolled back to 0% and halted the route: error rate 12% > 5% over 140 requests",
      reason: entry("halted").reason,
      before: { state: "canary", percent: 25 },
      after: { state: "halted", percent: 0 },
      auditId: 42,
    });
    expect(JSON.parse(bodyOf(payload, "json"))).toEqual(payload);
  });

  it("writes Slack one line, its markup escaped", () => {
    const payload = payloadOf(entry("set_percent", { actor: "alice", reason: "<!channel> & co", oldValue: { percent: 0 }, newValue: { percent: 5 } }), "percentage.set");
    expect(JSON.parse(bodyOf(payload, "slack"))).toEqual({
      text: ":arrows_counterclockwise: strangler-fig · *checkout*: alice set the rollout from 0% to 5%: &lt;!channel&gt; &amp; co",
      event: "percentage.set",
      id: "audit-42",
    });
  });

  it("signs the exact body with HMAC-SHA256, as GitHub does", () => {
    // RFC 4231's test case 2: key "Jefe", data "what do ya want for nothing?".
    expect(signatureOf("what do ya want for nothing?", "Jefe")).toBe("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("backs off from the base, doubling, jittered within the upper half, and capped", () => {
    const hook = { retryBackoffMs: 1_000, maxRetryBackoffMs: 10_000 };
    for (let i = 0; i < 200; i++) {
      const first = backoffMs(hook, 1);
      expect(first).toBeGreaterThanOrEqual(500);
      expect(first).toBeLessThanOrEqual(1_000);
      const third = backoffMs(hook, 3);
      expect(third).toBeGreaterThanOrEqual(2_000);
      expect(third).toBeLessThanOrEqual(4_000);
      expect(backoffMs(hook, 60)).toBeLessThanOrEqual(10_000);
    }
  });

  it("shows a URL's origin only: its path or query may be the secret", () => {
    expect(shownUrl("https://hooks.slack.com/services/T000/B000/XXXX")).toBe("https://hooks.slack.com/…");
    expect(shownUrl("http://127.0.0.1:8080/?token=abc")).toBe("http://127.0.0.1:8080/…");
    expect(shownUrl("http://receiver.internal")).toBe("http://receiver.internal");
  });

  it("has one event per kind of change the issue names", () => {
    expect(WEBHOOK_EVENTS).toEqual(expect.arrayContaining(["percentage.set", "promotion.step", "guard.tripped", "route.resumed", "route.retired", "recording.finished", "replay.finished", "divergence.new"]));
  });
});
