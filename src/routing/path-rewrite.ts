import { normalizeRequestTarget } from "./normalize-path.ts";
import { isValidPathTemplate, parsePathTemplate, type TemplateSegment } from "./path-template.ts";

/**
 * A route's rewrite of the path its target is sent (the monolith always gets the client's): strip a
 * prefix, replace one, or map the route's parameters into a template of the service's own paths.
 */
export interface PathRewriteConfig {
  readonly stripPrefix?: string | undefined;
  readonly replacePrefix?: { readonly from: string; readonly to: string } | undefined;
  readonly path?: string | undefined;
}

/** Maps a request's normalised path (one that matched the route) to the path its target is sent. */
export type PathRewrite = (path: string) => string;

/** Whether `prefix` is written as a plain path of literal segments: `/api`, `/v2/catalog` (or `/`, when `rootAllowed`). */
function literalPathProblem(prefix: string, rootAllowed: boolean): string | undefined {
  if (prefix === "/") return rootAllowed ? undefined : `must name at least one segment, got "/"`;
  if (prefix.endsWith("/")) return `must not end with "/", got ${JSON.stringify(prefix)}`;
  const problem = isValidPathTemplate(prefix);
  if (problem) return problem;
  if (parsePathTemplate(prefix).some((s) => s.kind !== "literal")) return `must be literal segments (no ":param" or "*"), got ${JSON.stringify(prefix)}`;
  return undefined;
}

/** Whether the route's pattern starts with the literal segments of `prefix`, so every path it matches does. */
function patternStartsWith(pattern: readonly TemplateSegment[], prefix: string): boolean {
  const wanted = parsePathTemplate(prefix);
  return wanted.every((segment, i) => {
    const own = pattern[i];
    return own?.kind === "literal" && segment.kind === "literal" && own.value === segment.value;
  });
}

/** A path the route matches, its parameters and rest filled with `x`: what the load-time checks rewrite. */
function samplePath(pattern: readonly TemplateSegment[]): string {
  return `/${pattern.map((s) => (s.kind === "literal" ? s.value : "x")).join("/")}`;
}

/**
 * Why a rewrite cannot be applied to every path of the route's pattern, or undefined when it can: a
 * prefix the pattern does not start with, a parameter it does not have, a rest it does not catch, or a
 * result the proxy's own normaliser would read as another path.
 */
export function pathRewriteProblem(matchPath: string, rewrite: PathRewriteConfig): { readonly key: string; readonly message: string } | undefined {
  const pattern = parsePathTemplate(matchPath);
  const forms = (["stripPrefix", "replacePrefix", "path"] as const).filter((k) => rewrite[k] !== undefined);
  if (forms.length > 1) return { key: forms[1] as string, message: `cannot be set beside ${forms[0] as string}: a rewrite is one of stripPrefix, replacePrefix or path` };
  if (rewrite.stripPrefix !== undefined || rewrite.replacePrefix !== undefined) {
    const key = rewrite.stripPrefix !== undefined ? "stripPrefix" : "replacePrefix.from";
    const prefix = rewrite.stripPrefix ?? (rewrite.replacePrefix as { from: string }).from;
    const problem = literalPathProblem(prefix, false);
    if (problem) return { key, message: problem };
    if (!patternStartsWith(pattern, prefix)) return { key, message: `the route's path ${JSON.stringify(matchPath)} does not start with ${JSON.stringify(prefix)}: the rewrite would not apply to its requests` };
    if (rewrite.replacePrefix) {
      const toProblem = literalPathProblem(rewrite.replacePrefix.to, true);
      if (toProblem) return { key: "replacePrefix.to", message: toProblem };
    }
  }
  if (rewrite.path !== undefined) {
    const problem = isValidPathTemplate(rewrite.path);
    if (problem) return { key: "path", message: problem };
    const names = new Set(pattern.flatMap((s) => (s.kind === "param" ? [s.name] : [])));
    for (const segment of parsePathTemplate(rewrite.path)) {
      if (segment.kind === "param" && !names.has(segment.name)) {
        return { key: "path", message: `uses :${segment.name}, which the route's path ${JSON.stringify(matchPath)} does not have${names.size ? ` (it has ${[...names].map((n) => `:${n}`).join(", ")})` : ""}` };
      }
      if (segment.kind === "wildcard" && pattern[pattern.length - 1]?.kind !== "wildcard") {
        return { key: "path", message: `ends with "/*", but the route's path ${JSON.stringify(matchPath)} catches no rest to carry` };
      }
    }
  }
  const rewritten = compilePathRewrite(matchPath, rewrite)?.(samplePath(pattern));
  if (rewritten !== undefined) {
    const read = normalizeRequestTarget(rewritten);
    if (!read.ok || read.path !== rewritten) return { key: forms[0] ?? "path", message: `would send ${JSON.stringify(rewritten)}, which the proxy itself would read as ${read.ok ? JSON.stringify(read.path) : `invalid (${read.reason})`}` };
  }
  return undefined;
}

/** What the template's segments take: a literal, the request's segment at an index, or its rest from an index. */
type Part = { readonly literal: string } | { readonly segment: number } | { readonly restFrom: number };

/**
 * The route's rewrite as a function, or undefined when it has none. Assumes `pathRewriteProblem` found
 * nothing (validated at load) and that the paths given matched `matchPath`.
 */
export function compilePathRewrite(matchPath: string, rewrite: PathRewriteConfig | undefined): PathRewrite | undefined {
  if (!rewrite) return undefined;
  if (rewrite.stripPrefix !== undefined) return replacePrefix(rewrite.stripPrefix, "");
  if (rewrite.replacePrefix !== undefined) return replacePrefix(rewrite.replacePrefix.from, rewrite.replacePrefix.to === "/" ? "" : rewrite.replacePrefix.to);
  if (rewrite.path === undefined) return undefined;
  const pattern = parsePathTemplate(matchPath);
  const indexOf = new Map(pattern.flatMap((s, i) => (s.kind === "param" ? [[s.name, i] as const] : [])));
  const rest = pattern.length - 1;
  const parts: Part[] = parsePathTemplate(rewrite.path).map((s) => {
    if (s.kind === "literal") return { literal: s.value };
    if (s.kind === "param") return { segment: indexOf.get(s.name) as number };
    return { restFrom: rest };
  });
  return (path) => {
    const segments = path.slice(1).split("/");
    let out = "";
    for (const part of parts) {
      if ("literal" in part) out += `/${part.literal}`;
      else if ("segment" in part) out += `/${segments[part.segment] as string}`;
      else {
        // `/*` matches zero segments too: then the template's rest adds nothing, not a trailing "/".
        const restOf = segments.slice(part.restFrom).join("/");
        if (restOf !== "" || segments.length > part.restFrom) out += `/${restOf}`;
      }
    }
    return out === "" ? "/" : out;
  };
}

/** Replaces the literal prefix `from` (whole segments) of every path by `to` ("" to strip it). */
function replacePrefix(from: string, to: string): PathRewrite {
  const length = from.length;
  return (path) => {
    const rewritten = to + path.slice(length);
    return rewritten === "" ? "/" : rewritten;
  };
}
