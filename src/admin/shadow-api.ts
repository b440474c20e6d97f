import type { Hono } from "hono";
import type { AdminEnv } from "./access.ts";
import { TRUNCATED_MARK } from "../redaction/redactor.ts";
import { z } from "zod";
import { pathPatternSchema, type RouteConfig } from "../config/schema.ts";
import type { RolloutStore } from "../store/rollout-store.ts";
import { ANY_KIND, type ExampleRecord, type SignatureRecord } from "../store/shadow-repository.ts";
import { DIFFERENCE_KINDS } from "../shadow/json-diff.ts";
import type { ShadowStore } from "../store/shadow-store.ts";
import type { ShadowRunner } from "../shadow/shadow-runner.ts";
import { AdminError } from "./admin-error.ts";
import { reasonSchema } from "./admin-schemas.ts";
import { readBody, readQuery } from "./read-input.ts";
import { readableDiff } from "./readable-diff.ts";
import { replayExample, type ReplayOptions } from "./replay.ts";

export interface ShadowApiOptions {
  readonly routes: () => readonly RouteConfig[];
  readonly shadows: ShadowRunner;
  readonly evidence: ShadowStore;
  readonly audit: RolloutStore;
  readonly findRoute: (id: string) => RouteConfig;
  /** What a replay needs beyond the route: the backends in force and the comparison's limits. */
  readonly replay: ReplayOptions;
}

export const windowSchema = z.strictObject({
  windowMinutes: z.coerce.number().int().min(1).max(60 * 24 * 30).default(60),
});
export const divergenceQuery = z.strictObject({
  status: z.enum(["open", "fixed", "accepted", "all"]).default("open"),
  examples: z.coerce.number().int().min(0).max(20).default(3),
});
export const acknowledgeSchema = z.strictObject({ status: z.enum(["fixed", "accepted", "open"]), reason: reasonSchema });
/** A replay takes no options: an empty JSON object (the body every POST of the API has). */
export const replaySchema = z.strictObject({});
/** A place noise is kept for: a JSON path pattern, a header (`header:etag`, `header:link;rel=next`) or a text body's place (`body:after "…"`). */
const noisePathSchema = z.union([pathPatternSchema, z.string().max(500).regex(/^(header:|body)/, 'must be a JSON path such as "$.items[*].price", a header place "header:…" or a body place "body…"')]);
const noiseKinds = [ANY_KIND, ...DIFFERENCE_KINDS.filter((k) => k !== "status" && k !== "error")] as [string, ...string[]];
export const noiseSchema = z.strictObject({
  path: noisePathSchema,
  /** The kind of difference confirmed or rejected at the path; `*` (the default) for every kind. */
  kind: z.enum(noiseKinds).default(ANY_KIND),
  status: z.enum(["confirmed", "rejected"]),
  reason: reasonSchema,
});


function exampleView(e: ExampleRecord) {
  // Which stored bodies were cut to `exampleBodyBytes` (their text then ends with the mark that says so).
  const truncated = { request: e.requestBody.endsWith(TRUNCATED_MARK), legacy: e.legacyBody.endsWith(TRUNCATED_MARK), target: e.targetBody.endsWith(TRUNCATED_MARK) };
  return { ...e, truncated, diff: readableDiff(e.differences) };
}

/**
 * The shadow evidence of each route over the admin API: match rate over a window, divergence
 * signatures with example pairs and a readable diff, acknowledgement, reset, and the noise learned.
 */
export function registerShadowApi(app: Hono<AdminEnv>, options: ShadowApiOptions): void {
  const { evidence, shadows } = options;
  const isNoise = (route: RouteConfig, signature: Pick<SignatureRecord, "path" | "kind">) => shadows.noise.isNoise(route.id, signature.path, signature.kind, route.shadow?.noise.minOccurrences ?? 2);

  app.get("/api/routes/:id/shadow", async (c) => {
    const route = options.findRoute(c.req.param("id"));
    const { windowMinutes } = readQuery(c, windowSchema);
    // A write read back at once (SQLite): this process's last results count too; PostgreSQL shows the judge's last fold.
    if (!evidence.foldedByJudge) await shadows.flush();
    const counts = await evidence.outcomes(route.id, Math.floor(Date.now() / 60_000) - windowMinutes + 1);
    const compared = counts.match + counts.diverge + counts.error;
    const signatures = await evidence.signatures(route.id);
    const noise = await evidence.noise(route.id);
    return c.json({
      routeId: route.id,
      shadow: route.shadow ?? null,
      windowMinutes,
      counts,
      compared,
      matchRate: compared === 0 ? null : counts.match / compared,
      topDivergences: signatures.filter((s) => s.status === "open" && !isNoise(route, s)).slice(0, 10),
      // How each array was paired: by the route's rules, or by an automatic key the comparisons found.
      arrays: [...(route.shadow?.compare.arrays ?? []).map((rule) => ({ ...rule, automatic: false })), ...shadows.pairings.of(route.id)],
      noise: {
        samples: shadows.noise.samples(route.id),
        fields: noise.map((n) => ({ ...n, isNoise: isNoise(route, { path: n.path, kind: n.kind }) })),
        suppressedSignatures: signatures.filter((s) => isNoise(route, s)).map((s) => ({ path: s.path, kind: s.kind, count: s.count })),
      },
    });
  });

  app.get("/api/routes/:id/divergences", async (c) => {
    const route = options.findRoute(c.req.param("id"));
    const { status, examples } = readQuery(c, divergenceQuery);
    if (!evidence.foldedByJudge) await shadows.flush();
    const found = (await evidence.signatures(route.id, status === "all" ? undefined : status)).filter((s) => !isNoise(route, s));
    const signatures = await Promise.all(found.map(async (s) => ({ ...s, examples: (await evidence.examples(s.id, examples)).map(exampleView) })));
    return c.json({ routeId: route.id, signatures });
  });

  app.post("/api/divergences/:signatureId/acknowledge", async (c) => {
    const id = Number(c.req.param("signatureId"));
    const before = Number.isInteger(id) ? await evidence.signature(id) : undefined;
    if (!before) throw new AdminError(404, "signature_not_found", `no divergence signature ${c.req.param("signatureId")}`);
    const { status, reason } = await readBody(c, acknowledgeSchema);
    const after = await evidence.acknowledge(id, status, reason);
    await options.audit.appendAudit({
      actor: c.get("actor"),
      action: "acknowledge_divergence",
      routeId: before.routeId,
      oldValue: { signature: id, path: before.path, kind: before.kind, status: before.status },
      newValue: { signature: id, status },
      reason,
      source: "admin",
    });
    return c.json(after);
  });

  // Sends a stored example again to both backends and answers the fresh comparison (GET and HEAD only).
  app.post("/api/divergences/:signatureId/examples/:exampleId/replay", async (c) => {
    const id = Number(c.req.param("signatureId"));
    const signature = Number.isInteger(id) ? await evidence.signature(id) : undefined;
    if (!signature) throw new AdminError(404, "signature_not_found", `no divergence signature ${c.req.param("signatureId")}`);
    const exampleId = Number(c.req.param("exampleId"));
    const example = (await evidence.examples(id, 100)).find((e) => e.id === exampleId);
    if (!example) throw new AdminError(404, "example_not_found", `signature ${id} has no stored example ${c.req.param("exampleId")}`);
    const route = options.routes().find((r) => r.id === signature.routeId);
    if (!route) throw new AdminError(404, "route_not_found", `the example's route "${signature.routeId}" is not in the config in force`);
    await readBody(c, replaySchema);
    const result = await replayExample(route, example, options.replay);
    // Audited: a replay sends a real user's request to production backends again.
    await options.audit.appendAudit({
      actor: c.get("actor"),
      action: "replay_example",
      routeId: route.id,
      oldValue: { signature: id, example: exampleId, request: `${example.method} ${example.path}${example.query ? `?${example.query}` : ""}`.slice(0, 300) },
      newValue: { outcome: result.outcome, differences: result.differences.length, legacyStatus: result.legacy.status, targetStatus: result.target.status },
      reason: "",
      source: "admin",
    });
    return c.json(result);
  });

  app.post("/api/routes/:id/shadow/reset", async (c) => {
    const route = options.findRoute(c.req.param("id"));
    const { reason } = await readBody(c, z.strictObject({ reason: reasonSchema }));
    await shadows.flush();
    const removed = await evidence.resetRoute(route.id);
    await options.audit.appendAudit({ actor: c.get("actor"), action: "reset_shadow_evidence", routeId: route.id, oldValue: removed, newValue: null, reason, source: "admin" });
    return c.json({ routeId: route.id, removed });
  });

  app.post("/api/routes/:id/noise", async (c) => {
    const route = options.findRoute(c.req.param("id"));
    const { path, kind, status, reason } = await readBody(c, noiseSchema);
    await shadows.flush();
    const record = await evidence.setNoiseStatus(route.id, path, kind, status);
    shadows.noise.setStatus(route.id, path, kind, status);
    await options.audit.appendAudit({ actor: c.get("actor"), action: `noise_${status}`, routeId: route.id, oldValue: null, newValue: { path, kind, status }, reason, source: "admin" });
    return c.json(record);
  });
}
