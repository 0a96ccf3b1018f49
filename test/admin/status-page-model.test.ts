import { describe, expect, it } from 'vitest';
import { MAX_ENVOY_ROWS, envoyRow, pageFrame, serviceView } from '../../src/admin/status-page/page-model.js';
import { SplitHistory } from '../../src/admin/status-page/split-history.js';
import type { EnvoyNode } from '../../src/generated/spillway/admin/v1/EnvoyNode.js';
import type { State } from '../../src/generated/spillway/admin/v1/State.js';
import { service, state } from '../cli/fixtures.js';

const node = (id: string, statuses: string[], nack?: { detail: string; at: number }): EnvoyNode => ({
  node_id: id,
  node_cluster: 'edge',
  replica: 'cp-1:18000',
  protocol: 'DELTA',
  user_agent: 'envoy 1.40.0',
  types: ['CDS', 'EDS', 'LDS', 'RDS'].map((t, i) => ({
    xds_type: t as 'CDS',
    status: statuses[i] as 'SYNCED',
    acked_version: `v${i}abcdef0123`,
    acked_at_unix_ms: 1000 + i,
    ...(statuses[i] !== 'SYNCED' ? { out_of_sync_since_unix_ms: 500 + i } : {}),
    ...(nack && i === 2 ? { last_nack: { version: 'x', nonce: 'n', detail: nack.detail, at_unix_ms: nack.at } } : {}),
  })),
});

describe('status page model (pure)', () => {
  it('a service: split, mode and source in words, the reason, override with what the controller would do', () => {
    const s = service({
      source: 'OVERRIDE',
      service_mode: 'MODE_OVERRIDE',
      reason: 'operator override',
      override: { share: 0.6, reason: 'test', set_at_unix_ms: 0, expires_at_unix_ms: 9_000, remaining_ms: 9_000 },
      decision: {
        decision_policy: 'POLICY_DEFAULT',
        decision_mode: 'MODE_FAIL_SAFE',
        reason: 'Modal unobservable',
        weights: null,
        shares: { in_house: 1, modal: 0, dropped: 0 },
        at_unix_ms: 0,
        inputs: [],
      },
    });
    const v = serviceView(s);
    expect(v).toMatchObject({
      name: 'echo',
      mode: 'override',
      source: 'override',
      reason: 'operator override',
      split: { inHouse: 0.7, modal: 0.3, shed: 0 },
      override: { share: 0.6, reason: 'test', expiresAtMs: 9_000 },
      decision: { mode: 'fail-safe', reason: 'Modal unobservable', modal: 0 },
      modal: { observed: true, polled: true, containers: 3, backlog: 2, statsAgeMs: 1200 },
      cost: { dollarsPerHour: 0.6372, dollarsToday: 0.004, dollarsSinceStart: 1.5 },
      inHouse: { utilization: 0.95, capacity: 8, endpoints: [{ health: 'HEALTHY' }, { endpoint: '10.0.0.2:80', health: 'DRAINING' }] },
    });
    // No override: the decision is the reason already, not repeated. No price: no cost.
    expect(serviceView(service()).decision).toBeNull();
    expect(serviceView(service({ modal_cost: null })).cost).toBeNull();
  });

  it('an Envoy row: worst status, last ACK, when it went out of sync, the newest NACK', () => {
    const r = envoyRow(node('e1', ['SYNCED', 'STALE', 'ERROR', 'SYNCED'], { detail: 'duplicate address', at: 700 }));
    expect(r).toMatchObject({
      node: 'e1',
      protocol: 'delta',
      worst: 'ERROR',
      lastAckMs: 1003,
      outOfSyncSinceMs: 501,
      lastNack: { type: 'LDS', detail: 'duplicate address', atMs: 700 },
      types: { LDS: { status: 'ERROR', version: 'v2abcdef0123' } },
    });
    expect(envoyRow(node('e2', ['SYNCED', 'SYNCED', 'SYNCED', 'NOT_SENT'])).worst).toBe('NOT_SENT');
  });

  it('a frame lists the worst Envoys first, at most MAX_ENVOY_ROWS, and counts them all', () => {
    const envoys = Array.from({ length: MAX_ENVOY_ROWS + 5 }, (_, i) =>
      node(`e${String(i).padStart(3, '0')}`, ['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']),
    );
    envoys.push(node('z-bad', ['SYNCED', 'ERROR', 'SYNCED', 'SYNCED']), node('y-stale', ['STALE', 'SYNCED', 'SYNCED', 'SYNCED']));
    const st: State = { ...state([service()]), envoys };
    const f = pageFrame(st, { echo: [[1, 1, 0, 0]] });
    expect(f.envoys.total).toBe(MAX_ENVOY_ROWS + 7);
    expect(f.envoys.byStatus).toEqual({ SYNCED: MAX_ENVOY_ROWS + 5, ERROR: 1, STALE: 1 });
    expect(f.envoys.rows.map((r) => r.node).slice(0, 3)).toEqual(['z-bad', 'y-stale', 'e000']);
    expect(f.envoys.rows).toHaveLength(MAX_ENVOY_ROWS);
    expect(f.points).toEqual({ echo: [st.at_unix_ms, 0.7, 0.3, 0] });
    expect(f.history).toEqual({ echo: [[1, 1, 0, 0]] });
    expect(f.replica).toBe('cp-1:18000');
    expect(f.cause).toBe('decision');
  });

  it('the split history keeps changes at once, steady points at the resolution, and only the window', () => {
    const h = new SplitHistory({ windowMs: 10_000, resolutionMs: 1_000 });
    h.add('echo', [0, 1, 0, 0]);
    h.add('echo', [300, 1, 0, 0]);
    h.add('echo', [400, 0.7, 0.3, 0]);
    h.add('echo', [200, 0, 1, 0]); // older than the last point: ignored
    h.add('echo', [1_500, 0.7, 0.3, 0]);
    expect(h.snapshot()['echo']).toEqual([
      [0, 1, 0, 0],
      [400, 0.7, 0.3, 0],
      [1_500, 0.7, 0.3, 0],
    ]);
    h.add('echo', [12_000, 0.7, 0.3, 0]);
    expect(h.snapshot()['echo']!.map((p) => p[0])).toEqual([12_000]);
    h.add('gone', [12_000, 1, 0, 0]);
    h.retain(new Set(['echo']));
    expect(Object.keys(h.snapshot())).toEqual(['echo']);
  });
});
