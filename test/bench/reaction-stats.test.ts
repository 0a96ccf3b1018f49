import { describe, expect, it } from 'vitest';
import { breakdown, dist, median, percentile } from '../../bench/reaction/stats.js';

describe('reaction benchmark helpers', () => {
  it('nearest-rank percentiles and the median', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 0.5)).toBe(3);
    expect(percentile(xs, 0.99)).toBe(5);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([], 0.5)).toBeNaN();
    expect(median([1, 2, 3, 4])).toBe(2); // nearest rank: a value that really happened
    expect(dist(xs)).toEqual({ n: 5, p50: 3, p90: 5, p99: 5, max: 5 });
  });

  it('splits a reaction into stages that add up to the total', () => {
    const s = { input: 1000, receipt: 1400, decision: 1550, publish: 1553, sent: 1554, ack: 1558, applied: 1560 };
    const b = breakdown(s)!;
    expect(b).toEqual({ wait_input: 400, wait_tick: 150, decide_build: 3, push: 1, envoy_ack: 4, apply: 2 });
    expect(Object.values(b).reduce((a, v) => a + v, 0)).toBe(s.applied - s.input);
  });

  it('clamps the whole-ms decision stamp and the poller seeing the workers before the ACK', () => {
    const b = breakdown({ input: 0, receipt: 100.6, decision: 100, publish: 102, sent: 103, ack: 110, applied: 108 })!;
    expect(b.wait_tick).toBe(0);
    expect(b.apply).toBe(0);
  });

  it('is undefined while a stage is missing', () => {
    expect(breakdown({ input: 0, receipt: 10 })).toBeUndefined();
  });
});
