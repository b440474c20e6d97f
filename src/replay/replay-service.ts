import { env } from "node:process";
import type { Logger } from "pino";
import type { BackendConfig, RecordingSettings, ReplaySettings, RouteConfig, ShadowingLimits } from "../config/schema.ts";
import type { RedactionRules } from "../redaction/redactor.ts";
import type { NewAuditEntry } from "../store/rollout-repository.ts";
import type { RecordingRecord, RecordingStore, ReplayRunRecord } from "../store/recording-store.ts";
import { pacingError, Schedule, type Pacing } from "./pacing.ts";
import { mergedExchanges } from "./merged-exchanges.ts";
import { runReplay } from "./replay-runner.ts";
import { READ_METHODS } from "./replay-request.ts";
import { compilePathRewrite } from "../routing/path-rewrite.ts";

/** Why a replay cannot start: an HTTP status, a code and a sentence (the admin API answers them as they are). */
export class ReplayRefusal extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ReplayAsk {
  /** A backend's name from the config, or a URL (http or https). */
  readonly against: string;
  /** The target is a sandbox: writes are sent to it (never when it is a route's monolith). */
  readonly sandbox: boolean;
  readonly pacing: Pacing;
  /** Also ask the monolith for fresh answers to reads: what differs between its recorded and fresh answers is noise for this run. */
  readonly freshMonolith: boolean;
  readonly actor: string;
  readonly reason: string;
}

/** What a dry run says: how many requests, how long, how many writes, and how they authenticate. Nothing is sent. */
export interface ReplayPlan {
  readonly recordings: readonly number[];
  readonly routes: readonly string[];
  readonly target: string;
  readonly sandbox: boolean;
  readonly exchanges: number;
  readonly requests: number;
  readonly reads: number;
  readonly writes: { readonly sent: number; readonly skipped: number; readonly why: string | null };
  readonly truncated: number;
  readonly sessions: number;
  /** Seconds the run should take as paced (for `concurrency`, estimated from the recorded latencies). */
  readonly estimatedSeconds: number;
  readonly pacing: Pacing;
  /** How each route's requests authenticate. */
  readonly authentication: Readonly<Record<string, string>>;
  readonly freshMonolith: string | null;
}

export interface ReplayServiceOptions {
  readonly store: RecordingStore;
  readonly routes: () => readonly RouteConfig[];
  readonly backends: () => Readonly<Record<string, BackendConfig>>;
  readonly settings: () => ReplaySettings;
  readonly recording: () => RecordingSettings;
  readonly shadowing: () => ShadowingLimits;
  /** The rules the recording was redacted with (the candidate's answers are redacted the same way). */
  readonly redaction: () => RedactionRules;
  readonly noisePaths: (routeId: string, minOccurrences: number) => readonly string[];
  /** Whether a difference of `kind` at `path` (a signature path) is noise the live comparison learned on the route. */
  readonly isNoise: (routeId: string, path: string, kind: string, minOccurrences: number) => boolean;
  /** Whether the route's guard holds it (halted): fresh monolith reads pause then. */
  readonly halted: (routeId: string) => boolean;
  readonly appendAudit: (entry: Omit<NewAuditEntry, "at">) => Promise<void>;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Exchanges read at a time when planning (only their heads are looked at). */
const PLAN_PAGE = 1_000;

/**
 * Replay runs: checks what is asked (the target, writes only to a sandbox, the credential the route's
 * `replay.auth` names), plans a dry run, and carries runs out in the background, at most
 * `replay.maxConcurrentRuns` at once on a node, each ended in the store with its report and verdicts and
 * written on the route's timeline (the audit log).
 */
export class ReplayService {
  readonly #running = new Map<number, { sent: number; judged: number; total: number }>();
  readonly #finished = new Map<number, Promise<void>>();
  /** Stops every run of this node (the proxy is shutting down). */
  readonly #closing = new AbortController();
  readonly #now: () => number;

  constructor(private readonly options: ReplayServiceOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** Progress of a run carried out here, while it runs. */
  progress(runId: number): { sent: number; judged: number; total: number } | undefined {
    return this.#running.get(runId);
  }

  /** Resolves when a run started here has ended (tests and the CLI's `--wait` read the store after it). */
  async settled(runId: number): Promise<void> {
    await this.#finished.get(runId);
  }

  /** What a run of `recordings` (replayed together, merged by time) as asked would do; nothing is sent. */
  async plan(recordings: readonly RecordingRecord[], ask: ReplayAsk): Promise<ReplayPlan> {
    const { routes, target, auth, fresh } = this.#check(recordings, ask);
    const settings = this.options.settings();
    const schedule = new Schedule(ask.pacing, settings.maxGapMs);
    const counts = { exchanges: 0, reads: 0, writesSent: 0, writesSkipped: 0, truncated: 0 };
    const sessions = new Set<string>();
    let due = 0;
    let latencySum = 0;
    {
      for await (const e of mergedExchanges((id, after, limit) => this.options.store.exchanges(id, after, limit), recordings.map((r) => r.id), PLAN_PAGE)) {
        counts.exchanges++;
        if (e.requestTruncated || e.responseTruncated) {
          counts.truncated++;
          continue;
        }
        const write = !READ_METHODS.has(e.method);
        if (write && !target.sandbox) {
          counts.writesSkipped++;
          continue;
        }
        if (write) counts.writesSent++;
        else counts.reads++;
        if (e.session) sessions.add(e.session);
        due = schedule.next(e.at);
        latencySum += e.latencyMs;
      }
    }
    const requests = counts.reads + counts.writesSent;
    const estimated = ask.pacing.mode === "concurrency" ? latencySum / Math.min(ask.pacing.limit, settings.maxInFlight) : ask.pacing.mode === "rate" ? (requests * 1_000) / ask.pacing.perSecond : due;
    return {
      recordings: recordings.map((r) => r.id),
      routes: routes.map((r) => r.id),
      target: target.url,
      sandbox: target.sandbox,
      exchanges: counts.exchanges,
      requests,
      reads: counts.reads,
      writes: { sent: counts.writesSent, skipped: counts.writesSkipped, why: counts.writesSkipped > 0 ? "the target is not declared a sandbox (--sandbox): writes are never replayed elsewhere" : null },
      truncated: counts.truncated,
      sessions: sessions.size,
      estimatedSeconds: Math.round(estimated / 100) / 10,
      pacing: ask.pacing,
      authentication: Object.fromEntries(routes.map((r) => [r.id, (auth.get(r.id) as RouteAuth).describe])),
      freshMonolith: fresh ? `GET and HEAD also asked of the monolith (${[...new Set(routes.map((r) => fresh(r)))].join(", ")}), at most ${settings.freshMonolithPerSecond}/s, paused while the route's guard holds it` : null,
    };
  }

  /** Starts a run of `recordings` (replayed together, merged by time) in the background; its record (status `running`) at once. */
  async start(recordings: readonly RecordingRecord[], ask: ReplayAsk): Promise<ReplayRunRecord> {
    const { routes, target, auth, fresh } = this.#check(recordings, ask);
    const unset = [...auth.values()].find((a) => a.header && a.value === undefined);
    if (unset) throw new ReplayRefusal(409, "replay_auth_unset", unset.describe);
    const settings = this.options.settings();
    if (this.#closing.signal.aborted) throw new ReplayRefusal(409, "replay_busy", "the proxy is shutting down");
    if (this.#running.size >= settings.maxConcurrentRuns) {
      throw new ReplayRefusal(409, "replay_busy", `this node is carrying out ${this.#running.size} replay run(s) already (replay.maxConcurrentRuns ${settings.maxConcurrentRuns}): wait for it to end`);
    }
    const recordingIds = recordings.map((r) => r.id);
    const run = await this.options.store.addRun({ recordingIds, routeIds: routes.map((r) => r.id), target: target.url, sandbox: target.sandbox, startedAt: this.#now(), startedBy: ask.actor, reason: ask.reason });
    const progress = { sent: 0, judged: 0, total: recordings.reduce((n, r) => n + r.exchanges, 0) };
    this.#running.set(run.id, progress);
    const previous = await this.options.store.previousRun(recordingIds, target.url, run.id);
    const shadowing = this.options.shadowing();
    const routeOf = new Map(recordings.map((r) => [r.id, routes.find((route) => route.id === r.routeId) as RouteConfig]));
    const work = runReplay({
      runId: run.id,
      recordings: recordings.map((recording) => ({ recording, route: routeOf.get(recording.id) as RouteConfig })),
      exchanges: mergedExchanges((id, after, limit) => this.options.store.exchanges(id, after, limit), recordingIds),
      target,
      pacing: ask.pacing,
      settings,
      maxBodyBytes: this.options.recording().maxBodyBytes,
      maxDecodedBytes: shadowing.maxDecodedBytes,
      redaction: this.options.redaction(),
      auth: (route) => {
        const a = auth.get(route.id);
        return a?.header && a.value !== undefined ? { header: a.header, value: a.value } : undefined;
      },
      setAside: (route) => (route.shadow?.noise.learn ? this.options.noisePaths(route.id, route.shadow.noise.minOccurrences) : []),
      isNoise: (route, path, kind) => route.shadow?.noise.learn === true && this.options.isNoise(route.id, path, kind, route.shadow.noise.minOccurrences),
      fresh: fresh ? { url: fresh, paused: (route) => this.options.halted(route.id) } : undefined,
      previous: previous?.verdicts,
      progress: (p) => Object.assign(progress, p),
      signal: this.#closing.signal,
    })
      .then(async ({ report, verdicts }) => {
        await this.options.store.finishRun(run.id, { finishedAt: this.#now(), status: report.status, report, verdicts });
        // On each route's timeline: what was replayed, against what, and the verdict.
        for (const route of routes) {
          await this.options.appendAudit({
            actor: ask.actor,
            action: "replay_run",
            routeId: route.id,
            oldValue: { recordings: recordingIds, target: target.url },
            newValue: { run: run.id, status: report.status, verdict: report.verdict, passRate: report.passRate, passRateLowerBound: report.passRateLowerBound, judged: report.counts.compared + report.counts.authFailures + report.counts.timeouts + report.counts.errors },
            reason: ask.reason,
            source: "admin",
          });
        }
      })
      .catch(async (error: Error) => {
        this.options.logger.error({ err: error.message, run: run.id }, "replay run failed");
        await this.options.store.finishRun(run.id, { finishedAt: this.#now(), status: "aborted", report: { verdict: `the run failed: ${error.message}` }, verdicts: {} }).catch(() => undefined);
      })
      .finally(() => {
        this.#running.delete(run.id);
        this.#finished.delete(run.id);
      });
    this.#finished.set(run.id, work);
    return run;
  }

  /** Stops the runs in progress (each ends as aborted, in the store) and waits for them. */
  async close(): Promise<void> {
    this.#closing.abort();
    await Promise.all([...this.#finished.values()]);
  }

  /** What a replay of `recordings` as asked would use; a refusal naming what is wrong. */
  #check(recordings: readonly RecordingRecord[], ask: ReplayAsk) {
    if (recordings.length === 0) throw new ReplayRefusal(400, "invalid_input", "no recording to replay");
    const routes: RouteConfig[] = [];
    for (const recording of recordings) {
      if (recording.stoppedAt === null) throw new ReplayRefusal(409, "still_recording", `recording ${recording.id} is still recording: stop it first (npx strangler record stop ${recording.routeId}), so that every run replays the same exchanges`);
      const route = this.options.routes().find((r) => r.id === recording.routeId);
      if (!route) throw new ReplayRefusal(409, "unknown_route", `recording ${recording.id} is of route "${recording.routeId}", which routes.config.ts no longer has: its comparison rules are unknown`);
      if (!routes.includes(route)) routes.push(route);
    }
    const problem = pacingError(ask.pacing);
    if (problem) throw new ReplayRefusal(400, "invalid_input", problem);
    const backends = this.options.backends();
    const named = backends[ask.against];
    let url: string;
    if (named) url = named.url;
    else {
      let parsed: URL;
      try {
        parsed = new URL(ask.against);
      } catch {
        throw new ReplayRefusal(400, "invalid_input", `against: a backend's name (${Object.keys(backends).join(", ")}) or an http(s) URL, got ${JSON.stringify(ask.against.slice(0, 200))}`);
      }
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new ReplayRefusal(400, "invalid_input", `against: an http or https URL, got ${parsed.protocol}`);
      url = `${parsed.origin}${parsed.pathname}`;
    }
    url = url.replace(/\/+$/, "");
    if (ask.sandbox) {
      // Writes go only to a sandbox, and the monolith any route answers from is production by definition.
      const monoliths = new Set(this.options.routes().map((r) => r.legacy).concat("legacy"));
      const origin = new URL(url).origin;
      const production = [...monoliths].find((name) => backends[name] && new URL((backends[name] as BackendConfig).url).origin === origin);
      if (production) throw new ReplayRefusal(409, "not_a_sandbox", `${url} is the monolith (backend "${production}"): writes are never replayed against it; replay without --sandbox to send reads only`);
    }
    const auth = new Map(routes.map((route) => [route.id, routeAuth(route)]));
    const fresh = ask.freshMonolith ? (route: RouteConfig) => backends[route.legacy]?.url.replace(/\/+$/, "") : undefined;
    // Against a route's own target backend, its paths are the service's: the route's rewrite applies, as live.
    const rewrites = new Map(routes.map((route) => [route, route.target === ask.against ? compilePathRewrite(route.match.path, route.rewrite) : undefined]));
    const pathFor = named ? (route: RouteConfig) => rewrites.get(route) : undefined;
    return { routes, target: { url, sandbox: ask.sandbox, ...(pathFor ? { pathFor } : {}) }, auth, fresh };
  }
}

/** How a route's replayed requests authenticate, in words, and the header and value when there are any. */
interface RouteAuth {
  readonly header?: string;
  readonly value?: string;
  readonly describe: string;
}

function routeAuth(route: RouteConfig): RouteAuth {
  const auth = route.replay.auth;
  if (!auth) return { describe: "none: requests are sent as recorded, without the credentials a recording never holds (routes[].replay.auth names one)" };
  if ("env" in auth) {
    const value = env[auth.env];
    return value
      ? { header: auth.header, value, describe: `header ${auth.header} from the proxy's environment variable ${auth.env} (set)` }
      : { header: auth.header, describe: `header ${auth.header} from the environment variable ${auth.env}, which is not set in the proxy's environment` };
  }
  return { header: auth.header, value: auth.value, describe: `header ${auth.header} with the value routes.config.ts gives` };
}
