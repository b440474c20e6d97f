/** Shadowed requests by outcome, summed over routes: what a shadowed setup really did under the load. */
export interface ShadowOutcomes {
  readonly compared: number;
  readonly skipped: number;
  /** Skips by reason (overload, aborted, response_too_large...). */
  readonly reasons: Record<string, number>;
}

/** A proxy's shadow outcomes so far, scraped from its admin port's /metrics (both benches print them). */
export async function shadowOutcomes(adminPort: number): Promise<ShadowOutcomes> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let compared = 0;
  let skipped = 0;
  const reasons: Record<string, number> = {};
  for (const [, outcome, n] of text.matchAll(/^strangler_shadow_comparisons_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)$/gm)) {
    if (outcome === "skipped") skipped += Number(n);
    else compared += Number(n);
  }
  for (const [, reason, n] of text.matchAll(/^strangler_shadow_skipped_total\{[^}]*reason="(\w+)"[^}]*\} (\d+)$/gm)) {
    if (Number(n) > 0) reasons[reason as string] = (reasons[reason as string] ?? 0) + Number(n);
  }
  return { compared, skipped, reasons };
}
