import { performance } from "node:perf_hooks";
import type { BackendConfig, RouteConfig } from "../config/schema.ts";
import { compareExchange, type CapturedResponse, type ComparedSide } from "../shadow/compare-exchange.ts";
import { REDACTED, redactorFor, type RedactionRules } from "../redaction/redactor.ts";
import type { ExampleRecord } from "../store/shadow-repository.ts";
import { readBounded } from "../replay/read-bounded.ts";
import { NOT_RESENT_HEADERS } from "../replay/replay-request.ts";
import { AdminError } from "./admin-error.ts";
import { readableDiff } from "./readable-diff.ts";
import { compilePathRewrite } from "../routing/path-rewrite.ts";

/** Only these are sent again: a stored example is a real user's request, and replaying it must not change anything. */
const IDEMPOTENT = new Set(["GET", "HEAD"]);

export interface ReplayOptions {
  readonly backends: () => Readonly<Record<string, BackendConfig>>;
  /** Learned noise of the route, set aside when pairing arrays (as the live comparison does). */
  readonly noisePaths: (routeId: string, minOccurrences: number) => readonly string[];
  /** `shadowing.maxDecodedBytes` and `shadowing.exampleBodyBytes`, read at each replay so a reload applies, as it does to the live comparison. */
  readonly limits: () => { readonly maxDecodedBytes: number; readonly exampleBodyBytes: number };
  /** The config's additions to what an example never stores (`redaction`), for the replayed pair's example. */
  readonly redaction: () => RedactionRules;
  /** The longest a replay waits for either backend (`admin.replayTimeoutMs`), whatever the backend's own longer timeouts. */
  readonly timeoutMs: () => number;
}

/**
 * Sends a stored example's request again to both backends of its route, straight to each (not through
 * the routing decision), and compares the fresh answers with the route's rules: the fastest way to see
 * whether a fix landed. Only GET and HEAD are replayed; the headers stored redacted (credentials) are
 * not sent, and the answer names them, so an endpoint that needs them is seen to answer 401 for that
 * reason and not taken for a divergence.
 */
export async function replayExample(route: RouteConfig, example: ExampleRecord, options: ReplayOptions) {
  if (!route.shadow) throw new AdminError(409, "not_shadowed", `route "${route.id}" is not shadowed: nothing to compare a replay with`);
  if (!IDEMPOTENT.has(example.method)) {
    throw new AdminError(409, "not_idempotent", `only GET and HEAD examples are replayed; this one is ${example.method}, and sending it again could change data`);
  }
  // A stored path is a request's origin-form target; anything else is not sent (concatenated after the
  // backend's origin, "@host/…" would name another host).
  if (!example.path.startsWith("/")) throw new AdminError(409, "not_replayable", `the stored path ${JSON.stringify(example.path.slice(0, 200))} does not start with "/": not replayed`);
  const headers: Record<string, string> = {};
  const withheld: string[] = [];
  for (const [name, value] of Object.entries(example.requestHeaders)) {
    if (NOT_RESENT_HEADERS.has(name)) continue;
    if (value === REDACTED) withheld.push(name);
    else headers[name] = value;
  }
  headers["x-strangler-replay"] = `${example.signatureId}/${example.id}`;
  // Query parameters stored redacted are sent as stored ("[redacted]"), and named, as headers are.
  const withheldQuery = example.query
    .replace(/^\?/, "")
    .split("&")
    .filter((pair) => pair.endsWith(`=${encodeURIComponent(REDACTED)}`))
    .map((pair) => pair.slice(0, pair.indexOf("=")));
  const backends = options.backends();
  const query = example.query ? `?${example.query}` : "";
  const pathAndQuery = `${example.path}${query}`;
  // The target gets its own path, as live (the route's rewrite as it stands now).
  const targetPath = compilePathRewrite(route.match.path, route.rewrite)?.(example.path) ?? example.path;
  const maxBytes = route.shadow.maxResponseBytes;
  const [legacy, target] = await Promise.all([
    fetchSide(backends[route.legacy], pathAndQuery, example.method, headers, maxBytes, options.timeoutMs()),
    fetchSide(backends[route.target], `${targetPath}${query}`, example.method, headers, maxBytes, options.timeoutMs()),
  ]);
  for (const [name, side] of [["legacy", legacy], ["target", target]] as const) {
    if (side.side.ok && side.side.response.truncated) {
      throw new AdminError(409, "response_too_large", `the ${name} answer is larger than the route's shadow.maxResponseBytes (${maxBytes}): the live comparison skips it too`);
    }
  }
  const { compare } = route.shadow;
  const setAside = route.shadow.noise.learn ? options.noisePaths(route.id, route.shadow.noise.minOccurrences) : [];
  const limits = options.limits();
  const result = compareExchange({
    left: legacy.side,
    right: target.side,
    headers: compare.headers,
    rules: { ignore: compare.ignore, arrays: compare.arrays, keyNames: compare.keyNames, setAside, numericTolerance: compare.numericTolerance, timestampToleranceMs: compare.timestampToleranceMs },
    example: { redactFields: route.shadow.redact.bodyFields, maxBytes: limits.exampleBodyBytes, rules: options.redaction() },
    maxDecodedBytes: limits.maxDecodedBytes,
  });
  // The fresh answers' values are shown as a stored example's are: redacted.
  const redactor = redactorFor(options.redaction());
  const differences = result.differences.map((d) => redactor.difference(d, route.shadow?.redact.bodyFields ?? []));
  return {
    replayedAt: new Date().toISOString(),
    signatureId: example.signatureId,
    exampleId: example.id,
    request: { method: example.method, path: example.path, ...(targetPath === example.path ? {} : { targetPath }), query: example.query, withheldHeaders: withheld, withheldQueryParams: withheldQuery },
    legacy: { backend: route.legacy, status: legacy.side.ok ? legacy.side.response.status : null, error: legacy.side.ok ? null : legacy.side.error, ms: legacy.ms },
    target: { backend: route.target, status: target.side.ok ? target.side.response.status : null, error: target.side.ok ? null : target.side.error, ms: target.ms },
    outcome: result.outcome,
    differences,
    diff: readableDiff(differences),
    // The fresh bodies as an example would store them (decoded, redacted, cut); a match shows none.
    legacyBody: result.example?.left ?? null,
    targetBody: result.example?.right ?? null,
  };
}

async function fetchSide(backend: BackendConfig | undefined, pathAndQuery: string, method: string, headers: Record<string, string>, maxBytes: number, replayTimeoutMs: number): Promise<{ side: ComparedSide; ms: number }> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  if (!backend) return { side: { ok: false, error: "backend not in the config in force" }, ms: 0 };
  const base = new URL(backend.url);
  const url = `${base.origin}${base.pathname.replace(/\/+$/, "")}${pathAndQuery}`;
  try {
    const res = await fetch(url, { method, headers, redirect: "manual", signal: AbortSignal.timeout(Math.min(replayTimeoutMs, backend.responseTimeoutMs)) });
    const { body, truncated } = await readBounded(res, maxBytes);
    const responseHeaders: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    // fetch decodes gzip/br itself: the bytes here are the decoded ones, so the encoding no longer applies.
    delete responseHeaders["content-encoding"];
    const response: CapturedResponse = { status: res.status, headers: responseHeaders, body, truncated };
    return { side: { ok: true, response }, ms: ms() };
  } catch (error) {
    const e = error as Error;
    return { side: { ok: false, error: e.name === "TimeoutError" ? `no answer within ${Math.min(replayTimeoutMs, backend.responseTimeoutMs)} ms` : e.message }, ms: ms() };
  }
}
