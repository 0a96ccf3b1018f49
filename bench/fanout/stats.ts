import { median, percentile } from '../../src/core/percentile.js';

export { median, percentile } from '../../src/core/percentile.js';

/** The per-stream distribution kept in the JSON results (all samples would be megabytes). */
export function distribution(values: readonly number[]): Record<string, number> {
  const qs: Array<[string, number]> = [
    ['min', 0],
    ['p10', 0.1],
    ['p25', 0.25],
    ['p50', 0.5],
    ['p75', 0.75],
    ['p90', 0.9],
    ['p95', 0.95],
    ['p99', 0.99],
    ['p99.9', 0.999],
    ['max', 1],
  ];
  return Object.fromEntries(qs.map(([k, q]) => [k, round(percentile(values, q), 3)]));
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median and range across runs. */
export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
