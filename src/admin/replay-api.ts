import type { Hono } from "hono";
import { roleCovers, type AdminEnv } from "./access.ts";
import { assertRouteGranted, roleRefusal } from "./authorize.ts";
import { z } from "zod";
import { ReplayRefusal, type ReplayService } from "../replay/replay-service.ts";
import type { RecordingStore, ReplayRunRecord } from "../store/recording-store.ts";
import { AdminError } from "./admin-error.ts";
import { reasonSchema } from "./admin-schemas.ts";
import { readBody, readQuery } from "./read-input.ts";
import { recordingById } from "./recording-api.ts";

export interface ReplayApiOptions {
  readonly replays: ReplayService;
  readonly store: RecordingStore;
  /** The configured backends' names: what an operator may replay against (an admin may name any URL). */
  readonly backendNames: () => readonly string[];
}

export const pacingSchema = z.discriminatedUnion("mode", [
  /** The recorded gaps divided by `factor` (2: twice as fast); a gap over `replay.maxGapMs` is cut to it. */
  z.strictObject({ mode: z.literal("recorded"), factor: z.number().gt(0).max(1_000).default(1) }),
  /** A fixed rate, requests per second. */
  z.strictObject({ mode: z.literal("rate"), perSecond: z.number().gt(0).max(100_000) }),
  /** As fast as `limit` requests in flight allow. */
  z.strictObject({ mode: z.literal("concurrency"), limit: z.number().int().min(1).max(1_000) }),
]);

export const startReplaySchema = z.strictObject({
  /** More recordings replayed in the same run, merged by time: a session's write on one route before its read on another. */
  with: z.array(z.number().int().positive()).max(20).default([]),
  /** A backend's name, or the candidate's URL. */
  against: z.string().min(1).max(2_000),
  /** The target is a sandbox: writes are replayed to it too (each with an Idempotency-Key). */
  sandbox: z.boolean().default(false),
  pacing: pacingSchema.default({ mode: "recorded", factor: 1 }),
  /** Also ask the monolith for fresh answers to reads (rate-capped): what differs between its recorded and fresh answers is noise. */
  freshMonolith: z.boolean().default(false),
  /** Say what the run would do, and send nothing. */
  dryRun: z.boolean().default(false),
  reason: reasonSchema,
});

/** The newest runs first, at most `limit` (each with its report: a page's refresh asks for one). */
export const runsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20) });

/** A run as the API shows it: its report, and its progress while it runs (not its per-exchange verdicts). */
function runView(run: ReplayRunRecord, progress: { sent: number; judged: number; total: number } | undefined) {
  const { verdicts, ...rest } = run;
  return { ...rest, judged: Object.keys(verdicts).length, progress: progress ?? null };
}

/** Replay runs over the admin API: plan or start one of a recording, follow it, list a recording's runs. */
export function registerReplayApi(app: Hono<AdminEnv>, options: ReplayApiOptions): void {
  const { store, replays } = options;
  const refused = (error: unknown): never => {
    if (error instanceof ReplayRefusal) throw new AdminError(error.status, error.code, error.message);
    throw error;
  };
  const recordingOf = (raw: string) => recordingById(store, raw);

  app.post("/api/recordings/:recordingId/replays", async (c) => {
    const first = await recordingOf(c.req.param("recordingId"));
    const body = await readBody(c, startReplaySchema);
    const recordings = [first];
    for (const id of body.with) if (!recordings.some((r) => r.id === id)) recordings.push(await recordingOf(String(id)));
    const grant = c.get("grant");
    for (const recording of recordings) assertRouteGranted(grant, recording.routeId);
    // A URL that is no configured backend could be any host the proxy reaches: only an admin may aim there.
    if (!options.backendNames().includes(body.against) && !roleCovers(grant.role, "admin")) {
      throw roleRefusal(grant, "admin", "a replay against a URL (not a backend's name)");
    }
    const ask = { against: body.against, sandbox: body.sandbox, pacing: body.pacing, freshMonolith: body.freshMonolith, actor: c.get("actor"), reason: body.reason };
    if (body.dryRun) return c.json(await replays.plan(recordings, ask).catch(refused));
    const run = await replays.start(recordings, ask).catch(refused);
    return c.json(runView(run, replays.progress(run.id)), 202);
  });

  app.get("/api/recordings/:recordingId/replays", async (c) => {
    const recording = await recordingOf(c.req.param("recordingId"));
    const { limit } = readQuery(c, runsQuery);
    return c.json({ runs: (await store.runs(recording.id)).slice(0, limit).map((r) => runView(r, replays.progress(r.id))) });
  });

  app.get("/api/replays/:runId", async (c) => {
    const raw = c.req.param("runId");
    const id = Number(raw);
    const run = Number.isInteger(id) && id > 0 ? await store.getRun(id) : undefined;
    if (!run) throw new AdminError(404, "unknown_replay", `no replay run ${JSON.stringify(raw)}`);
    return c.json(runView(run, replays.progress(run.id)));
  });
}
