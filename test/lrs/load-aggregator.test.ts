import { describe, expect, it } from 'vitest';
import { LoadAggregator, type LoadSnapshot } from '../../src/lrs/load-aggregator.js';
import { UNCATEGORIZED_DROP_CATEGORY } from '../../src/lrs/load-report.js';
import { clusterStats, localityStats } from './report-builders.js';

const T0 = 1_700_000_000_000;

function aggregator(): LoadAggregator {
  const agg = new LoadAggregator({ expireAfterMs: 3000, disconnectGraceMs: 1000 });
  agg.setKnownServices(['api', 'search']);
  return agg;
}

function svc(snap: LoadSnapshot, name: string) {
  const s = snap.services.find((x) => x.service === name);
  if (!s) throw new Error(`no load for ${name}`);
  return s;
}

describe('LoadAggregator', () => {
  it('sums several Envoys, each rate over its own report window, gauges as latest values', () => {
    const agg = aggregator();
    agg.streamOpened('envoy-a', 1);
    agg.streamOpened('envoy-b', 2);
    agg.ingest(
      'envoy-a',
      1,
      [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { inProgress: 4, issued: 100, success: 90, errors: 10 } })],
      T0,
    );
    agg.ingest(
      'envoy-b',
      2,
      [
        clusterStats({
          cluster: 'api',
          windowMs: 2000,
          inHouse: { inProgress: 6, issued: 100, success: 100 },
          modal: { inProgress: 1, issued: 40, success: 40 },
        }),
      ],
      T0 + 200,
    );

    const api = svc(agg.snapshot(T0 + 500), 'api');
    expect(api.localities['in-house']).toMatchObject({ inProgress: 10, issuedRps: 150, successRps: 140, errorRps: 10, reporters: 2 });
    expect(api.localities.modal).toMatchObject({ inProgress: 1, issuedRps: 20, successRps: 20, errorRps: 0 });
    expect(api.reporters).toBe(2);
    expect(api.observedAtMs).toBe(T0 + 200);
    expect(api.oldestObservedAtMs).toBe(T0);
    expect(api.localities.modal.ageMs).toBe(300);
    // Counting noise of the offered rate: A counted 100 requests in 1 s (variance 100/1² rps²), B
    // 140 in 2 s (140/2²): √135 ≈ 11.6 rps, what a report must beat to be more than noise.
    expect(api.offeredNoiseRps).toBeCloseTo(Math.sqrt(135), 6);

    // A newer report from A replaces A's previous one; it is not added to it.
    agg.ingest(
      'envoy-a',
      1,
      [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { inProgress: 2, issued: 50, success: 50 } })],
      T0 + 1000,
    );
    expect(svc(agg.snapshot(T0 + 1000), 'api').localities['in-house']).toMatchObject({
      inProgress: 8,
      issuedRps: 100,
      successRps: 100,
      errorRps: 0,
    });
  });

  it('reads a locality left out of a report as idle, not as its previous value', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.ingest(
      'a',
      1,
      [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 10, success: 10 }, modal: { issued: 5, success: 5 } })],
      T0,
    );
    // Envoy omits localities with no success, error or in-progress requests.
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 10, success: 10 } })], T0 + 1000);
    const api = svc(agg.snapshot(T0 + 1000), 'api');
    expect(api.localities.modal).toMatchObject({ inProgress: 0, issuedRps: 0, successRps: 0, observedAtMs: T0 + 1000 });
    expect(api.localities['in-house'].issuedRps).toBe(10);
  });

  it('keeps a silent Envoy counted until its report expires, then forgets it', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.streamOpened('b', 2);
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 10 } })], T0);
    agg.ingest('b', 2, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 30 } })], T0);
    // A keeps reporting, B misses its reports.
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 10 } })], T0 + 2000);
    expect(svc(agg.snapshot(T0 + 2999), 'api').localities['in-house'].issuedRps).toBe(40);
    expect(agg.nextExpiryAtMs()).toBe(T0 + 3000);

    expect(svc(agg.snapshot(T0 + 3000), 'api').localities['in-house']).toMatchObject({ issuedRps: 10, reporters: 1 });
    expect(agg.expire(T0 + 3000)).toBe(true);
    expect(agg.expire(T0 + 3000)).toBe(false);

    // Once A goes silent too, the service has no live load at all.
    expect(agg.snapshot(T0 + 5000).services).toEqual([]);
    expect(agg.snapshot(T0 + 5000).connectedEnvoys).toBe(2);
  });

  it('takes a late report over its longer window and lets it replace the previous one', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 100, success: 100 } })], T0);
    // The next report is 1.5 s late and covers 2.5 s of traffic.
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 2500, inHouse: { issued: 250, success: 200, errors: 50 } })], T0 + 2500);
    expect(svc(agg.snapshot(T0 + 2500), 'api').localities['in-house']).toMatchObject({
      issuedRps: 100,
      successRps: 80,
      errorRps: 20,
      reporters: 1,
    });
  });

  it('does not double count an Envoy that reconnects, and ignores its old stream', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { inProgress: 3, issued: 10 } })], T0);
    agg.streamOpened('a', 7);
    agg.ingest('a', 7, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { inProgress: 5, issued: 20 } })], T0 + 1000);
    expect(svc(agg.snapshot(T0 + 1000), 'api').localities['in-house']).toMatchObject({ inProgress: 5, issuedRps: 20, reporters: 1 });

    // A report still in flight on the old stream, then its close, arrive late.
    const late = agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { inProgress: 99, issued: 99 } })], T0 + 1100);
    expect(late).toEqual({ accepted: 0, rejected: ['superseded-stream'] });
    agg.streamClosed('a', 1, T0 + 1200);
    const snap = agg.snapshot(T0 + 2500);
    expect(svc(snap, 'api').localities['in-house']).toMatchObject({ inProgress: 5, issuedRps: 20 });
    expect(snap.connectedEnvoys).toBe(1);
    expect(snap.rejected['superseded-stream']).toBe(1);
  });

  it('holds a disconnected Envoy for the grace period only, and resumes it on reconnect', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 10 } })], T0);
    agg.streamClosed('a', 1, T0 + 500);
    expect(svc(agg.snapshot(T0 + 1499), 'api').localities['in-house'].issuedRps).toBe(10);
    expect(agg.snapshot(T0 + 1500).services).toEqual([]);
    expect(agg.snapshot(T0 + 1500).connectedEnvoys).toBe(0);
    expect(agg.expire(T0 + 1500)).toBe(true);

    agg.streamOpened('a', 2);
    agg.ingest('a', 2, [clusterStats({ cluster: 'api', windowMs: 2000, inHouse: { issued: 40 } })], T0 + 2000);
    expect(svc(agg.snapshot(T0 + 2000), 'api').localities['in-house'].issuedRps).toBe(20);
  });

  it('counts and ignores malformed or absurd report parts, keeping the valid rest', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    const result = agg.ingest(
      'a',
      1,
      [
        clusterStats({ cluster: 'not-a-service', windowMs: 1000, inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'api', windowMs: 1000, seconds: '-1', inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'api', windowMs: null, inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'api', windowMs: 0, inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'api', windowMs: 1000, seconds: '86400', inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: -5 } }),
        clusterStats({ cluster: 'api', windowMs: 1000, totalDropped: 'lots' }),
        clusterStats({
          cluster: 'search',
          windowMs: 1000,
          inHouse: { issued: 7 },
          extraLocalities: [localityStats('modal', { zone: 'elsewhere', issued: 1000 })],
        }),
      ],
      T0,
    );
    expect(result.accepted).toBe(1);
    expect([...result.rejected].sort()).toEqual(
      [
        'bad-counter',
        'bad-counter',
        'bad-interval',
        'bad-interval',
        'bad-interval',
        'bad-interval',
        'unknown-cluster',
        'unknown-locality',
      ].sort(),
    );
    const snap = agg.snapshot(T0);
    expect(snap.services.map((s) => s.service)).toEqual(['search']);
    expect(svc(snap, 'search').localities['in-house'].issuedRps).toBe(7);
    expect(svc(snap, 'search').localities.modal.issuedRps).toBe(0);
    expect(snap.rejected).toMatchObject({ 'unknown-cluster': 1, 'bad-interval': 4, 'bad-counter': 2, 'unknown-locality': 1 });
    expect(agg.ingest('a', 1, [], T0).accepted).toBe(0);
  });

  it('rejects counts no Envoy can produce: in flight above the circuit breaker, rates above the ceiling, windows out of bounds', () => {
    const agg = new LoadAggregator({
      expireAfterMs: 3000,
      disconnectGraceMs: 1000,
      limits: { minWindowMs: 100, maxWindowMs: 60_000, maxRps: 10_000, maxInProgress: 1000 },
    });
    agg.setKnownServices(['api']);
    agg.streamOpened('a', 1);
    const result = agg.ingest(
      'a',
      1,
      [
        clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { inProgress: 600 }, modal: { inProgress: 401 } }),
        clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 9_000 }, totalDropped: 1_001 }),
        clusterStats({ cluster: 'api', windowMs: 500, inHouse: { issued: 5_001 } }),
        clusterStats({ cluster: 'api', windowMs: 50, inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'api', windowMs: 61_000, inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: '18446744073709551615' as never } }),
      ],
      T0,
    );
    expect(result.accepted).toBe(0);
    expect(result.rejected).toEqual([
      'in-progress-over-circuit-breaker',
      'rate-over-ceiling',
      'rate-over-ceiling',
      'bad-interval',
      'bad-interval',
      'bad-counter',
    ]);
    expect(agg.snapshot(T0).services).toEqual([]);
    // At the limits exactly, a report is believed.
    const ok = agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { inProgress: 1000, issued: 10_000 } })], T0);
    expect(ok.accepted).toBe(1);
  });

  it('reports drops per category, with uncategorised drops as circuit breaking', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.streamOpened('b', 2);
    agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 2000, totalDropped: 30, dropped: { spillway_overload: 20 } })], T0);
    agg.ingest('b', 2, [clusterStats({ cluster: 'api', windowMs: 1000, totalDropped: 4 })], T0);
    const drops = svc(agg.snapshot(T0 + 100), 'api').drops;
    expect(drops).toMatchObject({
      service: 'api',
      droppedRps: 19,
      byCategory: { spillway_overload: 10, [UNCATEGORIZED_DROP_CATEGORY]: 9 },
      observedAtMs: T0,
      ageMs: 100,
    });
  });

  it('sums priorities of a locality and clusters sharing an EDS service name', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.ingest(
      'a',
      1,
      [
        clusterStats({
          cluster: 'api',
          windowMs: 1000,
          inHouse: { issued: 10, inProgress: 1 },
          extraLocalities: [localityStats('in-house', { priority: 1, issued: 5, inProgress: 2 })],
        }),
        clusterStats({ cluster: 'api-canary', serviceName: 'api', windowMs: 1000, inHouse: { issued: 1 } }),
      ],
      T0,
    );
    expect(svc(agg.snapshot(T0), 'api').localities['in-house']).toMatchObject({ issuedRps: 16, inProgress: 3, reporters: 1 });
  });

  it('drops the load of services that are no longer configured', () => {
    const agg = aggregator();
    agg.streamOpened('a', 1);
    agg.ingest(
      'a',
      1,
      [
        clusterStats({ cluster: 'api', windowMs: 1000, inHouse: { issued: 1 } }),
        clusterStats({ cluster: 'search', windowMs: 1000, inHouse: { issued: 1 } }),
      ],
      T0,
    );
    expect(agg.setKnownServices(['search'])).toBe(true);
    expect(agg.snapshot(T0).services.map((s) => s.service)).toEqual(['search']);
    expect(agg.ingest('a', 1, [clusterStats({ cluster: 'api', windowMs: 1000 })], T0).rejected).toEqual(['unknown-cluster']);
  });
});
