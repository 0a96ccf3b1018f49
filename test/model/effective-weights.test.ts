import { describe, expect, it } from 'vitest';
import { effectiveModalShare, localityHealthScale, weightsForShare } from '../../src/model/effective-weights.js';

// Measured on a real Envoy 1.40 (two localities, weights 500/500, 1,500 requests; in-house has three
// hosts): what fraction went to the other locality as in-house hosts turned UNHEALTHY/DEGRADED/DRAINING.
const MEASURED = [
  { what: 'all three healthy', healthy: 3 / 3, factor: 140, modal: 750 / 1500 },
  { what: 'one UNHEALTHY', healthy: 2 / 3, factor: 140, modal: 775 / 1500 },
  { what: 'one DEGRADED (counts like unhealthy)', healthy: 2 / 3, factor: 140, modal: 776 / 1500 },
  { what: 'one DRAINING (excluded from the denominator)', healthy: 2 / 2, factor: 140, modal: 750 / 1500 },
  { what: 'two UNHEALTHY', healthy: 1 / 3, factor: 140, modal: 1023 / 1500 },
  { what: 'one UNHEALTHY, overprovisioning 100', healthy: 2 / 3, factor: 100, modal: 901 / 1500 },
];

describe('effective locality weights (Envoy 1.40, measured)', () => {
  it.each(MEASURED)('$what: the model predicts the measured Modal share within 1 %', ({ healthy, factor, modal }) => {
    expect(Math.abs(effectiveModalShare({ inHouseWeight: 500, modalWeight: 500 }, healthy, factor) - modal)).toBeLessThan(0.01);
  });

  it('keeps a locality whole above 100/factor healthy, and scales it below', () => {
    expect(localityHealthScale(0.75)).toBe(1);
    expect(localityHealthScale(0.5)).toBeCloseTo(0.7);
    expect(localityHealthScale(0)).toBe(0);
  });
});

describe('weightsForShare', () => {
  it.each([
    { healthy: 2 / 3, share: 0.3 },
    { healthy: 1 / 3, share: 0.3 },
    { healthy: 1 / 3, share: 0.05 },
    { healthy: 1 / 10, share: 0.5 },
  ])('with $healthy healthy, Envoy runs the planned share $share', ({ healthy, share }) => {
    const plan = { modalWeight: Math.round(share * 1000), inHouseWeight: 1000 - Math.round(share * 1000) };
    const published = weightsForShare(plan, healthy);
    expect(effectiveModalShare(published, healthy)).toBeCloseTo(share, 3);
    // Uncorrected, Envoy would send Modal more than planned.
    expect(effectiveModalShare(plan, healthy)).toBeGreaterThan(share + 0.01);
  });

  it('changes nothing while the fleet is healthy enough, without Modal, or with no eligible host', () => {
    const plan = { inHouseWeight: 700, modalWeight: 300 };
    expect(weightsForShare(plan, 0.8)).toEqual(plan);
    expect(weightsForShare({ inHouseWeight: 1000, modalWeight: 0 }, 0.2)).toEqual({ inHouseWeight: 1000, modalWeight: 0 });
    expect(weightsForShare(plan, 0)).toEqual(plan);
  });

  it('uses the overprovisioning factor it is given (a soft-cordoned Modal publishes a huge one)', () => {
    const plan = { inHouseWeight: 700, modalWeight: 300 };
    expect(weightsForShare(plan, 1 / 3, 140_000)).toEqual(plan);
    expect(effectiveModalShare(weightsForShare(plan, 1 / 3, 100), 1 / 3, 100)).toBeCloseTo(0.3, 3);
  });
});
