import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { durationFromMs as duration } from '../core/duration.js';
import { inHouseHealth } from './in-house-health.js';
import { modalTransport } from './modal-tls.js';

/** Generous limits: Envoy's defaults (1024 requests) would shed silently; Spillway sheds deliberately. */
const CIRCUIT_LIMIT = 1_000_000;

/**
 * One EDS-over-ADS cluster per service. Locality-weighted LB makes the published locality weights
 * the split; panic mode is off so an unhealthy fleet never spills to a Modal locality that is absent.
 */
export function buildCluster(service: ServiceConfig, protos: SpillwayProtos): Cluster {
  const cluster: Cluster = {
    name: service.name,
    type: 'EDS',
    eds_cluster_config: {
      service_name: service.name,
      eds_config: { ads: {}, resource_api_version: 'V3' },
    },
    connect_timeout: duration(5000),
    lb_policy: 'ROUND_ROBIN',
    common_lb_config: {
      healthy_panic_threshold: { value: 0 },
      locality_weighted_lb_config: {},
    },
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: { value: CIRCUIT_LIMIT },
          max_pending_requests: { value: CIRCUIT_LIMIT },
          max_requests: { value: CIRCUIT_LIMIT },
          max_retries: { value: 1000 },
        },
      ],
    },
  };
  // Modal over TLS (HTTP/2 by ALPN), in-house plaintext; health checks, ejection and ramp-up for in-house.
  if (service.modal) Object.assign(cluster, modalTransport(service.modal, protos));
  Object.assign(cluster, inHouseHealth(service.inHouseHealth));
  return cluster;
}
