import { describe, expect, it } from 'vitest';
import { renderPlain, renderState } from '../../src/cli/render-watch.js';
import type { Replication__Output } from '../../src/generated/spillway/admin/v1/Replication.js';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';

const member = (id: string, leader = false) => ({ replica_id: id, xds: `${id}:18000`, admin: `${id}:18081`, leader, same_config: true });

const state = (replication: Replication__Output | null): State__Output => ({
  at_unix_ms: Date.UTC(2025, 0, 1, 12, 0, 5),
  state_cause: 'CAUSE_REPLICATION',
  services: [
    {
      name: 'echo',
      source: 'CONTROLLER',
      weights: { in_house: 700, modal: 300, modal_endpoint_health: 'HEALTHY', drop_percent: 0 },
      shares: { in_house: 0.7, modal: 0.3, dropped: 0 },
      service_mode: 'MODE_SPILLING',
      reason: 'spilling',
      decision: null,
      override: null,
      modal_stats: null,
      load: null,
      in_house: [],
      in_house_capacity: 8,
      in_house_healthy_fraction: 1,
      endpoint_sources: [],
      modal_addresses: [],
      in_house_utilization: 0.5,
      offered_rps: 40,
      controlled: true,
      modal_cost: null,
    } as State__Output['services'][number],
  ],
  envoys: [],
  publisher: { published: 1, unchanged: 0, rejected: 0, last_errors: [] },
  replication,
  connected_streams: 0,
  replica_id: replication?.replica_id ?? '',
});

const opts = { width: 200, admin: 'spillway-2:18081', color: false };

describe('watch rendering of a replica', () => {
  it('says which replica leads, and when this one is degraded', () => {
    const following = state({
      replica_id: 'spillway-2',
      leader_id: 'spillway-1',
      is_leader: false,
      fencing_token: '42',
      etcd_connected: true,
      degraded: '',
      members: [member('spillway-1', true), member('spillway-2'), member('spillway-3')],
    });
    expect(renderState(following, opts)[1]).toBe('replica spillway-2 of 3 · leader spillway-1');
    expect(renderPlain(following)[0]).toContain(' leader=spillway-1 replica=spillway-2 ');

    const leading = state({ ...following.replication!, leader_id: 'spillway-2', is_leader: true });
    expect(renderState(leading, opts)[1]).toBe('replica spillway-2 of 3 · leader spillway-2 (this replica)');

    const cut = state({ ...following.replication!, leader_id: '', etcd_connected: false, degraded: 'etcd unreachable for 12 s' });
    expect(renderState(cut, opts)[1]).toBe('replica spillway-2 of 3 · leader none · DEGRADED: etcd unreachable for 12 s');
    expect(renderPlain(cut)[0]).toContain(' leader=- ');
  });

  it('shows nothing of the kind for a single Spillway', () => {
    expect(renderState(state(null), opts)[1]).toBe('');
    expect(renderPlain(state(null))[0]).not.toContain('leader=');
  });
});
