// The simulator's Envoy model against figures measured on a real Envoy 1.40 (two localities at
// 500/500, locality a with three hosts, b with one; 1,500 requests per case). The live comparison
// runs in test/integration/envoy-conformance.test.ts.
import { describe, expect, it } from 'vitest';
import { trafficShares, type HostHealth, type ModelAssignment } from '../../src/sim/envoy-model.js';

const cell = (aHealth: HostHealth[], opf = 140, drop = 0): ModelAssignment => ({
  localities: [
    { name: 'a', weight: 500, hosts: aHealth.map((health, i) => ({ id: `a${i}`, health })) },
    { name: 'b', weight: 500, hosts: [{ id: 'b0', health: 'HEALTHY' }] },
  ],
  dropPercent: drop,
  overprovisioningFactor: opf,
});

describe('Envoy model', () => {
  it.each([
    ['all healthy', cell(['HEALTHY', 'HEALTHY', 'HEALTHY']), 0.5],
    ['one UNHEALTHY', cell(['HEALTHY', 'HEALTHY', 'UNHEALTHY']), 466.7 / 966.7],
    ['one DEGRADED (gets nothing: healthy availability is 100 %)', cell(['HEALTHY', 'HEALTHY', 'DEGRADED']), 466.7 / 966.7],
    ['one DRAINING (excluded, not counted)', cell(['HEALTHY', 'HEALTHY', 'DRAINING']), 0.5],
    ['two UNHEALTHY', cell(['HEALTHY', 'UNHEALTHY', 'UNHEALTHY']), 233.3 / 733.3],
    ['one UNHEALTHY, overprovisioning 100', cell(['HEALTHY', 'HEALTHY', 'UNHEALTHY'], 100), 0.4],
  ])('%s: locality a gets what Envoy measured', (_name, a, share) => {
    expect(trafficShares(a).byLocality['a']).toBeCloseTo(share, 3);
  });

  it('drops first, then splits what is left by locality weight (measured 0.411 / 0.4125 / 0.176 at 40 %, 700/300)', () => {
    const s = trafficShares({
      localities: [
        { name: 'in-house', weight: 700, hosts: [{ id: 'i', health: 'HEALTHY' }] },
        { name: 'modal', weight: 300, hosts: [{ id: 'm', health: 'HEALTHY' }] },
      ],
      dropPercent: 40,
    });
    expect(s.dropped).toBeCloseTo(0.4);
    expect(s.byLocality['in-house']).toBeCloseTo(0.42);
    expect(s.byLocality['modal']).toBeCloseTo(0.18);
  });

  it('degraded hosts take only what healthy availability cannot', () => {
    // Two healthy of three counted: healthy availability 1.4 × 2/3 = 93.3 %; the degraded host gets 6.7 %.
    const s = trafficShares({
      localities: [
        {
          name: 'in-house',
          weight: 700,
          hosts: [
            { id: 'a', health: 'HEALTHY' },
            { id: 'b', health: 'DEGRADED' },
          ],
        },
        { name: 'modal', weight: 300, hosts: [{ id: 'm', health: 'HEALTHY' }] },
      ],
      dropPercent: 0,
    });
    expect(s.byHost['b']).toBeCloseTo(1 - (1.4 * 2) / 3, 3);
    expect(s.byHost['a']! + s.byHost['m']!).toBeCloseTo((1.4 * 2) / 3, 3);
    expect(s.byHost['a']! / s.byHost['m']!).toBeCloseTo(490 / 300, 3);
  });
});
