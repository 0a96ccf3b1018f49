// The one percentile definition Spillway, its tools and its benchmarks use: nearest rank on the exact
// samples, so p50 ≤ p90 ≤ p99 ≤ max always holds and every value reported is one that really happened.

/** Nearest-rank percentile (q in 0–1) of samples already sorted ascending; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** Nearest-rank percentile (q in 0–1) of unsorted samples (sorts a copy); NaN when empty. */
export function percentile(samples: readonly number[], q: number): number {
  return percentileSorted(Float64Array.from(samples).sort(), q);
}

export const median = (samples: readonly number[]): number => percentile(samples, 0.5);
