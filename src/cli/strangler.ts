/**
 * `strangler`: the admin API from a terminal.
 *
 *   strangler routes
 *   strangler route <id>
 *   strangler rollout <id> <percent> --reason "..."
 *   strangler rollback <id> --reason "..."
 *   strangler audit [--route <id>] [--limit <n>]
 *   strangler promote start|pause|resume|step <id> --reason "..."
 *   strangler resume <id> --reason "..."
 *   strangler retire <id> --reason "..."
 *   strangler flags export [--format flagd]
 *   strangler map [--unclaimed] [--hours <n>] [--json]
 *   strangler map suggest [--hours <n>] [--limit <n>] [--json]
 *   strangler record <id> [--rate R] [--max N] --reason "..."  /  record stop <id>  /  recordings
 *   strangler replay <recording> --against <backend|URL> [--sandbox] [--factor F | --rate R | --concurrency N] [--fresh-monolith] [--dry-run]
 *   strangler check [FILE]
 *
 * The admin URL comes from --url or STRANGLER_ADMIN_URL (default http://127.0.0.1:$ADMIN_PORT, 9901), the
 * token from --token or STRANGLER_ADMIN_TOKEN. Every command takes --json; `strangler help <command>` (or
 * `<command> --help`) explains one. Exit codes: 0 done, 1 refused (by the API, or an invalid config; a
 * replay run that failed), 2 usage, 3 a replay run stopped before its verdict.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { certificateFiles, certificateProblems } from "../edge/certificate-files.ts";
import { ConfigError } from "../config/config-error.ts";
import { loadConfigFile } from "../config/load-config.ts";
import type { routeView } from "../admin/route-views.ts";
import type { AuditEntry } from "../store/rollout-repository.ts";
import { flagdDocument } from "../flags/flagd-export.ts";
import { AdminApiError, callAdmin, type AdminClientOptions } from "./admin-client.ts";
import { PACKAGE_VERSION } from "../version.ts";
import { renderTable } from "./table.ts";
import { HELP, USAGE } from "./help.ts";
import { setTimeout as sleep } from "node:timers/promises";
import type { ReplayReport } from "../replay/replay-report.ts";
import type { ReplayPlan } from "../replay/replay-service.ts";
import { planText, reportText } from "../replay/report-text.ts";
import type { BackendView } from "../admin/backend-views.ts";
import type { WebhookView } from "../wiring/webhook-wiring.ts";

type RouteView = ReturnType<typeof routeView> & { state?: string | null };

class UsageError extends Error {}

/** A replay run that did not pass: its report is the output, and the exit code says how it ended. */
class Verdict extends Error {
  constructor(
    readonly text: string,
    readonly code: number,
  ) {
    super(text);
  }
}

/** A replay run as GET /api/replays/<n> answers it. */
interface ReplayRunView {
  readonly id: number;
  readonly status: "running" | "passed" | "failed" | "aborted";
  readonly report: unknown;
}

/** Asked for help or usage: printed, and the exit code to end with (0 when asked, 2 when missing). */
class Usage extends Error {
  constructor(
    readonly text: string,
    readonly code: number,
  ) {
    super(text);
  }
}

function methodsOf(route: RouteView): string {
  return route.match.methods === "*" ? "*" : route.match.methods.join(",");
}

function routesTable(routes: readonly RouteView[]): string {
  return renderTable(
    ["ROUTE", "MATCH", "LEGACY", "TARGET", "STATE", "CONFIG %", "LIVE %", "SOURCE", "LAST CHANGE"],
    routes.map((r) => [
      r.id,
      `${methodsOf(r)} ${r.match.path}`,
      r.legacy,
      r.target,
      r.state ?? "",
      String(r.rollout.configuredPercent),
      r.rollout.source === "provider" ? (r.rollout.livePercent === null ? "-" : `~${r.rollout.livePercent}`) : String(r.rollout.livePercent),
      r.rollout.source,
      r.lastChange ? `${r.lastChange.at} by ${r.lastChange.by}: ${r.lastChange.reason}` : "",
    ]),
  );
}

/**
 * The backends' destinations under the routes: each one's state, requests in flight, and last health
 * check. Under the routes, a backend of one destination, in service, with no checks, is left out (there is
 * nothing to say); `all` shows every backend.
 */
function destinationsTable(backends: readonly BackendView[], all = false): string | undefined {
  const shown = all ? backends : backends.filter((b) => b.destinations.length > 1 || b.healthCheck !== null || b.destinations.some((d) => d.state !== "in_service"));
  if (shown.length === 0) return undefined;
  return renderTable(
    ["BACKEND", "DESTINATION", "STATE", "IN FLIGHT", "LAST CHECK"],
    shown.flatMap((b) =>
      b.destinations.map((d) => [
        b.failingOpen ? `${b.name} (fail open)` : b.name,
        d.address === null ? d.destination : `${d.destination} (${new URL(d.url).hostname})`,
        d.state === "ejected" && d.ejectedUntil !== null ? `ejected until ${new Date(d.ejectedUntil).toISOString()}` : d.state,
        String(d.inFlight),
        d.lastCheck ? `${d.lastCheck.ok ? "passed" : "failed"}: ${d.lastCheck.detail}` : "",
      ]),
    ),
  );
}

function auditTable(entries: readonly AuditEntry[]): string {
  // A value as a person reads it: a state and a percentage in words, anything else as JSON.
  const show = (v: unknown) => {
    if (v === null || v === undefined) return "-";
    if (typeof v !== "object") return JSON.stringify(v);
    const { state, percent } = v as { state?: unknown; percent?: unknown };
    const parts = [typeof state === "string" ? state : undefined, typeof percent === "number" ? `${percent}%` : undefined].filter(Boolean);
    return parts.length > 0 ? parts.join(" ") : JSON.stringify(v);
  };
  return renderTable(
    ["ID", "AT", "ACTOR", "ACTION", "ROUTE", "OLD", "NEW", "REASON"],
    entries.map((e) => [String(e.id), e.at, e.actor, e.action, e.routeId ?? "", show(e.oldValue), show(e.newValue), e.reason]),
  );
}

interface MapAnswer {
  windowMs: number;
  requests: number;
  servedByServices: number | null;
  templates: { total: number; claimed: number; unclaimed: number };
  overflow: number;
  rows: Array<{ method: string; template: string; requests: number; share: number; servedByServices: number; status: Record<string, number>; p99Ms: number | null; lastMonolithAt: string | null; route: string | null }>;
}

const percent = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);

function mapTable(map: MapAnswer): string {
  const head = `${map.requests} requests over ${Math.ceil(map.windowMs / 3_600_000)} h; ${percent(map.servedByServices)} served by services; ${map.templates.claimed} of ${map.templates.total} endpoints claimed by a route${map.overflow ? `; ${map.overflow} requests past the map's bound (overflow)` : ""}`;
  const table = renderTable(
    ["METHOD", "TEMPLATE", "REQUESTS", "SHARE", "BY SERVICES", "5XX", "P99", "ROUTE", "MONOLITH LAST"],
    map.rows.map((r) => [r.method, r.template, String(r.requests), percent(r.share), percent(r.servedByServices), String(r.status["5xx"] ?? 0), r.p99Ms === null ? "-" : `${r.p99Ms} ms`, r.route ?? "(monolith)", r.lastMonolithAt ?? "-"]),
  );
  return `${head}\n\n${table}`;
}

/** A recording as the admin API answers it. */
interface RecordingView {
  id: number;
  routeId: string;
  startedAt: number;
  stoppedAt: number | null;
  stopReason: string | null;
  rate: number;
  maxExchanges: number;
  exchanges: number;
  truncated: number;
  dropped: number;
}

function recordingsTable(recordings: readonly RecordingView[]): string {
  return renderTable(
    ["ID", "ROUTE", "STATE", "STARTED", "RATE", "EXCHANGES", "TRUNCATED", "DROPPED"],
    recordings.map((r) => [String(r.id), r.routeId, r.stoppedAt === null ? "recording" : (r.stopReason ?? "stopped"), new Date(r.startedAt).toISOString(), String(r.rate), `${r.exchanges} / ${r.maxExchanges}`, String(r.truncated), String(r.dropped)]),
  );
}

function requireReason(reason: string | undefined): string {
  if (!reason) throw new UsageError('--reason "..." is required: every change is audited with why');
  return reason;
}

async function run(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      reason: { type: "string" },
      route: { type: "string" },
      limit: { type: "string" },
      rate: { type: "string" },
      max: { type: "string" },
      against: { type: "string" },
      sandbox: { type: "boolean" },
      factor: { type: "string" },
      concurrency: { type: "string" },
      "fresh-monolith": { type: "boolean" },
      "dry-run": { type: "boolean" },
      format: { type: "string" },
      hours: { type: "string" },
      unclaimed: { type: "boolean" },
      json: { type: "boolean" },
      version: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const admin: AdminClientOptions = {
    // The same port the demo and the proxy honour (ADMIN_PORT), unless a URL is given.
    url: values.url ?? process.env.STRANGLER_ADMIN_URL ?? `http://127.0.0.1:${process.env.ADMIN_PORT || "9901"}`,
    token: values.token ?? process.env.STRANGLER_ADMIN_TOKEN,
  };
  const [command, ...args] = positionals;
  if (values.version) return values.json ? JSON.stringify({ version: PACKAGE_VERSION }) : PACKAGE_VERSION;
  if (command === undefined) throw new Usage(USAGE, values.help ? 0 : 2);
  if (command === "help") {
    const topic = args[0];
    if (topic === undefined) throw new Usage(USAGE, 0);
    if (!HELP[topic]) throw new UsageError(`no command ${JSON.stringify(topic)}`);
    throw new Usage(HELP[topic] as string, 0);
  }
  if (values.help) {
    if (!HELP[command]) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    throw new Usage(HELP[command] as string, 0);
  }
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  switch (command) {
    case "webhooks": {
      if (args[0] === "test") {
        const name = args[1];
        if (!name) throw new UsageError("webhooks test needs a webhook's name");
        const sent = await callAdmin<{ webhook: string; id: string; ok: boolean; status: number | null; error: string | null; ms: number }>(admin, "POST", `/api/webhooks/${encodeURIComponent(name)}/test`, {});
        if (values.json) return json(sent);
        if (!sent.ok) throw new Verdict(`${sent.webhook}: not delivered: ${sent.error ?? "?"} (${sent.ms} ms)`, 1);
        return `${sent.webhook}: delivered ${sent.id} (${sent.status}, ${sent.ms} ms)`;
      }
      const { webhooks } = await callAdmin<{ webhooks: WebhookView[] }>(admin, "GET", "/api/webhooks");
      if (values.json) return json(webhooks);
      if (webhooks.length === 0) return "no webhooks in routes.config.ts";
      const cell = (v: unknown) => (v === null || v === undefined ? "-" : String(v));
      return renderTable(
        ["NAME", "URL", "STATUS", "BACKLOG", "DELIVERED", "FAILED", "LAST"],
        webhooks.map((w) => [w.name, w.url, w.status, String(w.backlog), cell(w.delivery?.delivered ?? 0), cell(w.delivery?.failed ?? 0), w.delivery?.lastError ? `${cell(w.delivery.lastStatus)} ${cell(w.delivery.lastError)}` : cell(w.delivery?.lastStatus)]),
      );
    }
    case "whoami": {
      const session = await callAdmin<{ actor: string; role: string; routes: string[] | null }>(admin, "GET", "/api/session");
      if (values.json) return json(session);
      return `${session.actor}: role ${session.role}${session.routes ? `, changes routes ${session.routes.join(", ")} only` : ""}`;
    }
    case "backends": {
      const { backends } = await callAdmin<{ backends: BackendView[] }>(admin, "GET", "/api/backends");
      if (values.json) return json(backends);
      return destinationsTable(backends, true) ?? "";
    }
    case "routes": {
      const { routes } = await callAdmin<{ routes: RouteView[] }>(admin, "GET", "/api/routes");
      if (values.json) return json(routes);
      const { backends } = await callAdmin<{ backends: BackendView[] }>(admin, "GET", "/api/backends");
      const destinations = destinationsTable(backends);
      return destinations === undefined ? routesTable(routes) : `${routesTable(routes)}\n\n${destinations}`;
    }
    case "check": {
      if (args.length > 1) throw new UsageError("check takes at most one file");
      const file = args[0] ?? process.env.CONFIG ?? "routes.config.ts";
      try {
        const config = await loadConfigFile(file);
        // The certificate files too: they must load, and each key must be its certificate's.
        const problems = (
          await Promise.all(
            ([["server.tls", config.server.tls], ["admin.tls", config.admin.tls]] as const).map(([key, block]) => (block ? certificateProblems(certificateFiles(key, block, resolve(file))) : [])),
          )
        ).flat();
        if (problems.length > 0) throw new ConfigError(file, problems);
        const summary = { ok: true, file, routes: config.routes.length, backends: Object.keys(config.backends).length };
        return values.json ? json(summary) : `${file}: valid (${summary.routes} routes, ${summary.backends} backends)`;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new ConfigCheckFailed(values.json ? json({ ok: false, file, issues: error.issues }) : error.message);
      }
    }
    case "route": {
      if (args.length !== 1) throw new UsageError("route takes one route id");
      return JSON.stringify(await callAdmin<RouteView>(admin, "GET", `/api/routes/${encodeURIComponent(args[0] as string)}`), null, 2);
    }
    case "rollout": {
      if (args.length !== 2) throw new UsageError("rollout takes a route id and a percentage");
      const percent = Number(args[1]);
      if (args[1] === "" || !Number.isFinite(percent)) throw new UsageError(`percentage must be a number, got ${JSON.stringify(args[1])}`);
      const reason = requireReason(values.reason);
      const result = await callAdmin<{ route: RouteView; previousPercent: number }>(admin, "PUT", `/api/routes/${encodeURIComponent(args[0] as string)}/rollout`, { percent, reason });
      if (values.json) return json(result);
      return `${result.route.id}: ${result.previousPercent}% -> ${result.route.rollout.livePercent}%\n\n${routesTable([result.route])}`;
    }
    case "rollback": {
      if (args.length !== 1) throw new UsageError("rollback takes one route id");
      const reason = requireReason(values.reason);
      const result = await callAdmin<{ route: RouteView; previousPercent: number }>(admin, "POST", `/api/routes/${encodeURIComponent(args[0] as string)}/rollback`, { reason });
      if (values.json) return json(result);
      return `${result.route.id}: rolled back, ${result.previousPercent}% -> ${result.route.rollout.livePercent}%`;
    }
    case "audit": {
      const query = new URLSearchParams();
      if (values.route) query.set("route", values.route);
      if (values.limit) query.set("limit", values.limit);
      const answer = await callAdmin<{ entries: AuditEntry[] }>(admin, "GET", `/api/audit?${query}`);
      return values.json ? json(answer) : auditTable(answer.entries);
    }
    case "promote": {
      const [action, id] = args;
      if (!["start", "pause", "resume", "step", "approve"].includes(action ?? "") || args.length !== 2) throw new UsageError("promote takes start|pause|resume|step|approve and a route id");
      const record = await callAdmin<{ state: string; promotion: string; stepIndex: number | null }>(admin, "POST", `/api/routes/${encodeURIComponent(id as string)}/promotion/${action}`, { reason: requireReason(values.reason) });
      if (values.json) return json(record);
      return `${id}: promotion ${record.promotion}, state ${record.state}, step ${record.stepIndex === null ? "-" : record.stepIndex + 1}`;
    }
    case "resume":
    case "retire": {
      if (args.length !== 1) throw new UsageError(`${command} takes one route id`);
      const record = await callAdmin<{ state: string }>(admin, "POST", `/api/routes/${encodeURIComponent(args[0] as string)}/${command}`, { reason: requireReason(values.reason) });
      return values.json ? json(record) : `${args[0]}: state ${record.state}`;
    }
    case "flags": {
      if (args[0] !== "export" || args.length !== 1) throw new UsageError("flags takes export");
      if ((values.format ?? "flagd") !== "flagd") throw new UsageError(`--format must be flagd, got ${JSON.stringify(values.format)}`);
      const { routes } = await callAdmin<{ routes: RouteView[] }>(admin, "GET", "/api/routes");
      if (routes.some((r) => r.rollout.source === "provider")) {
        throw new AdminApiError(409, "externally_managed", "routes are decided by another OpenFeature provider already: its flags are the ones to keep");
      }
      return JSON.stringify(flagdDocument(routes.map((r) => ({ id: r.id, percent: r.rollout.livePercent ?? 0, salt: r.rollout.salt }))), null, 2);
    }
    case "map": {
      const query = new URLSearchParams();
      if (values.hours) query.set("hours", values.hours);
      if (args[0] === "suggest" && args.length === 1) {
        if (values.limit) query.set("limit", values.limit);
        const answer = await callAdmin<{ suggestions: Array<{ snippet: string }> }>(admin, "GET", `/api/map/suggest?${query}`);
        if (values.json) return json(answer);
        return answer.suggestions.length === 0 ? "// nothing left to cut: every endpoint the monolith served is claimed by a route" : answer.suggestions.map((s) => s.snippet).join("\n\n");
      }
      if (args.length !== 0) throw new UsageError("map takes no argument, or suggest");
      if (values.unclaimed) query.set("unclaimed", "1");
      const map = await callAdmin<MapAnswer>(admin, "GET", `/api/map?${query}`);
      return values.json ? json(map) : mapTable(map);
    }
    case "record": {
      const reason = () => requireReason(values.reason);
      if (args[0] === "stop") {
        if (args.length !== 2) throw new UsageError("record stop takes one route id");
        const { recordings } = await callAdmin<{ recordings: RecordingView[] }>(admin, "GET", `/api/recordings?route=${encodeURIComponent(args[1] as string)}`);
        const active = recordings.find((r) => r.stoppedAt === null);
        if (!active) throw new AdminApiError(409, "not_recording", `route ${JSON.stringify(args[1])} is not being recorded`);
        const stopped = await callAdmin<RecordingView>(admin, "POST", `/api/recordings/${active.id}/stop`, { reason: reason() });
        return values.json ? json(stopped) : recordingsTable([stopped]);
      }
      if (args.length !== 1) throw new UsageError("record takes one route id, or stop and a route id");
      const number = (flag: "rate" | "max") => {
        const raw = values[flag];
        if (raw === undefined) return undefined;
        const n = Number(raw);
        if (raw === "" || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(raw)}`);
        return n;
      };
      const [rate, max] = [number("rate"), number("max")];
      const started = await callAdmin<RecordingView>(admin, "POST", `/api/routes/${encodeURIComponent(args[0] as string)}/recordings`, {
        ...(rate !== undefined ? { rate } : {}),
        ...(max !== undefined ? { max } : {}),
        reason: reason(),
      });
      return values.json ? json(started) : `${started.routeId}: recording ${started.id} started (rate ${started.rate}, up to ${started.maxExchanges})`;
    }
    case "replay": {
      if (args.length !== 1) throw new UsageError("replay takes one recording id, or several joined by commas (replayed together, merged by time)");
      const ids = (args[0] as string).split(",").map((id) => id.trim());
      if (ids.some((id) => !/^[1-9]\d{0,15}$/.test(id))) throw new UsageError(`replay takes recording ids (numbers, joined by commas), got ${JSON.stringify(args[0])}`);
      if (!values.against) throw new UsageError("replay needs --against <backend name or URL>");
      const number = (flag: "rate" | "factor" | "concurrency") => {
        const raw = values[flag];
        if (raw === undefined) return undefined;
        const n = Number(raw);
        if (raw === "" || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(raw)}`);
        return n;
      };
      const [factor, rate, concurrency] = [number("factor"), number("rate"), number("concurrency")];
      if ([factor, rate, concurrency].filter((v) => v !== undefined).length > 1) throw new UsageError("replay paces by one of --factor, --rate or --concurrency");
      const pacing = rate !== undefined ? { mode: "rate", perSecond: rate } : concurrency !== undefined ? { mode: "concurrency", limit: concurrency } : { mode: "recorded", factor: factor ?? 1 };
      const dryRun = values["dry-run"] === true;
      const body = { with: ids.slice(1).map(Number), against: values.against, sandbox: values.sandbox === true, pacing, freshMonolith: values["fresh-monolith"] === true, dryRun, reason: dryRun ? (values.reason ?? "dry run") : requireReason(values.reason) };
      const path = `/api/recordings/${ids[0] as string}/replays`;
      if (dryRun) {
        const plan = await callAdmin<ReplayPlan>(admin, "POST", path, body);
        return values.json ? json(plan) : planText(plan);
      }
      let run = await callAdmin<ReplayRunView>(admin, "POST", path, body);
      while (run.status === "running") {
        await sleep(500);
        run = await callAdmin<ReplayRunView>(admin, "GET", `/api/replays/${run.id}`);
      }
      const report = run.report as ReplayReport;
      const text = values.json ? json(report) : report.counts ? reportText(report) : `replay run ${run.id}: ${run.status}: ${report.verdict}`;
      // CI gates on the exit code: 0 passed, 1 failed, 3 stopped (authentication misconfigured, or shut down).
      if (run.status !== "passed") throw new Verdict(text, run.status === "failed" ? 1 : 3);
      return text;
    }
    case "recordings": {
      if (args.length !== 0) throw new UsageError("recordings takes no argument (--route <id> to choose one route's)");
      const answer = await callAdmin<{ recordings: RecordingView[] }>(admin, "GET", `/api/recordings${values.route ? `?route=${encodeURIComponent(values.route)}` : ""}`);
      return values.json ? json(answer) : recordingsTable(answer.recordings);
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** An invalid config under `check`: its messages are the output, and the exit code is 1. */
class ConfigCheckFailed extends Error {}

try {
  console.log(await run(process.argv.slice(2)));
} catch (error) {
  if (error instanceof Verdict) {
    console.log(error.text);
    process.exitCode = error.code;
  } else if (error instanceof Usage) {
    (error.code === 0 ? console.log : console.error)(error.text);
    process.exitCode = error.code;
  } else if (error instanceof ConfigCheckFailed) {
    console.error(error.message);
    process.exitCode = 1;
  } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    // One line: what was wrong, and where the usage is.
    console.error(`strangler: ${(error as Error).message.split("\n")[0]} (strangler --help for usage)`);
    process.exitCode = 2;
  } else if (error instanceof AdminApiError) {
    console.error(`strangler: ${error.status ? `${error.status} ` : ""}${error.code}: ${error.message}`);
    process.exitCode = 1;
  } else {
    console.error(`strangler: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
