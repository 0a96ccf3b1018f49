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
