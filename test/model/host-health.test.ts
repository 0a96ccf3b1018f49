import { describe, expect, it } from 'vitest';
import { servingCapacity } from '../../src/model/cordons.js';
import { fleetHealth, HostVerdict, inHouseHealthyFraction, judgeEnvoy, type EndpointCounts } from '../../src/model/host-health.js';

const fleet = [
  { address: '10.0.0.1', port: 80, capacity: 8 },
  { address: '10.0.0.2', port: 80, capacity: 8 },
  { address: '10.0.0.3', port: 80, capacity: 8 },
];
const report = (localityIssued: number, endpoints: Record<string, EndpointCounts>) => ({
  nodeId: 'e1',
  localityIssued,
  endpoints: new Map(Object.entries(endpoints)),
});
const ok = (n: number): EndpointCounts => ({ issued: n, success: n, error: 0 });

describe('host verdicts from per-endpoint load', () => {
  it('a host Envoy sends nothing while its peers are busy is UNUSED; one answering only errors is FAILING', () => {
    const v = judgeEnvoy(
      fleet,
      new Map(),
      report(60, { '10.0.0.1:80': ok(30), '10.0.0.2:80': { issued: 30, success: 0, error: 30 } }),
      undefined,
    );
    expect(Object.fromEntries([...v].map(([k, j]) => [k, j.verdict]))).toEqual({
      '10.0.0.1:80': 'SERVING',
      '10.0.0.2:80': 'FAILING',
      '10.0.0.3:80': 'UNUSED',
    });
  });

  it('too little traffic to tell keeps the previous verdict until quiet windows add up; any success makes a host SERVING again', () => {
    const prev = new Map([['10.0.0.3:80', { verdict: HostVerdict.Unused, quietExpected: 9 }]]);
    const quiet = judgeEnvoy(fleet, new Map(), report(3, { '10.0.0.1:80': ok(2), '10.0.0.2:80': ok(1) }), prev);
    expect(quiet.get('10.0.0.3:80')?.verdict).toBe('UNUSED');
    // 9 requests per window, 3 expected at each host: a silent host is UNUSED after the second window.
    const w1 = judgeEnvoy(fleet, new Map(), report(9, { '10.0.0.1:80': ok(5), '10.0.0.2:80': ok(4) }), undefined);
    expect(w1.get('10.0.0.3:80')).toEqual({ verdict: 'SERVING', quietExpected: 3 });
    const w2 = judgeEnvoy(fleet, new Map(), report(9, { '10.0.0.1:80': ok(5), '10.0.0.2:80': ok(4) }), w1);
    expect(w2.get('10.0.0.3:80')?.verdict).toBe('UNUSED');
    expect(w2.get('10.0.0.1:80')).toEqual({ verdict: 'SERVING', quietExpected: 0 });
    const back = judgeEnvoy(fleet, new Map(), report(3, { '10.0.0.3:80': ok(1) }), prev);
    expect(back.get('10.0.0.3:80')).toEqual({ verdict: 'SERVING', quietExpected: 0 });
  });

  it('with max_rps on every host, traffic is expected by rate as Envoy splits it: a slow host quiet for a window is not UNUSED', () => {
    const rated = [
      { address: '10.0.0.1', port: 80, capacity: 8, maxRps: 300 },
      { address: '10.0.0.2', port: 80, capacity: 8, maxRps: 5 },
    ];
    // 60 requests: by slots 30 were expected at the slow host, by rate 1 — one quiet window says nothing.
    const v = judgeEnvoy(rated, new Map(), report(60, { '10.0.0.1:80': ok(60) }), undefined);
    expect(v.get('10.0.0.2:80')?.verdict).toBe('SERVING');
    expect(v.get('10.0.0.2:80')?.quietExpected).toBeCloseTo(1, 0);
  });

  it('a host published since the Envoy last reported is not judged quiet on the next report (its window may predate the host)', () => {
    const before = judgeEnvoy(fleet.slice(0, 2), new Map(), report(40, { '10.0.0.1:80': ok(20), '10.0.0.2:80': ok(20) }), undefined);
    const next = judgeEnvoy(fleet, new Map(), report(40, { '10.0.0.1:80': ok(20), '10.0.0.2:80': ok(20) }), before);
    expect(next.get('10.0.0.3:80')).toEqual({ verdict: 'SERVING', quietExpected: 0 });
    // From the report after, a silent host adds up as any other.
    expect(
      judgeEnvoy(fleet, new Map(), report(40, { '10.0.0.1:80': ok(20), '10.0.0.2:80': ok(20) }), next).get('10.0.0.3:80')?.verdict,
    ).toBe('UNUSED');
  });

  it('cordoned hosts are not judged (Spillway took them out itself)', () => {
    const v = judgeEnvoy(
      fleet,
      new Map([['10.0.0.3:80', 'DRAINING' as const]]),
      report(60, { '10.0.0.1:80': ok(30), '10.0.0.2:80': ok(30) }),
      undefined,
    );
    expect(v.has('10.0.0.3:80')).toBe(false);
    expect([...v.values()].map((j) => j.verdict)).toEqual(['SERVING', 'SERVING']);
  });

  it('capacity and the healthy fraction count a host in proportion to the Envoys that use it', () => {
    const health = fleetHealth([
      new Map([
        ['10.0.0.1:80', HostVerdict.Serving],
        ['10.0.0.3:80', HostVerdict.Unused],
      ]),
      new Map([
        ['10.0.0.1:80', HostVerdict.Serving],
        ['10.0.0.3:80', HostVerdict.Serving],
      ]),
    ]);
    expect(health.get('10.0.0.3:80')).toEqual({ servingFraction: 0.5, eligibleFraction: 0.5, verdict: 'UNUSED' });
    expect(servingCapacity(fleet, new Map(), health)).toBe(8 + 8 + 4);
    expect(inHouseHealthyFraction(fleet, new Map(), health)).toBeCloseTo(2.5 / 3);
    // DRAINING leaves the denominator, DEGRADED stays in it (as Envoy counts them).
    expect(inHouseHealthyFraction(fleet, new Map([['10.0.0.2:80', 'DRAINING' as const]]))).toBe(1);
    expect(inHouseHealthyFraction(fleet, new Map([['10.0.0.2:80', 'DEGRADED' as const]]))).toBeCloseTo(2 / 3);
    expect(servingCapacity(fleet, new Map([['10.0.0.2:80', 'DEGRADED' as const]]), health)).toBe(8 + 4);
  });
});
