import type { Listener } from '../generated/envoy/config/listener/v3/Listener.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { durationFromMs as duration } from '../core/duration.js';
import { packAny } from '../protos/any.js';
import { statefulSessionFilter } from './sticky-session.js';

/** Route configuration name for a service: RDS resources are named after the service. */
export const routeNameFor = (service: ServiceConfig): string => service.name;

/**
 * An HTTP listener per service: HTTP connection manager with routes over ADS and the router filter.
 * WebSocket upgrades pass through when enabled; sticky sessions pin before the router picks a host.
 */
export function buildListener(service: ServiceConfig, protos: SpillwayProtos): Listener {
  const sticky = statefulSessionFilter(service.route.sticky, protos);
  const hcm = packAny(protos, 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
    stat_prefix: service.name,
    codec_type: 'AUTO',
    rds: { route_config_name: routeNameFor(service), config_source: { ads: {}, resource_api_version: 'V3' } },
    upgrade_configs: service.route.websocket ? [{ upgrade_type: 'websocket' }] : [],
    // Stream idle timeout guards dead streams; the whole-request timeout lives on the route.
    stream_idle_timeout: duration(service.route.idleTimeoutMs),
    http_filters: [
      ...(sticky ? [sticky] : []),
      {
        name: 'envoy.filters.http.router',
        typed_config: packAny(protos, 'envoy.extensions.filters.http.router.v3.Router', {}),
      },
    ],
  });
  return {
    name: service.name,
    address: { socket_address: { address: service.listener.host, port_value: service.listener.port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  };
}
