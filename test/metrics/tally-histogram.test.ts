import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TallyHistogram } from '../../src/metrics/tally-histogram.js';

const BUCKETS = [0.005, 0.05, 0.5, 5];

describe('TallyHistogram', () => {
  it('renders exactly what prom-client’s Histogram renders for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const tally = new TallyHistogram('x_seconds', 'help text', 'type', BUCKETS, ours);
    const reference = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['type'], buckets: BUCKETS, registers: [theirs] });
    const samples: Array<[string, number]> = [
      ['EDS', 0.001],
      ['EDS', 0.005],
      ['EDS', 0.0051],
      ['CDS', 0.4],
      ['EDS', 7],
      ['CDS', 5],
      ['EDS', 0.05],
    ];
    for (const [type, v] of samples) {
      tally.observe(type, v);
      reference.observe({ type }, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('is cleared by the registry’s resetMetrics and ignores non-finite values', async () => {
    const registry = new Registry();
    const tally = new TallyHistogram('y_seconds', 'h', 'type', BUCKETS, registry);
    tally.observe('EDS', Number.NaN);
    tally.observe('EDS', 1);
    expect(await registry.metrics()).toContain('y_seconds_count{type="EDS"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('y_seconds_count');
  });

  it('refuses buckets that do not increase', () => {
    expect(() => new TallyHistogram('z', 'h', 'type', [1, 1], new Registry())).toThrow(/buckets must increase/);
  });
});
