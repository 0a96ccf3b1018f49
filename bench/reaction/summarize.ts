// Reaction runs → distributions per configuration: total (input → Envoy's workers), each stage,
// and the median / spread of per-run p50 and p99 across runs.
import type { ReactionRun } from './run-reaction.js';
import { breakdown, dist, median, STAGES, type Dist, type Stage } from './stats.js';

export interface ConfigSummary {
  label: string;
  runs: number;
  changes: number;
  /** Reactions that never reached Envoy's workers within the window (excluded from the stats). */
  unmatched: number;
  perRun: Array<{ p50: number; p99: number; n: number }>;
  total: Dist;
  /** Input → the last EDS update of the reaction applied (slewed moves take several). */
  settled: Dist;
  stages: Record<Stage, Dist>;
  /** Envoy accepted (main thread) → workers: the merge window when it bites. */
  mergedApplies: number;
  medianP50: number;
  p50Spread: [number, number];
  medianP99: number;
  p99Spread: [number, number];
}

export function summarize(label: string, runs: readonly ReactionRun[]): ConfigSummary {
  const totals: number[] = [];
  const settled: number[] = [];
  const stages = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as Record<Stage, number[]>;
  const perRun: ConfigSummary['perRun'] = [];
  let unmatched = 0;
  let merged = 0;
  let changes = 0;
  for (const run of runs) {
    const mine: number[] = [];
    for (const c of run.changes) {
      changes++;
      const b = breakdown(c.first);
      if (!b || c.first.applied === undefined) {
        unmatched++;
        continue;
      }
      const total = c.first.applied - c.first.input;
      mine.push(total);
      totals.push(total);
      if (c.mergedApply) merged++;
      for (const s of STAGES) stages[s].push(b[s]);
      if (c.settled?.applied !== undefined) settled.push(c.settled.applied - c.first.input);
    }
    const d = dist(mine);
    perRun.push({ p50: d.p50, p99: d.p99, n: d.n });
  }
  const p50s = perRun.map((r) => r.p50);
  const p99s = perRun.map((r) => r.p99);
  return {
    label,
    runs: runs.length,
    changes,
    unmatched,
    perRun,
    total: dist(totals),
    settled: dist(settled),
    stages: Object.fromEntries(STAGES.map((s) => [s, dist(stages[s])])) as Record<Stage, Dist>,
    mergedApplies: merged,
    medianP50: median(p50s),
    p50Spread: [Math.min(...p50s), Math.max(...p50s)],
    medianP99: median(p99s),
    p99Spread: [Math.min(...p99s), Math.max(...p99s)],
  };
}

const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '—');

export function markdown(summaries: readonly ConfigSummary[]): string {
  const lines: string[] = [];
  lines.push(
    '| configuration | runs × changes | p50 ms (median, min–max over runs) | p99 ms (median, min–max) | pooled p50 / p99 / max | settled p50 / p99 | merged applies | unmatched |',
  );
  lines.push('|---|---|---|---|---|---|---:|---:|');
  for (const s of summaries) {
    lines.push(
      `| ${s.label} | ${s.runs} × ${s.changes / Math.max(1, s.runs)} | ${f(s.medianP50)} (${f(s.p50Spread[0])}–${f(s.p50Spread[1])}) | ${f(s.medianP99)} (${f(s.p99Spread[0])}–${f(s.p99Spread[1])}) | ${f(s.total.p50)} / ${f(s.total.p99)} / ${f(s.total.max)} | ${f(s.settled.p50)} / ${f(s.settled.p99)} | ${s.mergedApplies} | ${s.unmatched} |`,
    );
  }
  lines.push('');
  lines.push('| configuration | stage | p50 ms | p90 ms | p99 ms | max ms |');
  lines.push('|---|---|---:|---:|---:|---:|');
  const one = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '—');
  for (const s of summaries) {
    for (const st of STAGES) {
      const d = s.stages[st];
      lines.push(`| ${s.label} | ${st} | ${one(d.p50)} | ${one(d.p90)} | ${one(d.p99)} | ${one(d.max)} |`);
    }
  }
  return lines.join('\n');
}
