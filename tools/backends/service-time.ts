// How long an in-house request takes. A request's `?ms=` (or the backend's default) sets the mean; an
// optional uniform jitter or lognormal spread makes the host look like a real one. Seeded, so a
// benchmark run can be repeated.
import { Rng } from '../../src/sim/prng.js';

export interface ServiceTimeOptions {
  /** ± this many ms, uniform. Ignored when cv is set. */
  jitterMs?: number;
  /** Coefficient of variation of a lognormal around the mean (e.g. 0.5). */
  cv?: number;
  seed?: number;
}

/** Service times are clamped to this so a typo in `?ms=` cannot park a slot for hours. */
export const MAX_SERVICE_MS = 300_000;

export function serviceTimeSampler(opts: ServiceTimeOptions = {}): (meanMs: number) => number {
  const rng = new Rng(opts.seed ?? 1);
  const cv = opts.cv ?? 0;
  const jitter = opts.jitterMs ?? 0;
  return (meanMs) => {
    if (!(meanMs > 0)) return 0;
    let ms = meanMs;
    if (cv > 0) ms = rng.lognormal(meanMs, cv);
    else if (jitter > 0) ms = meanMs + (2 * rng.uniform() - 1) * jitter;
    return Math.min(MAX_SERVICE_MS, Math.max(0, ms));
  };
}
