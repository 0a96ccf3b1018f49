// Builders for the ClusterStats Envoy sends, in the decoded shape protobuf-loader hands the server.
import type { ClusterStats__Output } from '../../src/generated/envoy/config/endpoint/v3/ClusterStats.js';
import type { UpstreamLocalityStats__Output } from '../../src/generated/envoy/config/endpoint/v3/UpstreamLocalityStats.js';
import { localityOf } from '../../src/model/localities.js';
import type { LocalityKind } from '../../src/model/inputs.js';

export interface LocalityCounts {
  inProgress?: number;
  issued?: number;
  success?: number;
  errors?: number;
  priority?: number;
  /** Overrides the locality (for unknown-locality cases). */
  zone?: string;
}

export function localityStats(kind: LocalityKind, c: LocalityCounts): UpstreamLocalityStats__Output {
  const locality = { ...localityOf(kind), sub_zone: '' };
  if (c.zone !== undefined) locality.zone = c.zone as never;
  return {
    locality,
    total_successful_requests: String(c.success ?? 0),
    total_requests_in_progress: String(c.inProgress ?? 0),
    total_error_requests: String(c.errors ?? 0),
    total_issued_requests: String(c.issued ?? 0),
    load_metric_stats: [],
    priority: c.priority ?? 0,
    upstream_endpoint_stats: [],
    total_active_connections: '0',
    total_new_connections: '0',
    total_fail_connections: '0',
    cpu_utilization: null,
    mem_utilization: null,
    application_utilization: null,
  };
}

export function clusterStats(opts: {
  cluster: string;
  windowMs: number | null;
  inHouse?: LocalityCounts;
  modal?: LocalityCounts;
  extraLocalities?: UpstreamLocalityStats__Output[];
  totalDropped?: number | string;
  dropped?: Record<string, number | string>;
  seconds?: string;
  serviceName?: string;
}): ClusterStats__Output {
  const localities: UpstreamLocalityStats__Output[] = [];
  if (opts.inHouse) localities.push(localityStats('in-house', opts.inHouse));
  if (opts.modal) localities.push(localityStats('modal', opts.modal));
  localities.push(...(opts.extraLocalities ?? []));
  return {
    cluster_name: opts.cluster,
    cluster_service_name: opts.serviceName ?? '',
    upstream_locality_stats: localities,
    total_dropped_requests: String(opts.totalDropped ?? 0),
    dropped_requests: Object.entries(opts.dropped ?? {}).map(([category, n]) => ({ category, dropped_count: String(n) })),
    load_report_interval:
      opts.windowMs === null
        ? null
        : {
            seconds: opts.seconds ?? String(Math.floor(opts.windowMs / 1000)),
            nanos: Math.round((opts.windowMs % 1000) * 1e6),
          },
  };
}
