import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { durationFromMs as duration } from '../core/duration.js';
import { packAny } from '../protos/any.js';
import { MODAL_TLS_MATCH } from './modal-tls.js';
import { attemptMarkerProtocolOptions } from './modal-retry.js';
import { STICKY_HOST_STATUSES } from './sticky-session.js';

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
  const protocolOptions = attemptMarkerProtocolOptions(service, protos);
  if (protocolOptions) cluster.typed_extension_protocol_options = protocolOptions;
  if (service.modal) {
    const m = service.modal;
    // Only endpoints tagged {tls: modal} match; in-house endpoints fall through to plaintext.
    cluster.transport_socket_matches = [
      {
        name: 'modal-tls',
        match: MODAL_TLS_MATCH,
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: packAny(protos, 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
            sni: m.hostname,
            common_tls_context: {
              alpn_protocols: ['http/1.1'],
              validation_context: {
                trusted_ca: { filename: m.caBundle },
                match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: m.hostname } }],
              },
            },
          }),
        },
      },
    ];
  }
  return cluster;
}
