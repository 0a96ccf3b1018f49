import { describe, expect, it } from 'vitest';
import { renderCordon, renderServiceAfter } from '../../src/cli/render-mutation.js';
import { nodeJson, renderNodeDetail, renderStatusTable, statusJson, table } from '../../src/cli/render-status.js';
import type { ClientConfig__Output } from '../../src/generated/envoy/service/status/v3/ClientConfig.js';
import type { EnvoyNode__Output } from '../../src/generated/spillway/admin/v1/EnvoyNode.js';
import type { TypeSync__Output } from '../../src/generated/spillway/admin/v1/TypeSync.js';
import { service, state } from './fixtures.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 5);
const sync = (xds_type: TypeSync__Output['xds_type'], over: Partial<TypeSync__Output> = {}): TypeSync__Output => ({
  xds_type,
  status: 'SYNCED',
  current_version: '3fd423421cdfe2df',
  sent_version: '3fd423421cdfe2df',
  acked_version: '3fd423421cdfe2df',
  last_nack: null,
  sent_at_unix_ms: NOW - 4_000,
  acked_at_unix_ms: NOW - 3_900,
  publish_to_ack_ms: 12,
  ...over,
});
const envoy = (node_id: string, types: TypeSync__Output[], over: Partial<EnvoyNode__Output> = {}): EnvoyNode__Output => ({
  node_id,
  node_cluster: 'edge',
  stream_id: 7,
  types,
  replica: 'cp-1:18000',
  protocol: 'SOTW',
  user_agent: 'envoy 1.40.0',
  connected_at_unix_ms: NOW - 600_000,
  ...over,
});

const nacking = envoy(
  'envoy-b',
  [
    sync('CDS'),
    sync('EDS', { acked_version: '8dbc6da6b3fc0797', acked_at_unix_ms: NOW - 1_000 }),
    sync('LDS', {
      status: 'ERROR',
      acked_version: '7d67b867ba8def75',
      out_of_sync_since_unix_ms: NOW - 65_000,
      last_nack: {
        version: 'aaaabbbbccccdddd',
        nonce: 'n',
        detail: 'Error adding/updating listener(s) echo2:\nduplicate address',
        at_unix_ms: NOW - 60_000,
      },
    }),
    sync('RDS'),
  ],
  { protocol: 'DELTA' },
);

describe('status rendering (pure)', () => {
  it('one line per Envoy: node, cluster, replica, per-type status and running version, last ACK, agent, last NACK', () => {
    const s = { ...state([service()]), envoys: [envoy('envoy-a', [sync('CDS'), sync('EDS'), sync('LDS'), sync('RDS')]), nacking] };
    const lines = renderStatusTable(s, NOW);
    expect(lines[0]).toMatch(/^NODE +CLUSTER +REPLICA +XDS +CDS +EDS +LDS +RDS +LAST ACK +ENVOY +LAST NACK$/);
    expect(lines[1]).toMatch(
      /^envoy-a +edge +cp-1:18000 +sotw +SYNCED 3fd42342 +SYNCED 3fd42342 +SYNCED 3fd42342 +SYNCED 3fd42342 +3\.9s ago +1\.40\.0 +-$/,
    );
    expect(lines[2]).toMatch(
      /^envoy-b .* delta .* ERROR 7d67b867 .* 1\.0s ago +1\.40\.0 +LDS 1m00s ago: Error adding\/updating listener\(s\) echo2: duplicate address$/,
    );
    // Columns line up.
    expect(lines[1]!.indexOf('SYNCED')).toBe(lines[0]!.indexOf('CDS'));
    expect(renderStatusTable({ ...state([]), envoys: [] }, NOW)).toEqual(['no Envoy is connected to cp-1:18000']);
    expect(statusJson(s)).toEqual({ replica_id: 'cp-1:18000', at_unix_ms: s.at_unix_ms, envoys: s.envoys });
  });

  it("one Envoy's detail: per type, every NACK in full, and its resources from CSDS", () => {
    const csds: ClientConfig__Output = {
      node: null,
      xds_config: [],
      client_scope: '',
      generic_xds_configs: [
        {
          type_url: 'type.googleapis.com/envoy.config.listener.v3.Listener',
          name: 'echo2',
          version_info: '',
          xds_config: null,
          last_updated: null,
          config_status: 'ERROR',
          client_status: 'NACKED',
          error_state: {
            details: 'duplicate address',
            version_info: 'aaaabbbbccccdddd',
            failed_configuration: null,
            last_update_attempt: null,
          },
          is_static_resource: false,
        },
      ],
    };
    const lines = renderNodeDetail(nacking, csds, NOW);
    expect(lines[0]).toBe('node envoy-b  cluster edge  envoy 1.40.0');
    expect(lines[1]).toBe('replica cp-1:18000  delta ADS stream 7, connected 10m00s ago');
    expect(lines).toContainEqual(expect.stringMatching(/^LDS +ERROR +7d67b867 +3fd42342 +3fd42342 4\.0s ago +3\.9s ago +12ms +for 1m05s$/));
    expect(lines).toContain('last LDS NACK 1m00s ago (rejected aaaabbbb):');
    expect(lines).toContain('  duplicate address');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}LDS +echo2 +ERROR +NACKED +- +- +duplicate address$/));
    expect(nodeJson(nacking, csds)).toMatchObject({
      envoy: { node_id: 'envoy-b' },
      resources: [{ type: 'LDS', name: 'echo2', config_status: 'ERROR', error: { details: 'duplicate address' } }],
    });
  });

  it('table pads every column but the last', () => {
    expect(
      table([
        ['A', 'BB', 'C'],
        ['xxx', 'y', 'zzzz'],
      ]),
    ).toEqual(['A    BB  C', 'xxx  y   zzzz']);
  });

  it('mutations print what Spillway now publishes', () => {
    expect(renderCordon({ service: 'echo', endpoint: '10.0.0.1:80', health: 'DRAINING', eds_version: '8dbc6da6b3fc0797' })).toEqual([
      'echo 10.0.0.1:80: DRAINING, takes no new requests (EDS version 8dbc6da6)',
    ]);
    const overridden = service({
      source: 'OVERRIDE',
      service_mode: 'MODE_OVERRIDE',
      reason: 'operator override to 30.0% Modal for 15 more min: load test',
      override: { share: 0.3, reason: 'load test', set_at_unix_ms: NOW, expires_at_unix_ms: NOW + 900_000, remaining_ms: 900_000 },
    });
    expect(renderServiceAfter(overridden, NOW)).toEqual([
      'echo: override, Modal 30.0% · in-house 70.0%',
      '  reason: operator override to 30.0% Modal for 15 more min: load test',
      '  override expires in 15m00s',
    ]);
  });
});
