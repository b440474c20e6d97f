import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { ReplaySettings, RouteConfig } from "../config/schema.ts";
import { signaturePath } from "../json/json-path.ts";
import { redactorFor, type RedactionRules } from "../redaction/redactor.ts";
import type { RecordedExchange, RecordingRecord } from "../store/recording-store.ts";
import { SessionIds } from "./id-correlation.ts";
import { RateWindows, Schedule, type Pacing } from "./pacing.ts";
import { compareAnswers, recordedSide, sendReplay, type ReplayAnswer } from "./replay-compare.ts";
import { ReportBuilder, type ExchangeExample, type ExchangeVerdict, type ReplayReport } from "./replay-report.ts";
import { READ_METHODS, replayRequest, type ReplayAuth } from "./replay-request.ts";
import type { PathRewrite } from "../routing/path-rewrite.ts";

export interface ReplayRunInput {
  readonly runId: number;
  /** The recordings replayed together, and the route each was recorded on (its rules compare its exchanges). */
  readonly recordings: ReadonlyArray<{ readonly recording: RecordingRecord; readonly route: RouteConfig }>;
  /** Their exchanges in the order they happened (mergedExchanges). */
  readonly exchanges: AsyncIterable<RecordedExchange>;
  /**
   * The candidate (its URL), whether writes may be sent to it, and, when it is a route's own target
   * backend, that route's rewrite of the paths it is sent (undefined: the recorded paths as they are).
   */
  readonly target: { readonly url: string; readonly sandbox: boolean; readonly pathFor?: (route: RouteConfig) => PathRewrite | undefined };
  readonly pacing: Pacing;
  readonly settings: ReplaySettings;
  /** `recording.maxBodyBytes`: the candidate's body is redacted and cut as a recorded one was. */
  readonly maxBodyBytes: number;
  readonly maxDecodedBytes: number;
  readonly redaction: RedactionRules;
  /** How a route's requests authenticate (its `replay.auth`, resolved). */
  readonly auth: (route: RouteConfig) => ReplayAuth | undefined;
  /** The paths where the live comparison learned noise on a route (set aside while pairing array elements). */
  readonly setAside: (route: RouteConfig) => readonly string[];
  /** Whether a difference (its signature path and kind) is noise the live comparison learned on the route: not a divergence (never a status or an error). */
  readonly isNoise: (route: RouteConfig, path: string, kind: string) => boolean;
  /** Reads also asked of the monolith now: what differs between its recorded and fresh answers is noise for this run. */
  readonly fresh?: { readonly url: (route: RouteConfig) => string | undefined; readonly paused: (route: RouteConfig) => boolean } | undefined;
  /** The previous run's verdicts against the same target (flaky exchanges are found against them). */
  readonly previous: Readonly<Record<string, ExchangeVerdict>> | undefined;
  /** What the run has done so far, for the API while it runs. */
  readonly progress?: (progress: { readonly sent: number; readonly judged: number }) => void;
  /** Aborted: the run stops sending and ends as aborted (the proxy is shutting down). */
  readonly signal?: AbortSignal;
}

const isSuccess = (status: number) => status >= 200 && status < 300;
const isAuthRefusal = (status: number) => status === 401 || status === 403;

/**
 * One replay run: the recording's exchanges sent to the candidate as paced, a session's in order (each
 * waits for the one before it), at most `replay.maxInFlight` at once; each answer compared with the
 * recorded one by the route's rules; the report built when the last answer is in. A run whose first
 * answers are mostly 401/403 where the monolith said 2xx stops as "authentication misconfigured".
 */
export async function runReplay(input: ReplayRunInput): Promise<{ report: ReplayReport; verdicts: Record<string, ExchangeVerdict> }> {
  const { settings } = input;
  const routes = new Map(input.recordings.map((r) => [r.recording.id, r.route]));
  const setAside = new Map([...new Set(routes.values())].map((route) => [route.id, input.setAside(route)]));
  const builder = new ReportBuilder();
  const schedule = new Schedule(input.pacing, settings.maxGapMs);
  const windows = new RateWindows();
  const inFlightLimit = schedule.inFlightLimit(settings.maxInFlight);
  const sessions = new Map<string, { tail: Promise<void>; readonly ids: SessionIds }>();
  const abort = new AbortController();
  let aborted: string | undefined;
  const stopNow = () => {
    aborted ??= "the proxy shut down during the run";
    abort.abort();
  };
  if (input.signal?.aborted) stopNow();
  else input.signal?.addEventListener("abort", stopNow, { once: true });
  const probe: { seen: number; refused: number; route?: RouteConfig } = { seen: 0, refused: 0 };
  let inFlight = 0;
  let judged = 0;
  let room: (() => void) | undefined;
  let lastFreshAt = -Infinity;
  const tasks = new Set<Promise<void>>();
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const redactText = (text: string) => redactorFor(input.redaction).text(text);
  const send = { timeoutMs: settings.timeoutMs, maxBytes: Math.min(settings.maxResponseBytes, input.maxBodyBytes), redaction: input.redaction, signal: abort.signal };

  const checkAuth = (exchange: RecordedExchange, route: RouteConfig, answer: ReplayAnswer) => {
    if (!isSuccess(exchange.status) || !answer.side.ok || probe.seen >= settings.authProbeExchanges) return;
    probe.seen++;
    probe.route ??= route;
    if (isAuthRefusal(answer.side.response.status)) probe.refused++;
    if (probe.refused * 2 > settings.authProbeExchanges || (probe.seen === settings.authProbeExchanges && probe.refused * 2 > probe.seen)) stopForAuth(route);
  };
  const stopForAuth = (route: RouteConfig | undefined) => {
    if (aborted) return;
    const auth = route ? input.auth(route) : undefined;
    const how = auth ? `with the route's replay.auth header "${auth.header}"` : "with no credential (the recording holds none; set routes[].replay.auth)";
    aborted = `authentication misconfigured: ${probe.refused} of the first ${probe.seen} requests the monolith had answered 2xx came back 401/403 from the candidate, sent ${how}`;
    abort.abort();
  };

  const replayOne = async (exchange: RecordedExchange, route: RouteConfig, ids: SessionIds): Promise<void> => {
    const auth = input.auth(route);
    const request = replayRequest(input.target.url, exchange, input.runId, ids, auth, input.target.pathFor?.(route));
    const write = !READ_METHODS.has(exchange.method);
    const freshUrl = input.fresh?.url(route);
    const askFresh = freshUrl !== undefined && (exchange.method === "GET" || exchange.method === "HEAD") && !input.fresh?.paused(route) && elapsed() - lastFreshAt >= 1_000 / settings.freshMonolithPerSecond;
    if (askFresh) lastFreshAt = elapsed();
    windows.sent(elapsed());
    builder.sent++;
    const sendTo = { ...send, bodyFields: route.shadow?.redact.bodyFields ?? [] };
    const [answer, fresh] = await Promise.all([
      sendReplay(request, sendTo),
      askFresh && freshUrl ? sendReplay(replayRequest(freshUrl, exchange, input.runId, new SessionIds(), auth), sendTo) : undefined,
    ]);
    if (abort.signal.aborted && aborted) return; // answered after the run stopped: not judged
    judged++;
    checkAuth(exchange, route, answer);
    const example: ExchangeExample = {
      exchangeId: exchange.id,
      method: exchange.method,
      path: exchange.path,
      query: exchange.query,
      recordedStatus: exchange.status,
      candidateStatus: answer.side.ok ? answer.side.response.status : null,
      recordedBody: exchange.responseBody,
      candidateBody: answer.text,
      ...(answer.side.ok ? {} : { error: answer.side.error }),
    };
    const noise = setAside.get(route.id) ?? [];
    if (!answer.side.ok) return builder.add(exchange, { kind: answer.timedOut ? "timeout" : "error", example }, undefined);
    if (answer.truncated) {
      builder.truncated++;
      return;
    }
    if (isSuccess(exchange.status) && isAuthRefusal(answer.side.response.status)) return builder.add(exchange, { kind: "auth_failure", example }, answer.ms);
    if (write) ids.learn({ body: exchange.responseBody, location: exchange.responseHeaders.location }, { body: answer.rawText, location: answer.location });
    const recorded = recordedSide(exchange);
    if (fresh?.side.ok && !fresh.truncated) {
      if (fresh.side.response.status !== exchange.status) return builder.add(exchange, { kind: "stale" }, answer.ms);
      const drift = compareAnswers(route, exchange, recorded, fresh.side, noise, input.maxDecodedBytes);
      builder.noise(drift.differences.filter((d) => d.kind !== "status" && d.kind !== "error").map((d) => signaturePath(d.path)));
    }
    const result = compareAnswers(route, exchange, recorded, answer.side, noise, input.maxDecodedBytes);
    const uncorrelated = result.differences.filter((d) => !ids.correlates(d));
    // The noise the live comparison learned (by place and kind) is set aside, as it is live.
    const differences = uncorrelated.filter((d) => !input.isNoise(route, signaturePath(d.path), d.kind));
    builder.add(exchange, { kind: "compared", differences, correlated: result.differences.length - uncorrelated.length, noise: uncorrelated.length - differences.length, example }, answer.ms);
  };

  const waitForRoom = async () => {
    while (inFlight >= inFlightLimit) await new Promise<void>((resolve) => (room = resolve));
  };

  for await (const exchange of input.exchanges) {
    if (aborted) break;
    builder.exchanges++;
    const route = routes.get(exchange.recordingId);
    if (!route) continue;
    if (exchange.requestTruncated || exchange.responseTruncated) {
      builder.truncated++;
      continue;
    }
    if (!READ_METHODS.has(exchange.method) && !input.target.sandbox) {
      builder.skippedWrites++;
      continue;
    }
    const wait = schedule.next(exchange.at) - elapsed();
    if (wait > 1) await sleep(wait, undefined, { signal: abort.signal }).catch(() => undefined);
    await waitForRoom();
    if (aborted) break;
    let session = sessions.get(exchange.session);
    if (!session || exchange.session === "") {
      session = { tail: Promise.resolve(), ids: new SessionIds(redactText) };
      if (exchange.session !== "") sessions.set(exchange.session, session);
    }
    const { tail, ids } = session;
    inFlight++;
    const task: Promise<void> = tail
      .then(() => (aborted ? undefined : replayOne(exchange, route, ids)))
      .catch(() => undefined)
      .finally(() => {
        inFlight--;
        tasks.delete(task);
        input.progress?.({ sent: builder.sent, judged });
        room?.();
        room = undefined;
      });
    session.tail = task;
    tasks.add(task);
  }
  await Promise.all([...tasks]);
  input.signal?.removeEventListener("abort", stopNow);
  // A recording with fewer 2xx answers than the probe's size is judged on what it has.
  if (!aborted && probe.seen > 0 && probe.seen < settings.authProbeExchanges && probe.refused * 2 > probe.seen) stopForAuth(probe.route);
  const durationMs = Math.round(elapsed());
  return builder.report(
    {
      run: input.runId,
      recordings: input.recordings.map((r) => r.recording.id),
      routes: [...setAside.keys()],
      target: input.target.url,
      sandbox: input.target.sandbox,
      pacing: { ...input.pacing, windows: windows.windows(durationMs) },
      durationMs,
      // Several routes replayed together must meet the strictest of their bars.
      required: {
        minExchanges: Math.max(...[...routes.values()].map((r) => r.replay.minExchanges)),
        minPassLowerBound: Math.max(...[...routes.values()].map((r) => r.replay.minPassLowerBound)),
      },
      maxSignatures: settings.maxSignatures,
      ...(aborted ? { aborted } : {}),
    },
    input.previous,
  );
}
