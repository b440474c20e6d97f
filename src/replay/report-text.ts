import type { ReplayReport } from "./replay-report.ts";
import type { ReplayPlan } from "./replay-service.ts";

const ms = (v: number | null) => (v === null ? "-" : `${v} ms`);

function pacingText(p: ReplayPlan["pacing"]): string {
  switch (p.mode) {
    case "recorded":
      return p.factor === 1 ? "as recorded" : `as recorded × ${p.factor}`;
    case "rate":
      return `${p.perSecond} requests/s`;
    case "concurrency":
      return `${p.limit} in flight`;
  }
}

const recordingsText = (recordings: readonly number[], routes: readonly string[]) =>
  `recording${recordings.length === 1 ? "" : "s"} ${recordings.join(", ")} (route${routes.length === 1 ? "" : "s"} ${routes.join(", ")})`;

/** A dry run as a person reads it. */
export function planText(plan: ReplayPlan): string {
  return [
    `replay of ${recordingsText(plan.recordings, plan.routes)} against ${plan.target}${plan.sandbox ? " (sandbox)" : ""}: dry run, nothing sent`,
    `  requests:       ${plan.requests} of ${plan.exchanges} exchanges (${plan.reads} reads, ${plan.writes.sent} writes), ${plan.sessions} sessions`,
    `  writes skipped: ${plan.writes.skipped}${plan.writes.why ? ` (${plan.writes.why})` : ""}`,
    `  truncated:      ${plan.truncated} (bodies cut at recording.maxBodyBytes: not replayed)`,
    `  duration:       about ${plan.estimatedSeconds} s, paced ${pacingText(plan.pacing)}`,
    ...Object.entries(plan.authentication).map(([route, how]) => `  authentication: ${route}: ${how}`),
    ...(plan.freshMonolith ? [`  fresh monolith: ${plan.freshMonolith}`] : []),
  ].join("\n");
}

/** A run's report as a person reads it: the verdict first, then counts, latency, and each divergence with an example. */
export function reportText(r: ReplayReport): string {
  const c = r.counts;
  const lines = [
    `replay run ${r.run} of ${recordingsText(r.recordings, r.routes)} against ${r.target}${r.sandbox ? " (sandbox)" : ""}: ${r.status.toUpperCase()}`,
    `  ${r.verdict}`,
    `  judged ${c.matched + c.diverged + c.authFailures + c.timeouts + c.errors}: ${c.matched} matched, ${c.diverged} diverged, ${c.authFailures} authentication failures, ${c.timeouts} timeouts, ${c.errors} errors`,
    `  not judged: ${c.truncated} truncated, ${c.skippedWrites} writes skipped (not a sandbox), ${c.stale} stale (the monolith's answer changed since), ${c.flaky} flaky`,
    `  set aside: ${c.noiseDifferences} noise differences, ${c.correlatedFields} correlated id fields`,
    `  latency p50/p95/p99: candidate ${ms(r.latencyMs.candidate.p50)} / ${ms(r.latencyMs.candidate.p95)} / ${ms(r.latencyMs.candidate.p99)}; monolith as recorded ${ms(r.latencyMs.recorded.p50)} / ${ms(r.latencyMs.recorded.p95)} / ${ms(r.latencyMs.recorded.p99)}`,
    `  paced ${pacingText(r.pacing)}: ${r.pacing.windows.map((w) => `${w.perSecond}/s from ${w.fromS} s`).join(", ") || "nothing sent"}; ${Math.round(r.durationMs / 100) / 10} s`,
  ];
  for (const s of r.signatures) {
    const e = s.example;
    lines.push("", `  ${s.count} × ${s.kind === "status" ? "HTTP status" : `${s.kind} ${s.path}`}`);
    for (const d of s.diff.slice(0, 5)) lines.push(`      ${d}`);
    lines.push(`    e.g. exchange ${e.exchangeId}: ${e.method} ${e.path}${e.query ? `?${e.query}` : ""} → recorded ${e.recordedStatus}, candidate ${e.candidateStatus ?? "no answer"}`);
  }
  if (r.signaturesNotListed > 0) lines.push(`  … and ${r.signaturesNotListed} more signatures (replay.maxSignatures)`);
  for (const f of r.failures) {
    lines.push("", `  ${f.count} × ${f.kind.replace("_", " ")}`, `    e.g. exchange ${f.example.exchangeId}: ${f.example.method} ${f.example.path} → ${f.example.error ?? `candidate ${f.example.candidateStatus}, recorded ${f.example.recordedStatus}`}`);
  }
  if (r.flaky.length > 0) {
    lines.push("", `  flaky (the verdict changed since the last run against this target; not counted):`);
    for (const f of r.flaky) lines.push(`    exchange ${f.exchangeId}: ${f.method} ${f.path}: ${f.previous} → ${f.now}`);
  }
  return lines.join("\n");
}
