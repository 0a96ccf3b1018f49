// What Spillway's own probe says of one in-house host, as a threshold state machine like Envoy's
// active health check: so many passes in a row make a host up, so many failures down. Pure.
import type { HealthCheckConfig } from '../config/config-types.js';

export interface ProbeState {
  /** Undefined until the first threshold is crossed: nothing is claimed yet. */
  up?: boolean;
  /** When `up` last changed (ms on the caller's clock). */
  sinceMs: number;
  /** Passes (> 0) or failures (< 0) in a row. */
  streak: number;
}

export function nextProbeState(
  prev: ProbeState | undefined,
  passed: boolean,
  cfg: Pick<HealthCheckConfig, 'healthyThreshold' | 'unhealthyThreshold'>,
  nowMs: number,
): ProbeState {
  const before = prev ?? { sinceMs: nowMs, streak: 0 };
  const streak = passed ? Math.max(0, before.streak) + 1 : Math.min(0, before.streak) - 1;
  const crossed = passed ? streak >= cfg.healthyThreshold : -streak >= cfg.unhealthyThreshold;
  if (crossed && before.up !== passed) return { up: passed, sinceMs: nowMs, streak };
  return { ...before, streak };
}
