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
  /** The template of a path ending here, as of trie generation `generation` (a collapse changes templates). */
  template: string | undefined;
  generation: number;
}

const newNode = (): Node => ({ literals: undefined, param: undefined, collapsed: false, template: undefined, generation: -1 });

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
  /** Bumped by every collapse: cached templates older than it are built again. */
  #generation = 0;
  /** Set by #child: whether the node it returned is a parameter. */
  #wasParam = false;
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
    // The walk scans the path in place (no split), and a path ending at a node already seen reuses its
    // template: the common request costs a map lookup per segment (npm run bench measures the whole).
    let node = this.#root;
    let start = 1;
    let depth = 0;
    let rest = false;
    while (start <= path.length) {
      let end = path.indexOf("/", start);
      if (end === -1) end = path.length;
      const segment = path.slice(start, end);
      if (depth === this.limits.maxDepth || (segment === "*" && end === path.length)) {
        rest = true;
        break;
      }
      const next = this.#child(node, segment, undefined);
      if (!next) return undefined;
      node = next;
      depth++;
      start = end + 1;
      if (end === path.length) break;
    }
    if (!rest && node.template !== undefined && node.generation === this.#generation) return node.template;
    const template = this.#templateOf(path, rest);
    if (template !== undefined && !rest) {
      node.template = template;
      node.generation = this.#generation;
    }
    return template;
  }

  /** Builds the template of `path` segment by segment (the slow path, once per node and generation). */
  #templateOf(path: string, rest: boolean): string | undefined {
    const segments = path.slice(1).split("/");
    const kept = segments.slice(0, this.limits.maxDepth);
    if (rest && kept[kept.length - 1] === "*" && segments.length <= this.limits.maxDepth) kept.pop();
    let node = this.#root;
    let template = "";
    let params = 0;
    for (const segment of kept) {
      const next = this.#child(node, segment, template);
      if (!next) return undefined;
      node = next;
      template += this.#wasParam ? `/:id${++params === 1 ? "" : params}` : `/${segment}`;
    }
    return rest ? `${template}/*` : template;
  }

  #child(node: Node, segment: string, prefix: string | undefined): Node | undefined {
    // A known literal first: the common case costs one map lookup, no pattern (literals are never id-like).
    const known = node.literals?.get(segment);
    if (known) {
      this.#wasParam = false;
      return known;
    }
    if (node.collapsed || isIdentifierLike(segment)) {
      if (!node.param) {
        if (this.#nodes >= this.limits.maxNodes) return undefined;
        node.param = newNode();
        this.#nodes++;
      }
      this.#wasParam = true;
      return node.param;
    }
    if ((node.literals?.size ?? 0) >= this.limits.maxLiterals) {
      // The prefix is only known on the slow path; the fast walk rebuilds it there.
      this.#collapseNode(node, prefix ?? this.#prefixOf(node));
      return this.#child(node, segment, prefix);
    }
    if (this.#nodes >= this.limits.maxNodes) return undefined;
    const created = newNode();
    (node.literals ??= new Map()).set(segment, created);
    this.#nodes++;
    this.#wasParam = false;
    return created;
  }

  /** The template of the path leading to `node` (searched from the root: only on a collapse, which is rare). */
  #prefixOf(target: Node): string {
    const search = (node: Node, prefix: string, params: number): string | undefined => {
      if (node === target) return prefix;
      for (const [segment, child] of node.literals ?? []) {
        const found = search(child, `${prefix}/${segment}`, params);
        if (found !== undefined) return found;
      }
      return node.param ? search(node.param, `${prefix}/:id${params + 1 === 1 ? "" : params + 1}`, params + 1) : undefined;
    };
    return search(this.#root, "", 0) ?? "";
  }

  /** Merges every literal subtree of `node` into its parameter subtree, freeing the merged nodes. */
  #collapseNode(node: Node, prefix: string): void {
    this.collapsedPrefixes.add(prefix === "" ? "/" : prefix);
    if (node.collapsed) return;
    node.collapsed = true;
    this.#generation++;
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
      node = next;
      prefix += this.#wasParam ? `/:id${++params === 1 ? "" : params}` : `/${segment}`;
    }
    return node;
  }
}
