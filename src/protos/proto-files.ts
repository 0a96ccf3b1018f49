// The single list of .proto files Spillway loads; shared by type generation (scripts/gen-types.ts)
// and run-time loading (load-protos.ts) so the two can never disagree.

/** Envoy's protos, relative to the envoy-api tree bundled in @grpc/grpc-js-xds. */
export const ENVOY_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/load_stats/v3/lrs.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/filters/http/stateful_session/v3/stateful_session.proto',
  'envoy/extensions/http/stateful_session/header/v3/header.proto',
  'envoy/extensions/http/stateful_session/cookie/v3/cookie.proto',
  'envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto',
  'envoy/extensions/filters/http/upstream_codec/v3/upstream_codec.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
];

/** The project's own protos, relative to proto/. */
export const OWN_PROTO_FILES: readonly string[] = [];

/**
 * The slice of Modal's API the fake Modal serves, relative to proto/. Kept out of OWN_PROTO_FILES so the
 * control plane's package definition never carries Modal's service; types are still generated for it.
 */
export const MODAL_PROTO_FILES: readonly string[] = ['modal/client/v1/modal_api.proto'];

/**
 * The admin API, relative to proto/. Loaded into its own package definition (src/admin/admin-protos.ts)
 * with gRPC's health.proto, so reflection on the admin port describes exactly what that port serves.
 */
export const ADMIN_PROTO_FILES: readonly string[] = ['spillway/admin/v1/admin.proto'];

/** gRPC's health service, relative to healthProtoDir() (the copy grpc-health-check ships). */
export const HEALTH_PROTO_FILES: readonly string[] = ['health/v1/health.proto'];
