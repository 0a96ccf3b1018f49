import { describe, expect, it } from 'vitest';
import type { UpstreamEndpointStats__Output } from '../../src/generated/envoy/config/endpoint/v3/UpstreamEndpointStats.js';
import { LoadAggregator } from '../../src/lrs/load-aggregator.js';
import { normalizeClusterStats } from '../../src/lrs/load-report.js';
import { clusterStats } from './report-builders.js';

const endpoint = (address: string, port: number, issued: number, success: number, errors = 0): UpstreamEndpointStats__Output => ({
  address: {
    socket_address: {
      address,
      port_value: port,
      protocol: 'TCP',
      resolver_name: '',
      ipv4_compat: false,
      named_port: '',
      network_namespace_filepath: '',
      port_specifier: 'port_value',
    },
  } as never,
  total_issued_requests: String(issued),
  total_successful_requests: String(success),
  total_error_requests: String(errors),
  total_requests_in_progress: '0',
  load_metric_stats: [],
  metadata: null,
});

describe('LRS per-endpoint stats (report_endpoint_granularity)', () => {
  it('reads per-endpoint counts of the in-house locality, IPv6 in brackets, summed over priorities', () => {
    const stats = clusterStats({ cluster: 'echo', windowMs: 1000, inHouse: { issued: 30, success: 30 } });
    stats.upstream_locality_stats[0]!.upstream_endpoint_stats = [endpoint('10.0.0.1', 80, 20, 20), endpoint('2001:db8::1', 80, 10, 7, 3)];
    const { services } = normalizeClusterStats([stats], () => true);
    expect(services[0]!.inHouseIssued).toBe(30);
    expect(Object.fromEntries(services[0]!.inHouseEndpoints!)).toEqual({
      '10.0.0.1:80': { issued: 20, success: 20, error: 0 },
      '[2001:db8::1]:80': { issued: 10, success: 7, error: 3 },
    });
  });

  it('a busy locality without endpoint stats means the Envoy does not report them: nothing to judge', () => {
    const { services } = normalizeClusterStats(
      [clusterStats({ cluster: 'echo', windowMs: 1000, inHouse: { issued: 30, success: 30 } })],
      () => true,
    );
    expect(services[0]!.inHouseEndpoints).toBeUndefined();
    const idle = normalizeClusterStats([clusterStats({ cluster: 'echo', windowMs: 1000 })], () => true);
    expect(idle.services[0]!.inHouseEndpoints).toEqual(new Map());
  });

  it('the aggregator hands out each live Envoy latest endpoint report, leaving out Envoys without granularity', () => {
    const agg = new LoadAggregator({ expireAfterMs: 3000, disconnectGraceMs: 1000 });
    agg.setKnownServices(['echo']);
    agg.streamOpened('e1', 1);
    agg.streamOpened('e2', 2);
    const withEndpoints = clusterStats({ cluster: 'echo', windowMs: 1000, inHouse: { issued: 12, success: 12 } });
    withEndpoints.upstream_locality_stats[0]!.upstream_endpoint_stats = [endpoint('10.0.0.1', 80, 12, 12)];
    agg.ingest('e1', 1, [withEndpoints], 1000);
    agg.ingest('e2', 2, [clusterStats({ cluster: 'echo', windowMs: 1000, inHouse: { issued: 5, success: 5 } })], 1000);
    const reports = agg.endpointReports('echo', 1500);
    expect(reports.map((r) => [r.nodeId, r.localityIssued, [...r.endpoints.keys()]])).toEqual([['e1', 12, ['10.0.0.1:80']]]);
    expect(agg.endpointReports('echo', 5000)).toEqual([]);
  });
});
