// States as the admin API sends them, for the CLI's pure rendering tests.
import type { ServiceState__Output } from '../../src/generated/spillway/admin/v1/ServiceState.js';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';

export const service = (over: Partial<ServiceState__Output> = {}): ServiceState__Output => ({
  name: 'echo',
  source: 'CONTROLLER',
  weights: { in_house: 700, modal: 300, modal_endpoint_health: 'HEALTHY', drop_percent: 0 },
  shares: { in_house: 0.7, modal: 0.3, dropped: 0 },
  service_mode: 'MODE_SPILLING',
  reason: 'in-house at 95% of capacity; spilling the overflow',
  decision: null,
  override: null,
  modal_stats: { observed: true, looked_up: true, runners: 3, backlog: 2, consecutive_failures: 0, last_error: '', age_ms: 1200 },
  load: { reported: true, in_house: null, modal: null, dropped_rps: 0, reporters: 1 },
  in_house: [
    {
      endpoint: '10.0.0.1:80',
      capacity: 8,
      health: 'HEALTHY',
      serving: 'HOST_SERVING',
      serving_fraction: 1,
      probe: 'PROBE_VERDICT_UNSPECIFIED',
    },
    {
      endpoint: '10.0.0.2:80',
      capacity: 8,
      health: 'DRAINING',
      serving: 'HOST_SERVING',
      serving_fraction: 1,
      probe: 'PROBE_VERDICT_UNSPECIFIED',
    },
  ],
  in_house_capacity: 8,
  in_house_healthy_fraction: 1,
  endpoint_sources: [],
  modal_addresses: [],
  in_house_utilization: 0.95,
  offered_rps: 42.5,
  controlled: true,
  modal_cost: {
    price_per_container_second: 0.000059,
    dollars_per_hour: 0.6372,
    dollars_since_start: 1.5,
    dollars_today: 0.004,
    container_seconds_since_start: 25_424,
    since_unix_ms: 0,
  },
  ...over,
});

export const state = (services: ServiceState__Output[]): State__Output => ({
  at_unix_ms: Date.UTC(2025, 0, 1, 12, 0, 5),
  state_cause: 'CAUSE_DECISION',
  services,
  envoys: [
    {
      node_id: 'e1',
      node_cluster: 'c',
      stream_id: 1,
      types: [{ xds_type: 'CDS', status: 'SYNCED', current_version: 'v', sent_version: 'v', acked_version: 'v', last_nack: null }],
      replica: 'cp-1:18000',
      protocol: 'SOTW',
      user_agent: 'envoy 1.40.0',
      connected_at_unix_ms: Date.UTC(2025, 0, 1, 11, 0, 0),
    },
  ],
  publisher: { published: 3, unchanged: 0, rejected: 0, last_errors: [] },
  connected_streams: 1,
  replica_id: 'cp-1:18000',
  replication: null,
});
