// When an Envoy may be asked for its next load report early (a decision's second look at demand):
// one rule, for the LRS server and for the simulator that models it.

export interface EarlyReportAsk {
  afterMs: number;
  /** The usual report interval (lrs.interval_ms). */
  intervalMs: number;
  /** The shortest report window accepted (lrs.limits.min_report_interval_ms; 0: none). */
  minWindowMs: number;
  /** An early report asked for has not come yet. */
  pending: boolean;
  /** When this Envoy was last asked; undefined: never. */
  lastAskedAtMs: number | undefined;
  nowMs: number;
}

/**
 * Shorter than the interval, not below the accepted windows, none pending, and not sooner than one
 * early window after the last ask (a report that crossed the ask on the wire clears `pending` early).
 * An early report may itself ask again: a step that begins just before the answer to an ask made
 * on noise must not wait a whole interval, which once-per-interval made it do.
 */
export function mayAskEarlyReport(a: EarlyReportAsk): boolean {
  if (a.afterMs >= a.intervalMs || a.afterMs < a.minWindowMs || a.pending) return false;
  return a.lastAskedAtMs === undefined || a.nowMs - a.lastAskedAtMs >= a.afterMs;
}
