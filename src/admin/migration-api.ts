import type { Context, Hono } from "hono";
import { roleCovers, type AdminEnv } from "./access.ts";
import { roleRefusal } from "./authorize.ts";
import type { RouteConfig } from "../config/schema.ts";
import type { MigrationResult, MigrationService } from "../guard/migration-service.ts";
import type { MigrationRecord } from "../store/migration-repository.ts";
import { AdminError } from "./admin-error.ts";
import { reasonOnlySchema } from "./admin-schemas.ts";
import { readBody } from "./read-input.ts";

type Env = AdminEnv;

export interface MigrationApiOptions {
  readonly migrations: MigrationService;
  readonly findRoute: (id: string) => RouteConfig;
}

/** A migration record as the API shows it: times as ISO 8601, like every other timestamp it answers. */
function recordView(record: MigrationRecord | undefined) {
  if (!record) return {};
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...record, stepStartedAt: iso(record.stepStartedAt), awaitingSince: iso(record.awaitingSince) };
}

function answer(c: Context<Env>, result: MigrationResult): Response {
  if (!result.ok) throw new AdminError(409, result.code, result.message, result.evidence === undefined ? {} : { evidence: result.evidence });
  return c.json(recordView(result.record));
}

/** Migration state, promotion control (start, pause, resume, step), resume after a halt, retire. */
export function registerMigrationApi(app: Hono<Env>, { migrations, findRoute }: MigrationApiOptions): void {
  app.get("/api/routes/:id/migration", async (c) => {
    const route = findRoute(c.req.param("id"));
    return c.json({ ...recordView(await migrations.read(route.id)), guard: route.guard ?? null, promote: route.promote ?? null });
  });
  const actions: Record<string, (id: string, actor: string, reason: string) => MigrationResult | Promise<MigrationResult>> = {
    "promotion/start": migrations.startPromotion,
    "promotion/pause": migrations.pausePromotion,
    "promotion/resume": migrations.resumePromotion,
    "promotion/step": migrations.stepPromotion,
    resume: migrations.resume,
    retire: migrations.retire,
  };
  // An approval gate's yes: the route's approvers role (operator, or admin) decides who may give it.
  app.post("/api/routes/:id/promotion/approve", async (c) => {
    const route = findRoute(c.req.param("id"));
    const { reason } = await readBody(c, reasonOnlySchema);
    const needed = route.promote?.approval?.approvers ?? "operator";
    const grant = c.get("grant");
    if (!roleCovers(grant.role, needed)) throw roleRefusal(grant, needed, `approving a promotion step of route "${route.id}"`);
    return answer(c, await migrations.approvePromotion(route.id, c.get("actor"), reason));
  });
  for (const [path, act] of Object.entries(actions)) {
    app.post(`/api/routes/:id/${path}`, async (c) => {
      const route = findRoute(c.req.param("id"));
      const { reason } = await readBody(c, reasonOnlySchema);
      return answer(c, await act(route.id, c.get("actor"), reason));
    });
  }
}
