interface DifferenceLike {
  readonly path?: string;
  readonly kind?: string;
  readonly left?: string;
  readonly right?: string;
}

/** Where a difference is, in words: the status line, a header, or the JSON path in the body. */
export function differencePlace(d: DifferenceLike): string {
  if (d.kind === "status") return "HTTP status";
  if (d.kind === "error") return "no answer from one side";
  if (d.path?.startsWith("header:")) return `${d.kind} header ${d.path.slice("header:".length)}`;
  return `${d.kind} ${d.path}`;
}

/**
 * One line per difference, monolith's value first: `type_changed $.items[0].price: 4.99 → "4.99"`,
 * `HTTP status: 200 → 500`, `changed header etag: "a" → "b"`.
 */
export function readableDiff(differences: unknown): string[] {
  if (!Array.isArray(differences)) return [];
  return differences.map((d: DifferenceLike) => {
    const values = d.left !== undefined || d.right !== undefined ? `: ${d.left ?? "(absent)"} → ${d.right ?? "(absent)"}` : "";
    return `${differencePlace(d)}${values}`;
  });
}
