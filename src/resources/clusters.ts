import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { durationFromMs as duration } from '../core/duration.js';
import { inHouseHealth } from './in-house-health.js';
import { modalTransport } from './modal-tls.js';
import { STICKY_HOST_STATUSES } from './sticky-session.js';
import { upstreamHttpOptions } from './upstream-http.js';

/**
 * Generous limits: Envoy's defaults (1024 requests) would shed silently; Spillway sheds deliberately.
 * An Envoy can therefore never have more than this many requests in flight to one cluster, which
 * is what LRS reports are checked against.
 */
export const CLUSTER_MAX_REQUESTS = 1_000_000;
const CIRCUIT_LIMIT = CLUSTER_MAX_REQUESTS;

/**
 * One EDS-over-ADS cluster per service. Locality-weighted LB makes the published locality weights
 * the split; panic mode is off so an unhealthy fleet never spills to a Modal locality that is absent.
 */
export function buildCluster(service: ServiceConfig, protos: SpillwayProtos): Cluster {
  return clusterOf(service, service.name, service.modal, protos);
}

/**
 * The service's clusters: its own, and with HTTP/2 to Modal an HTTP/1.1-only twin for upgrades.
 * Modal takes WebSockets only over HTTP/1.1 (no RFC 8441 extended CONNECT), and Envoy cannot carry an
 * upgrade on a connection ALPN made HTTP/2. The twin reads the same ClusterLoadAssignment, so upgrades
 * follow the same weights, drops and sticky hosts.
 */
export function buildClusters(service: ServiceConfig, protos: SpillwayProtos): Cluster[] {
  const main = buildCluster(service, protos);
  if (!service.modal?.http2) return [main];
  return [main, clusterOf(service, upgradeClusterName(service), { ...service.modal, http2: false }, protos)];
}

/** Names cannot collide with a service's: service names have no ':'. */
export const upgradeClusterName = (service: ServiceConfig): string => `${service.name}:upgrade`;

function clusterOf(service: ServiceConfig, name: string, modal: ServiceConfig['modal'], protos: SpillwayProtos): Cluster {
  const svc = { ...service, ...(modal ? { modal } : {}) };
  const cluster: Cluster = {
    name,
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
      ...(service.route.sticky.mode !== 'off' ? { override_host_status: { statuses: STICKY_HOST_STATUSES } } : {}),
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
  if (svc.modal) Object.assign(cluster, modalTransport(svc.modal, protos));
  const protocolOptions = upstreamHttpOptions(svc, protos);
  if (protocolOptions) cluster.typed_extension_protocol_options = protocolOptions;
  Object.assign(cluster, inHouseHealth(service.inHouseHealth));
  return cluster;
}
