import type { Hono } from "hono";
import type { AdminEnv } from "./access.ts";
import { z } from "zod";
import type { RouteConfig } from "../config/schema.ts";
import type { Recorder } from "../recording/recorder.ts";
import type { RecordedExchange, RecordingRecord, RecordingStore } from "../store/recording-store.ts";
import type { RolloutStore } from "../store/rollout-store.ts";
import { AdminError } from "./admin-error.ts";
import { reasonSchema } from "./admin-schemas.ts";
import { readBody, readQuery } from "./read-input.ts";

export interface RecordingApiOptions {
  readonly recorder: Recorder;
  readonly store: RecordingStore;
  readonly audit: RolloutStore;
  readonly findRoute: (id: string) => RouteConfig;
  /** `recording.maxExchanges`: the largest size a recording may ask for. */
  readonly maxExchanges: () => number;
}

export const startRecordingSchema = z.strictObject({
  /** The share of the route's exchanges with the monolith kept, 0–1 (rare kinds of answers are kept first). */
  rate: z.number().gt(0).max(1).default(0.1),
  /** The recording stops, `full`, at this many exchanges. */
  max: z.number().int().min(1).default(1_000),
  reason: reasonSchema,
});
export const stopRecordingSchema = z.strictObject({ reason: reasonSchema });
export const recordingsQuery = z.strictObject({ route: z.string().max(80).optional() });
export const exchangesQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});
export const exportQuery = z.strictObject({ format: z.enum(["jsonl", "har"]).default("jsonl") });

/** A recorded exchange as a HAR 1.2 entry (what browsers' tools, GoReplay converters and mock servers read). */
function harEntry(e: RecordedExchange, origin: string) {
  const pairs = (headers: Readonly<Record<string, string>>) => Object.entries(headers).map(([name, value]) => ({ name, value }));
  const query = new URLSearchParams(e.query);
  return {
    startedDateTime: new Date(e.at).toISOString(),
    time: e.latencyMs,
    request: {
      method: e.method,
      url: `${origin}${e.path}${e.query ? `?${e.query.replace(/^\?/, "")}` : ""}`,
      httpVersion: "HTTP/1.1",
      headers: pairs(e.requestHeaders),
      queryString: [...query].map(([name, value]) => ({ name, value })),
      cookies: [],
      headersSize: -1,
      bodySize: e.requestBody.length,
      ...(e.requestBody ? { postData: { mimeType: e.requestHeaders["content-type"] ?? "", text: e.requestBody } } : {}),
    },
    response: {
      status: e.status,
      statusText: "",
      httpVersion: "HTTP/1.1",
      headers: pairs(e.responseHeaders),
      cookies: [],
      content: { size: e.responseBody.length, mimeType: e.responseHeaders["content-type"] ?? "", text: e.responseBody },
      redirectURL: "",
      headersSize: -1,
      bodySize: e.responseBody.length,
    },
    cache: {},
    timings: { send: 0, wait: e.latencyMs, receive: 0 },
    comment: `session ${e.session}; stratum ${e.stratum}${e.requestTruncated || e.responseTruncated ? "; truncated: not replayed" : ""}`,
  };
}

/** The recording a path parameter names; 404 `unknown_recording` when there is none. */
export async function recordingById(store: RecordingStore, raw: string): Promise<RecordingRecord> {
  const id = Number(raw);
  const recording = Number.isInteger(id) && id > 0 ? await store.get(id) : undefined;
  if (!recording) throw new AdminError(404, "unknown_recording", `no recording ${JSON.stringify(raw)}`);
  return recording;
}

/** Recordings over the admin API: start and stop a route's, list them, page and export their exchanges, delete. */
export function registerRecordingApi(app: Hono<AdminEnv>, options: RecordingApiOptions): void {
  const { recorder, store } = options;
  const found = (raw: string) => recordingById(store, raw);

  app.post("/api/routes/:id/recordings", async (c) => {
    const route = options.findRoute(c.req.param("id"));
    const { rate, max, reason } = await readBody(c, startRecordingSchema);
    if (max > options.maxExchanges()) throw new AdminError(400, "invalid_input", `max: at most recording.maxExchanges (${options.maxExchanges()}), got ${max}`);
    const recording = await recorder.begin({ routeId: route.id, rate, maxExchanges: max, startedBy: c.get("actor"), reason });
    if (!recording) throw new AdminError(409, "already_recording", `route "${route.id}" is being recorded already: stop that recording first`);
    await options.audit.appendAudit({ actor: c.get("actor"), action: "recording_started", routeId: route.id, oldValue: null, newValue: { recording: recording.id, rate, max }, reason, source: "admin" });
    return c.json(recording, 201);
  });

  app.post("/api/recordings/:recordingId/stop", async (c) => {
    const recording = await found(c.req.param("recordingId"));
    const { reason } = await readBody(c, stopRecordingSchema);
    const stopped = await recorder.stop(recording.id, "stopped");
    if (!stopped) throw new AdminError(409, "not_recording", `recording ${recording.id} has stopped already (${recording.stopReason ?? "stopped"})`);
    await options.audit.appendAudit({ actor: c.get("actor"), action: "recording_stopped", routeId: recording.routeId, oldValue: { recording: recording.id }, newValue: { exchanges: stopped.exchanges }, reason, source: "admin" });
    return c.json(stopped);
  });

  app.get("/api/recordings", async (c) => {
    const { route } = readQuery(c, recordingsQuery);
    await recorder.flush();
    return c.json({ recordings: await store.list(route) });
  });

  app.get("/api/recordings/:recordingId", async (c) => {
    await recorder.flush();
    return c.json(await found(c.req.param("recordingId")));
  });

  app.get("/api/recordings/:recordingId/exchanges", async (c) => {
    const recording = await found(c.req.param("recordingId"));
    const { after, limit } = readQuery(c, exchangesQuery);
    await recorder.flush();
    const exchanges = await store.exchanges(recording.id, after, limit);
    return c.json({ recording: recording.id, exchanges, nextAfter: exchanges.length === limit ? (exchanges.at(-1) as RecordedExchange).id : null });
  });

  app.get("/api/recordings/:recordingId/export", async (c) => {
    const recording = await found(c.req.param("recordingId"));
    const { format } = readQuery(c, exportQuery);
    await recorder.flush();
    const all: RecordedExchange[] = [];
    for (let after = 0; ; ) {
      const page = await store.exchanges(recording.id, after, 1_000);
      all.push(...page);
      if (page.length < 1_000) break;
      after = (page.at(-1) as RecordedExchange).id;
    }
    const name = `recording-${recording.id}-${recording.routeId}`;
    if (format === "har") {
      const har = { log: { version: "1.2", creator: { name: "strangler-fig", version: "1" }, comment: `route ${recording.routeId}, recording ${recording.id}`, entries: all.map((e) => harEntry(e, "http://monolith")) } };
      c.header("content-disposition", `attachment; filename="${name}.har"`);
      return c.json(har);
    }
    c.header("content-type", "application/x-ndjson");
    c.header("content-disposition", `attachment; filename="${name}.jsonl"`);
    return c.body([JSON.stringify({ recording }), ...all.map((e) => JSON.stringify(e))].join("\n") + "\n");
  });

  app.delete("/api/recordings/:recordingId", async (c) => {
    const recording = await found(c.req.param("recordingId"));
    const { reason } = await readBody(c, stopRecordingSchema);
    if (recording.stoppedAt === null) await recorder.stop(recording.id, "stopped");
    await store.delete(recording.id);
    await options.audit.appendAudit({ actor: c.get("actor"), action: "recording_deleted", routeId: recording.routeId, oldValue: { recording: recording.id, exchanges: recording.exchanges }, newValue: null, reason, source: "admin" });
    return c.json({ deleted: recording.id });
  });
}
