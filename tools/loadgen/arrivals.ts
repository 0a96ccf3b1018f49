// Open-loop Poisson arrivals for a scenario, from a seeded PRNG: the same seed gives the same arrival
// times (and so the same count), whatever the target does. Non-homogeneous Poisson by time rescaling:
// unit-rate exponential gaps in Λ(t) = ∫rate, mapped back through each segment's quadratic Λ.
import type { Scenario } from './scenarios.js';

/** Arrival times in seconds from the start, ascending, ending with the scenario. */
export function* poissonArrivals(scenario: Scenario, random: () => number): Generator<number> {
  let gap = unitExp(random);
  for (const seg of scenario.segments) {
    const length = seg.endS - seg.startS;
    const a = seg.fromRps;
    const k = (seg.toRps - seg.fromRps) / length; // slope: Λ(τ) = aτ + kτ²/2 within the segment
    const total = a * length + (k * length * length) / 2;
    let used = 0;
    while (used + gap <= total) {
      used += gap;
      yield seg.startS + solveTau(a, k, used);
      gap = unitExp(random);
    }
    gap -= total - used;
  }
}

/** τ with aτ + kτ²/2 = x, in the cancellation-free form (also right for k = 0). */
function solveTau(a: number, k: number, x: number): number {
  const denom = a + Math.sqrt(Math.max(0, a * a + 2 * k * x));
  return denom > 0 ? (2 * x) / denom : 0;
}

function unitExp(random: () => number): number {
  return -Math.log(1 - random());
}
