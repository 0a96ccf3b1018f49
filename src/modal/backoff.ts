/** Exponential backoff bounds. */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** The ceiling never grows past this. */
  maxMs: number;
}

/**
 * "Full jitter" backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniform draw in
 * [0, min(max, base * 2^(failures-1))]. Spreading retries over the whole window keeps many Spillways
 * that failed together from retrying together.
 */
export function fullJitterDelayMs(consecutiveFailures: number, policy: BackoffPolicy, random: () => number): number {
  return random() * backoffCeilingMs(consecutiveFailures, policy);
}

/** The upper bound of the jittered delay after the given number of consecutive failures. */
export function backoffCeilingMs(consecutiveFailures: number, policy: BackoffPolicy): number {
  const exp = Math.max(0, consecutiveFailures - 1);
  // 2^exp overflows to Infinity for long outages; min() keeps the result finite.
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exp, 52));
}
