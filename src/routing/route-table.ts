import type { IncomingHttpHeaders } from "node:http";
import type { RouteConfig } from "../config/schema.ts";
import { parsePathTemplate } from "./path-template.ts";
import { compilePathRewrite, type PathRewrite } from "./path-rewrite.ts";

/** A route prepared for matching: methods as a set, header names lower-cased. */
export interface CompiledRoute {
  readonly id: string;
  readonly config: RouteConfig;
  /** null claims every method. */
  readonly methods: ReadonlySet<string> | null;
  readonly headers: ReadonlyArray<readonly [name: string, value: string | true]>;
  /** Position in the config file: ties between equally specific routes go to the earlier one. */
  readonly order: number;
  /** The path the route's target is sent for a matched path (its `rewrite`); undefined without one. */
  readonly targetPath: PathRewrite | undefined;
}

interface TrieNode {
  readonly literals: Map<string, TrieNode>;
  param: TrieNode | undefined;
  /** Routes whose template ends exactly at this node. */
  readonly exact: CompiledRoute[];
  /** Routes whose template ends with `/*` at this node. */
  readonly rest: CompiledRoute[];
}

/**
 * Resolves (method, path, headers) to the route that claims it, or undefined (the monolith's).
 *
 * Precedence, decided segment by segment from the left: a literal segment beats a `:param`,
 * which beats a trailing `*`. Among routes with the same template, those with header conditions are
 * tried first, then the order of the config file. Method and header conditions filter candidates;
 * when none at the most specific template qualifies, the next most specific one is tried.
 * The table is built once per config and never changes, so the same request always gets the same route.
 */
export interface RouteTable {
  readonly routes: readonly CompiledRoute[];
  match(method: string, path: string, headers: IncomingHttpHeaders): CompiledRoute | undefined;
}

function newNode(): TrieNode {
  return { literals: new Map(), param: undefined, exact: [], rest: [] };
}

function compileRoute(config: RouteConfig, order: number): CompiledRoute {
  const methods = config.match.methods === "*" ? null : new Set(config.match.methods);
  if (methods?.has("GET")) methods.add("HEAD"); // HEAD is GET without a body, as every backend treats it
  const headers = Object.entries(config.match.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const);
  return { id: config.id, config, methods, headers, order, targetPath: compilePathRewrite(config.match.path, config.rewrite) };
}

function byPrecedence(a: CompiledRoute, b: CompiledRoute): number {
  const aHeaders = a.headers.length > 0 ? 0 : 1;
  // Stryker disable next-line ConditionalExpression: equivalent under V8's sort, which compares each later-declared route against the earlier ones (the tests declare both orders)
  const bHeaders = b.headers.length > 0 ? 0 : 1;
  // Stryker disable next-line ArithmeticOperator: equivalent under V8's sort, as above
  return aHeaders - bHeaders || a.order - b.order;
}

function accepts(route: CompiledRoute, method: string, headers: IncomingHttpHeaders): boolean {
  if (route.methods !== null && !route.methods.has(method)) return false;
  for (const [name, expected] of route.headers) {
    const actual = headers[name];
    if (actual === undefined) return false;
    if (expected !== true && actual !== expected) return false;
  }
  return true;
}

function firstAccepting(routes: readonly CompiledRoute[], method: string, headers: IncomingHttpHeaders): CompiledRoute | undefined {
  for (const route of routes) if (accepts(route, method, headers)) return route;
  return undefined;
}

/** Builds the matching trie from validated routes. */
export function buildRouteTable(configs: readonly RouteConfig[]): RouteTable {
  const root = newNode();
  const routes = configs.map(compileRoute);
  for (const route of routes) {
    let node = root;
    const segments = parsePathTemplate(route.config.match.path);
    for (const segment of segments) {
      if (segment.kind === "wildcard") break;
      if (segment.kind === "param") {
        node.param ??= newNode();
        node = node.param;
      } else {
        let child = node.literals.get(segment.value);
        if (!child) node.literals.set(segment.value, (child = newNode()));
        node = child;
      }
    }
    const last = segments[segments.length - 1];
    // Stryker disable next-line OptionalChaining: equivalent — a parsed template has at least one segment
    (last?.kind === "wildcard" ? node.rest : node.exact).push(route);
  }
  const sortAll = (node: TrieNode): void => {
    node.exact.sort(byPrecedence);
    node.rest.sort(byPrecedence);
    for (const child of node.literals.values()) sortAll(child);
    if (node.param) sortAll(node.param);
  };
  sortAll(root);

  /**
   * The best route under `node` for the rest of `path`, whose next segment follows the '/' at `slash`
   * (-1: no segment left). The path is walked in place: splitting it made an array and a string per
   * segment on every request, where only the segments a node looks up need one.
   */
  function search(node: TrieNode, path: string, slash: number, method: string, headers: IncomingHttpHeaders): CompiledRoute | undefined {
    if (slash === -1) {
      return firstAccepting(node.exact, method, headers) ?? firstAccepting(node.rest, method, headers);
    }
    if (node.literals.size > 0 || node.param) {
      const next = path.indexOf("/", slash + 1);
      const segment = next === -1 ? path.slice(slash + 1) : path.slice(slash + 1, next);
      const literal = node.literals.get(segment);
      if (literal) {
        const found = search(literal, path, next, method, headers);
        if (found) return found;
      }
      if (node.param && segment !== "") {
        const found = search(node.param, path, next, method, headers);
        if (found) return found;
      }
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path — firstAccepting of no routes is undefined too
    return node.rest.length > 0 ? firstAccepting(node.rest, method, headers) : undefined;
  }

  return {
    routes,
    match(method, path, headers) {
      // `path` is normalised and starts with "/": its segments follow each '/' ("/" has one, empty).
      return search(root, path, 0, method, headers);
    },
  };
}
