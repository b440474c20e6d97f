/** One line per difference: `type_changed $.items[0].price: 4.99 → "4.99"`. */
export function readableDiff(differences: unknown): string[] {
  if (!Array.isArray(differences)) return [];
  return differences.map((d: { path?: string; kind?: string; left?: string; right?: string }) => {
    const values = d.left !== undefined || d.right !== undefined ? `: ${d.left ?? "(absent)"} → ${d.right ?? "(absent)"}` : "";
    return `${d.kind} ${d.path}${values}`;
  });
}
