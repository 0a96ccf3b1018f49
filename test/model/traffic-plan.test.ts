import { describe, expect, it } from 'vitest';
import { planForShare, tierShares } from '../../src/model/traffic-plan.js';

describe('shares from a plan', () => {
  it('splits by locality weight after the up-front drop', () => {
    expect(tierShares(planForShare(0.25))).toEqual({ inHouse: 0.75, modal: 0.25, dropped: 0 });
    const s = tierShares({ ...planForShare(0.5), dropPercent: 20 });
    expect(s.dropped).toBeCloseTo(0.2);
    expect(s.modal).toBeCloseTo(0.4);
    expect(s.inHouse).toBeCloseTo(0.4);
  });
  it('a DEGRADED Modal endpoint (soft-cordon while draining) takes no steady-state share', () => {
    expect(tierShares({ ...planForShare(0.3), modalHealth: 'DEGRADED' }).modal).toBe(0);
  });
  it('a service without Modal sends everything in-house whatever the weights say', () => {
    expect(tierShares(planForShare(0.3), false)).toEqual({ inHouse: 1, modal: 0, dropped: 0 });
  });
});

describe('the one quantiser', () => {
  it('never drops a Modal locality that has a share, and never gives in-house a weight of 0', () => {
    expect(planForShare(0.0004)).toMatchObject({ inHouseWeight: 999, modalWeight: 1 });
    expect(planForShare(1)).toMatchObject({ inHouseWeight: 1, modalWeight: 999 });
    expect(planForShare(0)).toMatchObject({ inHouseWeight: 1000, modalWeight: 0, modalHealth: 'HEALTHY' });
    expect(planForShare(0, 'DEGRADED')).toMatchObject({ modalWeight: 0, modalHealth: 'HEALTHY' });
    expect(planForShare(Number.NaN, 'HEALTHY', 12.345)).toEqual({
      inHouseWeight: 1000,
      modalWeight: 0,
      modalHealth: 'HEALTHY',
      dropPercent: 12.3,
    });
  });
});
