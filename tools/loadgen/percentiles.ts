// Latency summaries, with the project's one percentile definition (src/core/percentile.ts).
import { percentileSorted } from '../../src/core/percentile.js';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** null when there are no samples. Sorts a copy; values in ms, rounded to 0.1 ms. */
export function summarizeLatencies(samples: readonly number[]): LatencySummary | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => round(percentileSorted(sorted, q));
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: round(sorted[sorted.length - 1]!),
    mean: round(sum / sorted.length),
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
