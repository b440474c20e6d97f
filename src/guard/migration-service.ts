import type { Logger } from "pino";
import type { RouteConfig } from "../config/schema.ts";
import type { RolloutService } from "../rollout/rollout-service.ts";
import type { MigrationRecord, MigrationState } from "../store/migration-repository.ts";
import type { MigrationStore } from "../store/migration-store.ts";
import type { Clock } from "./clock.ts";
import type { EvidenceSummary } from "./evidence-summary.ts";
import type { EvidenceWindow } from "../store/evidence-store.ts";
import type { EvidenceSource } from "./fleet-evidence.ts";
import { evaluateGuard, evaluatePromotion } from "./guard-policy.ts";
import type { GuardMetrics } from "./guard-metrics.ts";

/** The outcome of an operator's action on a route's migration. */
export type MigrationResult =
  | { readonly ok: true; readonly record: MigrationRecord }
  | { readonly ok: false; readonly code: RefusalCode; readonly message: string; readonly evidence?: unknown };

type RefusalCode = "no_promotion" | "conflict" | "route_halted" | "still_served" | "replay_required" | "no_approval_pending" | "approval_required";

/** What a confirming webhook is asked about a step that waits for its yes. */
export interface ConfirmRequest {
  readonly routeId: string;
  /** The step waited for (its index in `promote.steps`) and its percentage; the percentage now. */
  readonly step: number;
  readonly toPercent: number;
  readonly fromPercent: number;
  readonly awaitingSince: number;
}

/** When the monolith last answered a route, by template (from the migration map). */
export interface MonolithUse {
  readonly lastAt: number | null;
  readonly templates: ReadonlyArray<{ readonly method: string; readonly template: string; readonly lastMonolithAt: number | null }>;
}

/**
 * Each route's migration: its state (legacy → shadowing → canary → migrated → retired, or halted,
 * paused), the guards that roll it back by themselves, and the promotion that steps it up by evidence.
 * Percentages change only through the rollout service (the decision seam's source); state and steps
 * live in the store (SQLite or the fleet's PostgreSQL), so they survive restarts, and steps are taken
 * with compare-and-set, so two processes or nodes never both take one. Guards judge the fleet's evidence.
 */
/** How stale the retired routes may be on a node serving shadowed requests (a read of one column each time). */
const RETIRED_READ_EVERY_MS = 5_000;

/** A route's evidence from `fromMs` to now, as a tick reads it. */
type EvidenceRead = (routeId: string, fromMs: number) => Promise<EvidenceSummary>;

/** The windows' evidence read at once; a window not among them is read from the source alone. */
async function readAhead(source: EvidenceSource, windows: readonly EvidenceWindow[]): Promise<EvidenceRead> {
  const read = await source.summaries(windows);
  const ahead = new Map(windows.map((w, i) => [`${w.routeId}\u0000${w.fromMs}`, read[i] as EvidenceSummary]));
  return async (routeId, fromMs) => ahead.get(`${routeId}\u0000${fromMs}`) ?? source.summary(routeId, fromMs);
}

export interface MigrationService {
  /** Creates missing rows and lets every route's state follow its percentage. */
  sync(): Promise<void>;
  /** One evaluation of every guard and promotion, at the clock's now. */
  tick(): Promise<void>;
  /** The route's record as this process last read or wrote it (no round trip: for views). */
  get(routeId: string): MigrationRecord | undefined;
  /** The route's record read from the store now (another node may have changed it). */
  read(routeId: string): Promise<MigrationRecord | undefined>;
  startPromotion(routeId: string, actor: string, reason: string): Promise<MigrationResult>;
  pausePromotion(routeId: string, actor: string, reason: string): Promise<MigrationResult>;
  resumePromotion(routeId: string, actor: string, reason: string): Promise<MigrationResult>;
  stepPromotion(routeId: string, actor: string, reason: string): Promise<MigrationResult>;
  /** A person's yes to the step a promotion waits for (an approval gate): taken at the next evaluation, if the evidence still passes. */
  approvePromotion(routeId: string, actor: string, reason: string): Promise<MigrationResult>;
  /** Lifts `halted` or `paused`: the state follows the percentage again; a paused promotion stays paused. */
  resume(routeId: string, actor: string, reason: string): Promise<MigrationResult>;
  retire(routeId: string, actor: string, reason: string): Promise<MigrationResult>;
  /**
   * Undefined when a person may raise the route's percentage now; a refusal when a guard halted it: the
   * way out is `resume`, which puts the route back under its guard's judgement first. Read from the
   * store, so a halt made by another node counts at once. Also a refusal when the route, still at 0%,
   * must pass a replay run first (`replay.requiredToLeaveLegacy`) and has none.
   */
  raiseRefusal(routeId: string): Promise<MigrationResult | undefined>;
  /** A person set the percentage: a running promotion pauses rather than overriding them. */
  percentSetByHand(routeId: string, actor: string): Promise<void>;
  isRetired(routeId: string): boolean;
  /**
   * Evaluates every `intervalMs` while `isJudge()` (the fleet's one judge; always, by default).
   * `judgeNow()` evaluates at once (this node just became the judge).
   */
  schedule(intervalMs: () => number, isJudge?: () => boolean): { stop(): void; judgeNow(): void };
}

export interface MigrationServiceOptions {
  readonly routes: () => readonly RouteConfig[];
  readonly rollouts: RolloutService;
  readonly store: MigrationStore;
  /** The evidence guards and promotion judge: the sum over the fleet's nodes. */
  readonly evidence: EvidenceSource;
  readonly clock: Clock;
  readonly metrics: GuardMetrics;
  readonly logger: Logger;
  /** The migration map's proof of death: when the monolith last answered the route. Absent, retire does not ask. */
  readonly monolithUse?: (routeId: string) => Promise<MonolithUse>;
  /** How long the monolith must have been silent on a route before it may be retired (`map.retireQuietPeriodMs`; 0: no check). */
  readonly retireQuietPeriodMs?: () => number;
  /** Whether the route has a passing replay run (src/replay/): what `replay.requiredToLeaveLegacy` asks before its first percent. Absent: never asked. */
  readonly passedReplay?: (routeId: string) => Promise<boolean>;
  /** Asks a confirming webhook (`promote.approval.confirmWebhook`) whether a waiting step may go on: true on a 2xx. Absent: none is asked. */
  readonly confirm?: (webhook: string, request: ConfirmRequest) => Promise<boolean>;
}

/** The approval gate before step `index` of a promotion, if it has one. */
function gateBefore(promote: NonNullable<RouteConfig["promote"]>, index: number) {
  const approval = promote.approval;
  return approval && approval.steps.includes(promote.steps[index] as number) ? approval : undefined;
}

const HELD: ReadonlySet<MigrationState> = new Set(["halted", "paused", "retired"]);

/** The state a percentage means, for a route not held by a guard or a person. */
export function stateFor(percent: number, shadowed: boolean): MigrationState {
  if (percent <= 0) return shadowed ? "shadowing" : "legacy";
  return percent >= 100 ? "migrated" : "canary";
}

function evidenceSnapshot(e: EvidenceSummary) {
  return { target: e.target, legacy: e.legacy, shadow: e.shadow, fallbacks: e.fallbacks, windowMs: e.toMs - e.fromMs };
}

export function createMigrationService(options: MigrationServiceOptions): MigrationService {
  const { store: repository, rollouts, evidence: source, clock, logger, metrics } = options;
  // The last record read or written of each route: what get() answers without a round trip.
  const known = new Map<string, MigrationRecord>();
  const remember = (record: MigrationRecord | undefined) => {
    if (record) known.set(record.routeId, record);
    return record;
  };
  const routeOf = (id: string) => options.routes().find((r) => r.id === id);
  const percentOf = (id: string) => rollouts.state.get(id)?.percent ?? 0;
  let retired = new Set<string>();
  let retiredReadAt = -Infinity;
  const fail = (code: RefusalCode, message: string): MigrationResult => ({ ok: false, code, message });
  /** Routes whose confirming webhook is being asked now: one question at a time each, never inside an evaluation. */
  const asking = new Set<string>();
  /** Evaluates now, on the node that judges on a timer (schedule); elsewhere the judge's next tick does. */
  let evaluateSoon = (): void => undefined;
  const haltedRefusal = async (routeId: string): Promise<MigrationResult | undefined> =>
    remember(await repository.get(routeId))?.state === "halted"
      ? fail("route_halted", `route "${routeId}" was halted by its guard: resume it first (POST /api/routes/${routeId}/resume or npx strangler resume ${routeId}), then raise its percentage`)
      : undefined;
  /** A route still at 0% that must pass a replay run first, and has none: the refusal that says so. */
  const replayRefusal = async (routeId: string): Promise<MigrationResult | undefined> => {
    const route = routeOf(routeId);
    if (!route?.replay.requiredToLeaveLegacy || !options.passedReplay || percentOf(routeId) > 0) return undefined;
    if (await options.passedReplay(routeId)) return undefined;
    return fail(
      "replay_required",
      `route "${routeId}" may leave legacy only after a passing replay run (routes[].replay.requiredToLeaveLegacy): record it (npx strangler record ${routeId}), then replay the recording against the service (npx strangler replay <recording> --against <url>)`,
    );
  };
  const raiseRefusal = async (routeId: string): Promise<MigrationResult | undefined> => (await haltedRefusal(routeId)) ?? (await replayRefusal(routeId));
  let reading: Promise<void> | undefined;
  const readRetired = (): Promise<void> => {
    retiredReadAt = Date.now();
    reading ??= repository
      .retired()
      .then((ids) => {
        retired = new Set(ids);
      })
      .catch((error: Error) => logger.error({ err: error.message }, "could not read the retired routes"))
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  const done = (record: MigrationRecord | undefined): MigrationResult => (record ? { ok: true, record } : fail("conflict", "changed meanwhile by another process; try again"));

  /** Moves a route's state to follow its percentage; `stored` is its row when the caller has just read it. */
  async function follow(route: RouteConfig, actor: string, reason: string, stored?: MigrationRecord): Promise<void> {
    const record = remember(stored ?? (await repository.ensure(route.id, stateFor(percentOf(route.id), route.shadow !== undefined), "routes.config.ts"))) as MigrationRecord;
    metrics.state(route.id, record.state);
    if (HELD.has(record.state)) return;
    const next = stateFor(percentOf(route.id), route.shadow !== undefined);
    if (next === record.state) return;
    const changed = remember(await repository.change(
      route.id,
      { state: next, actor, reason },
      { actor, action: "state_change", routeId: route.id, oldValue: { state: record.state }, newValue: { state: next, percent: percentOf(route.id) }, reason, source: "admin" },
      // Every node follows the same change: the first one moves the state, the others find it moved.
      { state: record.state },
    ));
    if (changed) metrics.state(route.id, changed.state);
  }

  async function guardRoute(route: RouteConfig, record: MigrationRecord, now: number, read: EvidenceRead): Promise<unknown> {
    const guard = route.guard;
    // A halted route is judged too whenever it is above 0 (a config edit raised it): nothing runs unguarded.
    if (!guard || percentOf(route.id) <= 0) return undefined;
    const evidence = await read(route.id, now - guard.windowMs);
    const verdict = evaluateGuard(guard, evidence);
    if (verdict.verdict !== "trip") return verdict;
    const steps = route.promote?.steps;
    const back = guard.onTrip === "previous_step" && steps && record.stepIndex !== null && record.stepIndex > 0 ? (steps[record.stepIndex - 1] as number) : 0;
    // A sentence with its actor ("guard") in front: "guard rolled back to 5% and halted the route: error rate …".
    const reason = `rolled back to ${back}% and halted the route: ${verdict.reasons.join("; ")}`;
    // Halt first, then move the percentage: a state that follows percentages must already see "halted".
    const halted = await repository.change(
      route.id,
      {
        state: "halted",
        actor: "guard",
        reason,
        promotion: record.promotion === "running" ? "paused" : record.promotion,
        // A yes given (or awaited) before the harm does not carry over: after a resume, the gate asks again.
        awaitingSince: null,
        approvedStep: null,
        ...(back > 0 && record.stepIndex !== null ? { stepIndex: record.stepIndex - 1 } : {}),
      },
      { actor: "guard", action: "halted", routeId: route.id, oldValue: { state: record.state, percent: percentOf(route.id) }, newValue: { state: "halted", percent: back, evidence: evidenceSnapshot(evidence) }, reason, source: "guard" },
    );
    remember(halted);
    await rollouts.setPercent(route.id, back, "guard", reason, "guard_rollback");
    metrics.trip(route.id);
    metrics.state(route.id, "halted");
    logger.warn({ route: route.id, reasons: verdict.reasons, percent: back, evidence: evidenceSnapshot(evidence) }, "guard tripped: route rolled back and halted");
    return verdict;
  }

  async function promoteRoute(route: RouteConfig, record: MigrationRecord, now: number, read: EvidenceRead): Promise<unknown> {
    const promote = route.promote;
    if (!promote || record.promotion !== "running" || HELD.has(record.state)) return undefined;
    const index = record.stepIndex ?? 0;
    const started = record.stepStartedAt ?? now;
    const stepPercent = promote.steps[index] as number;
    // A process that died between taking a step and setting its percentage: finish the job.
    if (percentOf(route.id) !== stepPercent) await rollouts.setPercent(route.id, stepPercent, "promotion", `promotion step ${index + 1} of ${promote.steps.length}`, "promote");
    if (now - started < promote.intervalMs) return { verdict: "waiting", untilMs: started + promote.intervalMs };
    const expired = await expireApproval(route, record, now);
    if (expired !== undefined) return expired;
    const evidence = await read(route.id, started);
    const verdict = evaluatePromotion(promote, evidence);
    if (verdict.verdict !== "advance") return verdict;
    const last = index >= promote.steps.length - 1;
    const next = last ? index : index + 1;
    const nextPercent = promote.steps[next] as number;
    const gate = last ? undefined : gateBefore(promote, next);
    if (gate && record.approvedStep !== next) return awaitApproval(route, record, gate, next, evidence, now);
    const reason = last
      ? `promotion complete: ${evidence.shadow.compared} comparisons at 100%`
      : `evidence passed at ${stepPercent}% (${evidence.shadow.diverged}/${evidence.shadow.compared} diverged, ${evidence.target.errors}/${evidence.target.requests} target errors)`;
    const won = remember(await repository.change(
      route.id,
      { actor: "promotion", reason, stepIndex: next, stepStartedAt: now, awaitingSince: null, ...(last ? { promotion: "done" as const } : {}) },
      { actor: "promotion", action: last ? "promotion_done" : "promote_step", routeId: route.id, oldValue: { percent: stepPercent, step: index }, newValue: { percent: nextPercent, step: next, evidence: evidenceSnapshot(evidence) }, reason, source: "promotion" },
      { stepIndex: record.stepIndex, stepStartedAt: record.stepStartedAt },
    ));
    if (!won) return { verdict: "taken_by_another_process" };
    if (!last) {
      await rollouts.setPercent(route.id, nextPercent, "promotion", reason, "promote");
      metrics.step(route.id);
      logger.info({ route: route.id, from: stepPercent, to: nextPercent }, "promotion step taken");
    }
    return verdict;
  }

  /**
   * A step behind an approval gate, its evidence passed: the promotion starts waiting (told in the audit
   * trail, so webhooks hear of it) and asks its confirming webhook in the background (expireApproval
   * ends a wait that lasted too long). The step itself is taken by promoteRoute once a yes is stored.
   */
  async function awaitApproval(
    route: RouteConfig,
    record: MigrationRecord,
    gate: NonNullable<NonNullable<RouteConfig["promote"]>["approval"]>,
    next: number,
    evidence: EvidenceSummary,
    now: number,
  ): Promise<unknown> {
    const promote = route.promote as NonNullable<RouteConfig["promote"]>;
    const index = record.stepIndex ?? 0;
    const from = promote.steps[index] as number;
    const to = promote.steps[next] as number;
    if (record.awaitingSince === null) {
      const reason = `evidence passed at ${from}% (${evidence.shadow.diverged}/${evidence.shadow.compared} diverged, ${evidence.target.errors}/${evidence.target.requests} target errors); the step to ${to}% waits for a yes (${gate.approvers}${gate.confirmWebhook ? ` or webhook ${gate.confirmWebhook}` : ""})`;
      const waiting = remember(
        await repository.change(
          route.id,
          { actor: "promotion", reason, awaitingSince: now },
          {
            actor: "promotion",
            action: "promotion_awaiting_approval",
            routeId: route.id,
            oldValue: { percent: from, step: index },
            newValue: { percent: to, step: next, approvers: gate.approvers, confirmWebhook: gate.confirmWebhook ?? null, expiresAt: new Date(now + gate.timeoutMs).toISOString(), evidence: evidenceSnapshot(evidence) },
            reason,
            source: "promotion",
          },
          { stepIndex: record.stepIndex, stepStartedAt: record.stepStartedAt, awaitingSince: null },
        ),
      );
      if (!waiting) return { verdict: "taken_by_another_process" };
      logger.info({ route: route.id, from, to }, "promotion waits for approval");
      askConfirmation(route.id, gate.confirmWebhook, { routeId: route.id, step: next, toPercent: to, fromPercent: from, awaitingSince: now });
      return { verdict: "awaiting_approval", step: next, percent: to, since: new Date(now).toISOString() };
    }
    askConfirmation(route.id, gate.confirmWebhook, { routeId: route.id, step: next, toPercent: to, fromPercent: from, awaitingSince: record.awaitingSince });
    return { verdict: "awaiting_approval", step: next, percent: to, since: new Date(record.awaitingSince).toISOString(), expiresAt: new Date(record.awaitingSince + gate.timeoutMs).toISOString() };
  }

  /**
   * A wait past its gate's `timeoutMs`: the promotion pauses where it is. Checked before the evidence, so
   * a wait expires on time whether or not the evidence passes meanwhile; undefined when it has not expired.
   */
  async function expireApproval(route: RouteConfig, record: MigrationRecord, now: number): Promise<unknown> {
    const promote = route.promote as NonNullable<RouteConfig["promote"]>;
    const index = record.stepIndex ?? 0;
    const gate = gateBefore(promote, index + 1);
    if (record.awaitingSince === null || !gate || now - record.awaitingSince < gate.timeoutMs) return undefined;
    const from = promote.steps[index] as number;
    const to = promote.steps[index + 1] as number;
    const reason = `no yes to the step to ${to}% within ${Math.round(gate.timeoutMs / 60_000)} min: the promotion is paused at ${from}%`;
    const paused = remember(
      await repository.change(
        route.id,
        { actor: "promotion", reason, promotion: "paused", state: "paused", awaitingSince: null },
        { actor: "promotion", action: "promotion_approval_expired", routeId: route.id, oldValue: { percent: from, step: index, awaitingSince: new Date(record.awaitingSince).toISOString() }, newValue: { percent: from, state: "paused" }, reason, source: "promotion" },
        { stepIndex: record.stepIndex, awaitingSince: record.awaitingSince },
      ),
    );
    if (paused) metrics.state(route.id, "paused");
    return { verdict: "approval_expired", step: index + 1 };
  }

  /** Asks the gate's webhook, off the evaluation: a 2xx stores the yes (if the route still waits for that step). */
  function askConfirmation(routeId: string, webhook: string | undefined, request: ConfirmRequest): void {
    if (webhook === undefined || !options.confirm || asking.has(routeId)) return;
    asking.add(routeId);
    void options
      .confirm(webhook, request)
      .then((yes) => (yes ? approve(routeId, `webhook:${webhook}`, `webhook ${webhook} confirmed the step to ${request.toPercent}%`, request.awaitingSince) : undefined))
      .catch((error: Error) => logger.warn({ route: routeId, webhook, err: error.message }, "could not ask the confirming webhook"))
      .finally(() => asking.delete(routeId));
  }

  /** Stores a yes to the step the route waits for; a refusal when it waits for none (or another wait, when `since` is named). */
  async function approve(routeId: string, actor: string, reason: string, since?: number): Promise<MigrationResult> {
    const route = routeOf(routeId);
    const record = remember(await repository.get(routeId));
    if (!route?.promote || !record || record.awaitingSince === null || (since !== undefined && record.awaitingSince !== since)) {
      return fail("no_approval_pending", `route "${routeId}" has no promotion step waiting for approval`);
    }
    const step = (record.stepIndex ?? 0) + 1;
    const percent = route.promote.steps[step] as number;
    const result = done(
      remember(
        await repository.change(
          routeId,
          { actor, reason, approvedStep: step },
          { actor, action: "promotion_approved", routeId, oldValue: { percent: percentOf(routeId), step: record.stepIndex }, newValue: { percent, step }, reason, source: actor.startsWith("webhook:") ? "webhook" : "admin" },
          { stepIndex: record.stepIndex, awaitingSince: record.awaitingSince },
        ),
      ),
    );
    // The yes is acted on at once where this node judges, not a whole interval later.
    if (result.ok) evaluateSoon();
    return result;
  }

  /**
   * The evidence windows a tick will read: each guarded route's (above 0%), and each running promotion's
   * whose interval has passed. A window asked for that is not here (a trip paused a promotion) is read alone.
   */
  function evidenceWindows(routes: readonly RouteConfig[], stored: ReadonlyMap<string, MigrationRecord>, now: number): EvidenceWindow[] {
    const windows: EvidenceWindow[] = [];
    for (const route of routes) {
      if (route.guard && percentOf(route.id) > 0) windows.push({ routeId: route.id, fromMs: now - route.guard.windowMs });
      const record = stored.get(route.id);
      if (route.promote && record?.promotion === "running" && !HELD.has(record.state) && record.stepStartedAt !== null && now - record.stepStartedAt >= route.promote.intervalMs) {
        windows.push({ routeId: route.id, fromMs: record.stepStartedAt });
      }
    }
    return windows;
  }

  /**
   * Why a route's state follows its percentage: the percentage and the reason of its last change. The
   * node that took the change and every node that hears of it write the same sentence, so whichever
   * moves the state first, the audit reads the same.
   */
  const followReason = (routeId: string) => {
    const last = rollouts.state.record(routeId);
    return `percentage ${percentOf(routeId)}%${last ? `: ${last.reason}` : ""}`;
  };

  const service: MigrationService = {
    async sync() {
      // One read for every route (the retired ones among them), and a write only where a state must
      // follow: sync runs on every node at every change of the rollout state, and a fleet's database
      // should not see a query per route per node per change (issue 32).
      const stored = await repository.all();
      retired = new Set(stored.filter((r) => r.state === "retired").map((r) => r.routeId));
      retiredReadAt = Date.now();
      const byRoute = new Map(stored.map((r) => [r.routeId, r]));
      for (const route of options.routes()) {
        await follow(route, rollouts.state.record(route.id)?.changedBy ?? "routes.config.ts", followReason(route.id), byRoute.get(route.id));
      }
    },
    async tick() {
      const now = clock.now();
      // One read for every route, and a write only for a route seen for the first time: the tick runs
      // every few seconds on the judge, and a fleet's database should not see three queries per route
      // per tick when nothing is guarded.
      const stored = new Map((await repository.all()).map((r) => [r.routeId, r]));
      // Every route's evidence in one read of the store, after this node's deltas are written and the
      // fleet's folded: the windows each route's guard and promotion will ask for.
      await source.settle();
      const read = await readAhead(source, evidenceWindows(options.routes(), stored, now));
      const verdicts: Array<{ routeId: string; verdict: unknown }> = [];
      for (const route of options.routes()) {
        const record = remember(stored.get(route.id) ?? (await repository.ensure(route.id, stateFor(percentOf(route.id), route.shadow !== undefined), "routes.config.ts"))) as MigrationRecord;
        const guard = await guardRoute(route, record, now, read);
        // What the guard left (a trip halts the route and pauses its promotion): it remembers what it wrote.
        const fresh = known.get(route.id) ?? record;
        const promotion = await promoteRoute(route, fresh, now, read);
        if (guard !== undefined || promotion !== undefined) verdicts.push({ routeId: route.id, verdict: { at: new Date(now).toISOString(), guard: guard ?? null, promotion: promotion ?? null } });
      }
      // Every route's verdict in one write: a tick over 500 guarded routes is one transaction, not 500.
      await repository.setVerdicts(verdicts);
    },
    get: (routeId) => known.get(routeId),
    read: async (routeId) => remember(await repository.get(routeId)),
    async startPromotion(routeId, actor, reason) {
      const halted = await raiseRefusal(routeId);
      if (halted) return halted;
      const route = routeOf(routeId);
      if (!route?.promote) return fail("no_promotion", `route "${routeId}" has no promote section in routes.config.ts`);
      const record = remember(await repository.ensure(routeId, stateFor(percentOf(routeId), route.shadow !== undefined), actor)) as MigrationRecord;
      const first = route.promote.steps[0] as number;
      const state = stateFor(first, route.shadow !== undefined);
      const result = remember(
        await repository.change(
          routeId,
          { promotion: "running", stepIndex: 0, stepStartedAt: clock.now(), state, actor, reason, awaitingSince: null, approvedStep: null },
          { actor, action: "promotion_start", routeId, oldValue: { percent: percentOf(routeId), state: record.state }, newValue: { percent: first, steps: route.promote.steps }, reason, source: "admin" },
        ),
      );
      await rollouts.setPercent(routeId, first, actor, reason, "promote");
      return done(result);
    },
    async pausePromotion(routeId, actor, reason) {
      const record = remember(await repository.get(routeId));
      if (!record || record.promotion !== "running") return fail("no_promotion", `route "${routeId}" has no running promotion`);
      return done(
        remember(
          await repository.change(routeId, { promotion: "paused", state: "paused", actor, reason, awaitingSince: null }, { actor, action: "promotion_pause", routeId, oldValue: { state: record.state }, newValue: { state: "paused" }, reason, source: "admin" }),
        ),
      );
    },
    async resumePromotion(routeId, actor, reason) {
      const halted = await haltedRefusal(routeId);
      if (halted) return halted;
      const route = routeOf(routeId);
      const record = remember(await repository.get(routeId));
      if (!route?.promote || !record || record.promotion !== "paused") return fail("no_promotion", `route "${routeId}" has no paused promotion`);
      const step = route.promote.steps[record.stepIndex ?? 0] as number;
      const result = remember(
        await repository.change(
          routeId,
          { promotion: "running", state: stateFor(step, route.shadow !== undefined), stepStartedAt: clock.now(), actor, reason, awaitingSince: null },
          { actor, action: "promotion_resume", routeId, oldValue: { state: record.state }, newValue: { percent: step }, reason, source: "admin" },
        ),
      );
      await rollouts.setPercent(routeId, step, actor, reason, "promote");
      return done(result);
    },
    async stepPromotion(routeId, actor, reason) {
      const halted = await haltedRefusal(routeId);
      if (halted) return halted;
      const route = routeOf(routeId);
      const record = remember(await repository.get(routeId));
      if (!route?.promote || !record || record.promotion === "off" || record.promotion === "done") return fail("no_promotion", `route "${routeId}" has no promotion to step`);
      const next = Math.min((record.stepIndex ?? 0) + 1, route.promote.steps.length - 1);
      const percent = route.promote.steps[next] as number;
      // A step by hand goes past the evidence, never past a gate: the yes comes first.
      if (next !== record.stepIndex && gateBefore(route.promote, next) && record.approvedStep !== next) {
        return fail("approval_required", `the step to ${percent}% of route "${routeId}" needs a yes first: approve it (POST /api/routes/${routeId}/promotion/approve or npx strangler promote approve ${routeId})`);
      }
      const result = remember(
        await repository.change(
          routeId,
          { stepIndex: next, stepStartedAt: clock.now(), actor, reason, awaitingSince: null },
          { actor, action: "promote_step", routeId, oldValue: { step: record.stepIndex }, newValue: { step: next, percent }, reason, source: "admin" },
          { stepIndex: record.stepIndex, stepStartedAt: record.stepStartedAt },
        ),
      );
      if (result) await rollouts.setPercent(routeId, percent, actor, reason, "promote");
      return done(result);
    },
    approvePromotion: (routeId, actor, reason) => approve(routeId, actor, reason),
    async resume(routeId, actor, reason) {
      retiredReadAt = -Infinity;
      const route = routeOf(routeId);
      const record = remember(await repository.get(routeId));
      if (!route || !record) return fail("conflict", `no migration state for route "${routeId}"`);
      const state = stateFor(percentOf(routeId), route.shadow !== undefined);
      return done(
        remember(await repository.change(routeId, { state, actor, reason }, { actor, action: "resume", routeId, oldValue: { state: record.state }, newValue: { state }, reason, source: "admin" })),
      );
    },
    async retire(routeId, actor, reason) {
      retiredReadAt = -Infinity;
      const record = remember(await repository.get(routeId));
      if (!record || percentOf(routeId) < 100) return fail("conflict", `route "${routeId}" can only be retired at 100%`);
      const quietMs = options.retireQuietPeriodMs?.() ?? 0;
      if (quietMs > 0 && options.monolithUse) {
        const use = await options.monolithUse(routeId);
        const now = clock.now();
        if (use.lastAt !== null && now - use.lastAt < quietMs) {
          const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 10) / 10} h`;
          return {
            ok: false,
            code: "still_served",
            message: `the monolith answered route "${routeId}" ${hours(now - use.lastAt)} ago (${new Date(use.lastAt).toISOString()}); it may be retired after ${hours(quietMs)} of silence (map.retireQuietPeriodMs), at ${new Date(use.lastAt + quietMs).toISOString()}`,
            evidence: {
              lastMonolithAt: new Date(use.lastAt).toISOString(),
              quietPeriodMs: quietMs,
              retirableAt: new Date(use.lastAt + quietMs).toISOString(),
              templates: use.templates.filter((t) => t.lastMonolithAt !== null).map((t) => ({ ...t, lastMonolithAt: new Date(t.lastMonolithAt as number).toISOString() })),
            },
          };
        }
      }
      const result = remember(
        await repository.change(routeId, { state: "retired", promotion: record.promotion === "running" ? "done" : record.promotion, actor, reason }, { actor, action: "retire", routeId, oldValue: { state: record.state }, newValue: { state: "retired" }, reason, source: "admin" }),
      );
      await readRetired();
      return done(result);
    },
    raiseRefusal,
    async percentSetByHand(routeId, actor) {
      const record = remember(await repository.get(routeId));
      if (record?.promotion === "running") {
        remember(
          await repository.change(routeId, { promotion: "paused", actor, reason: "percentage set by hand", awaitingSince: null }, { actor, action: "promotion_pause", routeId, oldValue: { promotion: "running" }, newValue: { promotion: "paused" }, reason: "percentage set by hand", source: "admin" }),
        );
      }
      const route = routeOf(routeId);
      if (route) await follow(route, actor, followReason(routeId));
    },
    isRetired(routeId) {
      // Asked for every shadowed request: answered from memory, read again in the background at most
      // every RETIRED_READ_EVERY_MS; a retirement made through another process or node is also read with
      // the state (sync) as soon as the node hears of the change.
      if (Date.now() - retiredReadAt > RETIRED_READ_EVERY_MS) void readRetired();
      return retired.has(routeId);
    },
    schedule(intervalMs, isJudge = () => true) {
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      let running: Promise<void> | undefined;
      const evaluate = async () => {
        if (!isJudge()) return;
        try {
          await service.tick();
        } catch (error) {
          logger.error({ err: (error as Error).message }, "guard evaluation failed");
        }
      };
      // One evaluation at a time: an early one (judgeNow) and the timer's never overlap.
      const once = () => (running ??= evaluate().finally(() => (running = undefined)));
      const loop = async () => {
        await once();
        if (stopped) return;
        timer = setTimeout(() => void loop(), intervalMs());
        timer.unref();
      };
      timer = setTimeout(() => void loop(), intervalMs());
      timer.unref();
      evaluateSoon = () => {
        if (!stopped) void once();
      };
      return {
        stop() {
          stopped = true;
          clearTimeout(timer);
        },
        judgeNow() {
          if (!stopped) void once();
        },
      };
    },
  };
  return service;
}
