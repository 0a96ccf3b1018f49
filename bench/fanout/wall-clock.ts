/**
 * Epoch milliseconds with sub-millisecond resolution. The benchmark compares stamps taken in two
 * processes on the same machine (Spillway's publish, the load client's ACK), so both use this.
 */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
