import { isIdentifierLike } from "./segments.ts";

/** The bounds of a template trie. */
export interface TrieLimits {
  /** Nodes in the trie; a path that would need more is not folded (counted as overflow). */
  readonly maxNodes: number;
  /** Distinct literal segments at one position before the position becomes `:param`. */
  readonly maxLiterals: number;
  /** Segments kept; the rest of a deeper path becomes `/*`. */
  readonly maxDepth: number;
}

interface Node {
  literals: Map<string, Node> | undefined;
  param: Node | undefined;
  /** Too many distinct literals were seen here: every segment at this position is a parameter now. */
  collapsed: boolean;
}

const newNode = (): Node => ({ literals: undefined, param: undefined, collapsed: false });

/**
 * Folds request paths into endpoint templates, online and in bounded memory: identifier-like segments
 * are parameters at once (segments.ts); a position that sees more than `maxLiterals` distinct literals
 * collapses into a parameter (its literal subtrees merged into the parameter's); at `maxNodes` a path
 * that needs a new node is refused (undefined) and the caller counts it as overflow. Parameters are named
 * `:id`, `:id2`, … from the left, so a template is valid in routes.config.ts as it is.
 */
export class TemplateTrie {
  readonly #root = newNode();
  #nodes = 1;
  /** Templates of the positions that collapsed, as `/a/b` (the prefix whose next segment is a parameter). */
  readonly collapsedPrefixes = new Set<string>();

  constructor(private readonly limits: TrieLimits) {}

  get size(): number {
    return this.#nodes;
  }

  /** Marks `prefix` (a template) collapsed, as another process found it: its literals are parameters from now on. */
  collapse(prefix: string): void {
    const node = this.#walk(prefix, true);
    if (node) this.#collapseNode(node, prefix);
  }

  /** The template of `path` (a normalised path, or a template), or undefined when the trie is full. */
  fold(path: string): string | undefined {
    if (path === "/" || path === "") return "/";
    const segments = path.slice(1).split("/");
    const deep = segments.length > this.limits.maxDepth;
    const kept = deep ? segments.slice(0, this.limits.maxDepth) : segments;
    if (deep || kept[kept.length - 1] === "*") {
      if (!deep) kept.pop();
    }
    let node = this.#root;
    let template = "";
    let params = 0;
    for (const segment of kept) {
      const next = this.#child(node, segment, template);
      if (!next) return undefined;
      node = next.node;
      if (next.param) template += `/:id${++params === 1 ? "" : params}`;
      else template += `/${segment}`;
    }
    return deep || segments[segments.length - 1] === "*" ? `${template}/*` : template;
  }

  #child(node: Node, segment: string, prefix: string): { node: Node; param: boolean } | undefined {
    if (node.collapsed || isIdentifierLike(segment)) {
      if (!node.param) {
        if (this.#nodes >= this.limits.maxNodes) return undefined;
        node.param = newNode();
        this.#nodes++;
      }
      return { node: node.param, param: true };
    }
    const found = node.literals?.get(segment);
    if (found) return { node: found, param: false };
    if ((node.literals?.size ?? 0) >= this.limits.maxLiterals) {
      this.#collapseNode(node, prefix || "/");
      return this.#child(node, segment, prefix);
    }
    if (this.#nodes >= this.limits.maxNodes) return undefined;
    const created = newNode();
    (node.literals ??= new Map()).set(segment, created);
    this.#nodes++;
    return { node: created, param: false };
  }

  /** Merges every literal subtree of `node` into its parameter subtree, freeing the merged nodes. */
  #collapseNode(node: Node, prefix: string): void {
    this.collapsedPrefixes.add(prefix === "" ? "/" : prefix);
    if (node.collapsed) return;
    node.collapsed = true;
    const literals = node.literals;
    node.literals = undefined;
    if (!literals || literals.size === 0) return;
    if (!node.param) {
      node.param = newNode();
      this.#nodes++;
    }
    for (const child of literals.values()) this.#merge(node.param, child);
  }

  /** Moves `from`'s subtree into `into`, counting each node that `into` already had as freed. */
  #merge(into: Node, from: Node): void {
    this.#nodes--; // `from` itself is folded into `into`
    into.collapsed ||= from.collapsed;
    if (from.param) {
      if (into.param) this.#merge(into.param, from.param);
      else into.param = from.param;
    }
    for (const [segment, child] of from.literals ?? []) {
      if (into.collapsed) {
        if (into.param) this.#merge(into.param, child);
        else into.param = child;
        continue;
      }
      const existing = into.literals?.get(segment);
      if (existing) this.#merge(existing, child);
      else (into.literals ??= new Map()).set(segment, child);
    }
  }

  /** The node at `template` (params as parameters), created when `create`; undefined when full. */
  #walk(template: string, create: boolean): Node | undefined {
    if (template === "/" || template === "") return this.#root;
    let node = this.#root;
    let prefix = "";
    let params = 0;
    for (const segment of template.slice(1).split("/")) {
      if (!create) return undefined;
      const next = this.#child(node, segment, prefix);
      if (!next) return undefined;
      node = next.node;
      prefix += next.param ? `/:id${++params === 1 ? "" : params}` : `/${segment}`;
    }
    return node;
  }
}
