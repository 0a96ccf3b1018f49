// Pure helpers: the per-stage breakdown of one reaction and its distribution.
import { percentile } from '../../src/core/percentile.js';

export { median, percentile } from '../../src/core/percentile.js';

/** The stamps of one input change, ms on one clock; a missing stage is undefined. */
export interface Stamps {
  input: number;
  receipt?: number;
  decision?: number;
  publish?: number;
  sent?: number;
  ack?: number;
  /** Envoy's main thread took the EDS update (update_success moved). */
  accepted?: number;
  /** The workers run the new host set (cluster_updated or _via_merge moved). */
  applied?: number;
}

export const STAGES = ['wait_input', 'wait_tick', 'decide_build', 'push', 'envoy_ack', 'apply'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Consecutive differences: waiting for the next poll/report, waiting for the controller tick,
 * deciding + building/validating/encoding the snapshot, the ADS send, Envoy's ACK (it ACKs once the main thread applied the
 * response), and ACK → workers running it (the update_merge_window, when it bites).
 */
export function breakdown(s: Stamps): Record<Stage, number> | undefined {
  const { input, receipt, decision, publish, sent, ack, applied } = s;
  if ([receipt, decision, publish, sent, ack, applied].some((v) => v === undefined)) return undefined;
  return {
    wait_input: receipt! - input,
    // Decision.atMs is whole ms: clamp the sub-ms disorder with the receipt stamp.
    wait_tick: Math.max(0, decision! - receipt!),
    decide_build: Math.max(0, publish! - decision!),
    push: sent! - publish!,
    envoy_ack: ack! - sent!,
    // The poller can see the workers' update a few ms before the ACK event lands on our loop.
    apply: Math.max(0, applied! - ack!),
  };
}

export interface Dist {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function dist(samples: readonly number[]): Dist {
  const r = (v: number): number => Math.round(v * 10) / 10;
  return {
    n: samples.length,
    p50: r(percentile(samples, 0.5)),
    p90: r(percentile(samples, 0.9)),
    p99: r(percentile(samples, 0.99)),
    max: r(percentile(samples, 1)),
  };
}
